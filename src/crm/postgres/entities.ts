import type { CrmEntityName, StandardEntity } from '../connector.js';
import { assertIdentifier } from '../identifiers.js';

export interface EntityTable {
  entity: CrmEntityName;
  table: string;
  label: string;
  idPrefix: string;
}

export const STANDARD_TABLES: Record<StandardEntity, EntityTable> = {
  lead: { entity: 'lead', table: 'leads', label: 'Lead', idPrefix: 'L' },
  contact: { entity: 'contact', table: 'contacts', label: 'Contact', idPrefix: 'C' },
  account: { entity: 'account', table: 'accounts', label: 'Account', idPrefix: 'A' },
  opportunity: { entity: 'opportunity', table: 'opportunities', label: 'Opportunity', idPrefix: 'O' },
  opportunityRole: { entity: 'opportunityRole', table: 'opportunity_contact_roles', label: 'Opportunity Contact Role', idPrefix: 'R' },
  user: { entity: 'user', table: 'users', label: 'User', idPrefix: 'U' },
  campaign: { entity: 'campaign', table: 'campaigns', label: 'Campaign (Marketo program)', idPrefix: 'P' },
  campaignMember: { entity: 'campaignMember', table: 'campaign_members', label: 'Campaign Member (program membership)', idPrefix: 'M' },
  staticList: { entity: 'staticList', table: 'static_lists', label: 'Static List', idPrefix: 'S' },
  listMember: { entity: 'listMember', table: 'list_members', label: 'Static List Member', idPrefix: 'T' },
  activity: { entity: 'activity', table: 'marketing_activities', label: 'Marketing Activity', idPrefix: 'V' },
};

/** Columns the database maintains: readable, never written by a connector client. */
export const SYSTEM_COLUMNS = new Set(['id', 'created_at', 'updated_at', 'origin']);

/** Columns of the shipped tables (anything else on them is a custom field). */
export const BUILTIN_COLUMNS: Record<StandardEntity, ReadonlySet<string>> = {
  user: new Set(['email', 'first_name', 'last_name', 'title', 'phone', 'is_active', 'external_sales_person_id']),
  account: new Set(['name', 'website', 'industry', 'annual_revenue', 'number_of_employees', 'phone', 'billing_street', 'billing_city',
    'billing_state', 'billing_postal_code', 'billing_country', 'sic_code', 'owner_id', 'external_company_id']),
  lead: new Set(['marketo_lead_id', 'first_name', 'last_name', 'email', 'phone', 'mobile_phone', 'title', 'company', 'industry', 'website',
    'annual_revenue', 'number_of_employees', 'lead_source', 'lead_status', 'rating', 'street', 'city', 'state', 'postal_code', 'country',
    'do_not_call', 'unsubscribed', 'lead_score', 'acquisition_program_id', 'acquisition_date', 'owner_id', 'is_converted', 'converted_at',
    'converted_contact_id', 'converted_account_id']),
  contact: new Set(['marketo_lead_id', 'account_id', 'first_name', 'last_name', 'email', 'phone', 'mobile_phone', 'title', 'department',
    'lead_source', 'mailing_street', 'mailing_city', 'mailing_state', 'mailing_postal_code', 'mailing_country', 'birthdate', 'do_not_call',
    'unsubscribed', 'lead_score', 'acquisition_program_id', 'acquisition_date', 'owner_id']),
  opportunity: new Set(['account_id', 'name', 'description', 'amount', 'probability', 'is_closed', 'is_won', 'stage', 'type', 'lead_source',
    'next_step', 'created_date', 'close_date', 'owner_id', 'external_opportunity_id']),
  opportunityRole: new Set(['opportunity_id', 'contact_id', 'role', 'is_primary', 'marketo_guid']),
  campaign: new Set(['marketo_program_id', 'name', 'description', 'program_type', 'channel', 'status', 'workspace', 'url', 'marketo_created_at',
    'marketo_updated_at']),
  campaignMember: new Set(['marketo_key', 'campaign_id', 'marketo_program_id', 'marketo_lead_id', 'lead_id', 'contact_id', 'status', 'is_success',
    'success_date', 'membership_date', 'acquired_by']),
  staticList: new Set(['marketo_list_id', 'name', 'description', 'program_name', 'workspace', 'marketo_created_at', 'marketo_updated_at']),
  listMember: new Set(['marketo_key', 'static_list_id', 'marketo_list_id', 'marketo_lead_id', 'lead_id', 'contact_id']),
  activity: new Set(['marketo_guid', 'activity_type_id', 'activity_type', 'activity_date', 'marketo_lead_id', 'lead_id', 'contact_id',
    'marketo_campaign_id', 'primary_attribute_value_id', 'primary_attribute_value', 'attributes']),
};

/** Conversion bookkeeping: written by convertLead only. */
export const READ_ONLY_COLUMNS: Partial<Record<StandardEntity, ReadonlySet<string>>> = {
  lead: new Set(['is_converted', 'converted_at', 'converted_contact_id', 'converted_account_id']),
};

export function customObjectTable(name: string): string {
  return `co_${assertIdentifier(name, 'custom object name').toLowerCase()}`;
}

export function isStandardEntity(entity: string): entity is StandardEntity {
  return Object.hasOwn(STANDARD_TABLES, entity);
}
