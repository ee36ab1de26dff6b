import { SEED_CUSTOM_OBJECT } from '../../emulator/seed.js';
import { MappingConfig } from '../../src/mapping/mapping-config.js';

/**
 * The mapping entity that loads the emulator's seeded custom object (`purchase_c`, linked to leads)
 * into `custom:purchase`, whose table the custom objects phase provisions. Shared by the marketing
 * tests and the reliability harness, which both load the seeded purchases.
 */
export function purchaseMappingEntity(): MappingConfig['entities'][number] {
  return MappingConfig.shape.entities.element.parse({
    marketo: `customObject:${SEED_CUSTOM_OBJECT}`,
    crm: 'custom:purchase',
    fields: [
      { marketo: 'purchaseId', crm: 'purchase_id', direction: 'toCrm' },
      { marketo: 'leadId', crm: 'marketo_lead_id', direction: 'toCrm' },
      { marketo: 'product', crm: 'product', direction: 'toCrm' },
      { marketo: 'amount', crm: 'amount', direction: 'toCrm' },
      { marketo: 'purchaseDate', crm: 'purchase_date', direction: 'toCrm' },
    ],
  });
}
