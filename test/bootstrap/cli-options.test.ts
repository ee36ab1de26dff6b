import { entitySettings, optionsSchema } from '../../client/commands/bootstrap.js';
import { BOOTSTRAP_ENTITIES } from '../../workflows/bootstrap-types.js';

// `marketo-sync bootstrap` options → the workflow's entity settings: every entity named, on or
// off, with its own low watermark; bad input is refused naming the option.
const parse = (raw: Record<string, unknown>) => optionsSchema.safeParse({ worker: false, ...raw });

test('by default every entity but activities is on, from the common low watermark', () => {
  const parsed = parse({ since: '2022-01-01' });
  expect(parsed.success).toBe(true);
  const settings = entitySettings(parsed.data!);
  expect(Object.keys(settings)).toEqual([...BOOTSTRAP_ENTITIES]);
  expect(Object.entries(settings).filter(([, s]) => s.enabled).map(([e]) => e)).toEqual(BOOTSTRAP_ENTITIES.filter((e) => e !== 'activities'));
  expect(parsed.data!.since).toBe('2022-01-01T00:00:00Z');
});

test('--entities, --entity-since, --activity-types and --custom-objects reach the settings', () => {
  const parsed = parse({ entities: 'leads, companies,activities', entitySince: 'companies=2024-02-01,activities=2025-01-01T00:00:00Z', activityTypes: '1,12', customObjects: 'car_c' });
  expect(parsed.error).toBeUndefined();
  const settings = entitySettings(parsed.data!);
  expect(settings.leads).toEqual({ enabled: true });
  expect(settings.companies).toEqual({ enabled: true, since: '2024-02-01T00:00:00Z' });
  expect(settings.activities).toEqual({ enabled: true, since: '2025-01-01T00:00:00Z', activityTypeIds: [1, 12] });
  expect(settings.customObjects).toEqual({ enabled: false, apiNames: ['car_c'] });
  expect(settings.opportunities).toEqual({ enabled: false });
});

test.each([
  [{ entities: 'leads,accounts' }, 'entities'],
  [{ entities: 'opportunityRoles' }, 'entities'],
  [{ entities: 'activities' }, 'activityTypes'],
  [{ activityTypes: '1,x' }, 'activityTypes'],
  [{ entitySince: 'companies:2024-01-01' }, 'entitySince'],
  [{ entitySince: 'companies=yesterday' }, 'entitySince'],
])('%j is refused naming %s', (raw, field) => {
  const parsed = parse(raw);
  expect(parsed.success).toBe(false);
  expect(parsed.error!.issues.map((i) => i.path[0])).toContain(field);
});
