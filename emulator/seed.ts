import { z } from 'zod';
import { prng } from './faults.js';
import type { ActivityInput } from './model/activity-log.js';
import { ACTIVITY } from './model/activity-types.js';
import type { LeadValue } from './model/lead-store.js';
import type { Subscription } from './subscription.js';

/**
 * Deterministic seed data: the same options give the same subscription (ids, values, GUIDs,
 * activity order). Leads are created in ascending createdAt order with New Lead activities;
 * everything else (changes, list adds, program statuses, opportunity roles, custom object
 * records) happens after the lead exists, and all activities are appended in date order so
 * activity ids ascend with activityDate.
 */
export const SeedOptions = z.object({
  seed: z.number().int().default(42),
  leads: z.number().int().min(0).default(1000),
  /** Defaults: leads/50 companies, leads/200 salespersons (at least 1 each when leads > 0). */
  companies: z.number().int().min(0).optional(),
  salespersons: z.number().int().min(0).optional(),
  opportunities: z.number().int().min(0).optional(),
  /** Opportunity roles per opportunity (each links a lead; logs Add to Opportunity). */
  rolesPerOpportunity: z.number().int().min(0).default(2),
  /** Records of the seeded custom object type `purchase_c` (linked to leads by leadId); default leads/50. */
  customObjects: z.number().int().min(0).optional(),
  programs: z.number().int().min(0).default(5),
  lists: z.number().int().min(0).default(5),
  /** Fraction of leads that are members of each program / list ... */
  membershipRate: z.number().min(0).max(1).default(0.05),
  /** ... capped at this many members per program / list. */
  maxMembers: z.number().int().min(0).default(10_000),
  /** Fraction of leads with a later Change Data Value. */
  changeRate: z.number().min(0).max(1).default(0.1),
  /** Date range for createdAt / activityDate (ISO); default the 365 days before now. */
  from: z.string().datetime({ offset: true }).optional(),
  to: z.string().datetime({ offset: true }).optional(),
});
export type SeedOptions = z.input<typeof SeedOptions>;

export interface SeedSummary {
  leads: number;
  companies: number;
  salespersons: number;
  opportunities: number;
  roles: number;
  customObjects: number;
  programs: number;
  lists: number;
  activities: number;
  ms: number;
}

const FIRST = ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth', 'David', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Ana', 'Wei', 'Yuki', 'Olga', 'Ahmed', 'Priya', 'Lucas', 'Chloé', 'Mateo', 'Zoë'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Chen', 'Kowalski', 'Müller', "O'Brien", 'Nguyen', 'Silva', 'Ivanova', 'Tanaka', 'Okafor'];
const TITLES = ['CEO', 'CTO', 'VP Marketing', 'Marketing Manager', 'Engineer', 'Sales Director', 'Analyst', 'Product Manager', 'Consultant', 'Office Manager'];
const CITIES = ['Chicago', 'New York', 'San Francisco', 'Austin', 'London', 'Paris', 'Berlin', 'Tokyo', 'Toronto', 'Sydney'];
const COUNTRIES = ['USA', 'USA', 'USA', 'USA', 'United Kingdom', 'France', 'Germany', 'Japan', 'Canada', 'Australia'];
const SOURCES = ['Website', 'Trade Show', 'Webinar', 'Paid Search', 'Referral', 'List Import'];
const INDUSTRIES = ['Software', 'Manufacturing', 'Healthcare', 'Finance', 'Retail', 'Education', 'Energy'];
const WORDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Tyrell', 'Cyberdyne', 'Soylent', 'Wonka'];
const SUFFIXES = ['Inc', 'LLC', 'Corp', 'GmbH', 'Ltd', 'SA'];
const STAGES = ['Prospecting', 'Qualification', 'Proposal', 'Negotiation', 'Closed Won', 'Closed Lost'];
const ROLES = ['Decision Maker', 'Economic Buyer', 'Influencer', 'Technical Buyer', 'User'];
const PRODUCTS = ['Starter', 'Pro', 'Enterprise', 'Add-on', 'Support'];

export const SEED_CUSTOM_OBJECT = 'purchase_c';

/** Fills `sub` with seed data. Safe on an empty subscription; appends to a populated one. */
export function seedSubscription(sub: Subscription, input: SeedOptions = {}): SeedSummary {
  const started = Date.now();
  const o = SeedOptions.parse(input);
  const rnd = prng(o.seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const hex8 = (): string => Math.floor(rnd() * 0x100000000).toString(16).padStart(8, '0');
  const guid = (): string => {
    const a = hex8();
    const b = hex8();
    const c = hex8();
    const d = hex8();
    const variant = ((parseInt(c.charAt(0), 16) & 3) | 8).toString(16);
    return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
  };
  const nowSec = sub.clock.nowSeconds();
  const toSec = o.to ? Math.floor(Date.parse(o.to) / 1000) : nowSec - 3600;
  const fromSec = o.from ? Math.floor(Date.parse(o.from) / 1000) : toSec - 365 * 86400;
  if (!(fromSec < toSec)) throw new Error('seed: from must be before to');
  const span = toSec - fromSec;
  const between = (lo: number): number => lo + Math.floor(rnd() * Math.max(1, toSec - lo));

  const nCompanies = o.companies ?? (o.leads > 0 ? Math.max(1, Math.floor(o.leads / 50)) : 0);
  const nSales = o.salespersons ?? (o.leads > 0 ? Math.max(1, Math.floor(o.leads / 200)) : 0);
  const nOpps = o.opportunities ?? Math.floor(nCompanies / 2);
  const nCustom = o.customObjects ?? Math.floor(o.leads / 50);
  const events: ActivityInput[] = [];

  // Companies and salespersons exist from the start of the range (no activities).
  const companyType = sub.objectType('Company');
  const salesType = sub.objectType('SalesPerson');
  const oppType = sub.objectType('opportunity');
  const roleType = sub.objectType('opportunityRole');
  if (!companyType || !salesType || !oppType || !roleType) throw new Error('seed: built-in object types missing');
  const companyNames: string[] = [];
  for (let i = 1; i <= nCompanies; i++) {
    const name = `${pick(WORDS)} ${pick(WORDS)} ${pick(SUFFIXES)} ${i}`;
    companyNames.push(name);
    sub.createObject(companyType, {
      externalCompanyId: `EXT-C-${i}`, company: name, industry: pick(INDUSTRIES), annualRevenue: int(1, 500) * 100000,
      numberOfEmployees: int(5, 20000), website: `https://company${i}.example.com`,
    }, fromSec + int(0, Math.floor(span / 10)), guid(), false);
  }
  for (let i = 1; i <= nSales; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    sub.createObject(salesType, {
      externalSalesPersonId: `EXT-SP-${i}`, email: `sales${i}@seller.example.com`, firstName: first, lastName: last, title: 'Account Executive',
    }, fromSec, guid(), false);
  }

  // Leads: ascending createdAt, so New Lead activities come out in date order.
  const created = new Uint32Array(o.leads);
  for (let i = 0; i < o.leads; i++) created[i] = fromSec + Math.floor(rnd() * span);
  created.sort();
  const firstLeadId = sub.leads.maxId + 1;
  const newLeadAttrs = [{ name: 'Source Type', value: 'New lead' }];
  const ascii = (x: string): string => x.toLowerCase().normalize('NFD').replace(/[^a-z0-9]/g, '');
  const firstAscii = FIRST.map(ascii);
  const lastAscii = LAST.map(ascii);
  const cols = ['firstName', 'lastName', 'email', 'title', 'city', 'country', 'leadSource', 'leadScore', 'externalCompanyId', 'company', 'externalSalesPersonId'];
  const row: LeadValue[] = new Array<LeadValue>(cols.length).fill(null);
  const writeLead = sub.leads.rowWriter(cols);
  const companyIds = Array.from({ length: nCompanies }, (_, c) => `EXT-C-${c + 1}`);
  const salesIds = Array.from({ length: nSales }, (_, c) => `EXT-SP-${c + 1}`);
  for (let i = 0; i < o.leads; i++) {
    const fi = Math.floor(rnd() * FIRST.length);
    const la = Math.floor(rnd() * LAST.length);
    row[0] = FIRST[fi] as string;
    row[1] = LAST[la] as string;
    row[2] = `${firstAscii[fi] as string}.${lastAscii[la] as string}.${firstLeadId + i}@example.com`;
    row[3] = pick(TITLES);
    row[4] = pick(CITIES);
    row[5] = pick(COUNTRIES);
    row[6] = pick(SOURCES);
    row[7] = int(0, 100);
    if (nCompanies) {
      const c = int(0, nCompanies - 1);
      row[8] = companyIds[c] as string;
      row[9] = companyNames[c] as string;
    }
    if (nSales) row[10] = salesIds[int(0, nSales - 1)] as string;
    writeLead(row, created[i] as number);
  }
  const leadIdAt = (i: number): number => firstLeadId + i;
  const randomLead = (): number => int(0, o.leads - 1);

  // Later changes to some leads.
  const scoreField = sub.leadField('leadScore');
  const titleField = sub.leadField('title');
  if (o.leads && scoreField && titleField) {
    const nChanges = Math.floor(o.leads * o.changeRate);
    for (let k = 0; k < nChanges; k++) {
      const i = randomLead();
      const id = leadIdAt(i);
      const at = between(created[i] as number);
      const useScore = rnd() < 0.5;
      const field = useScore ? scoreField : titleField;
      const old = sub.leads.value(id, field.name);
      const next: LeadValue = useScore ? int(0, 100) : pick(TITLES);
      sub.leads.setValue(id, field.name, next);
      if (at > sub.leads.updatedAt(id)) sub.leads.touch(id, at);
      events.push({
        leadId: id, date: at, typeId: ACTIVITY.changeDataValue, primaryAttributeValueId: field.id, primaryAttributeValue: field.displayName,
        attributes: [{ name: 'New Value', value: next }, { name: 'Old Value', value: old }, { name: 'Reason', value: 'Changed by user' }, { name: 'Source', value: 'Web client' }],
      });
    }
  }

  // Opportunities with roles (Add to Opportunity on each role's lead).
  let roles = 0;
  for (let i = 1; i <= nOpps && o.leads > 0; i++) {
    const at = fromSec + int(0, span - 1);
    const opp = sub.createObject(oppType, {
      externalOpportunityId: `EXT-O-${i}`, name: `Opportunity ${i}`, amount: int(1, 200) * 1000, stage: pick(STAGES),
      externalCompanyId: nCompanies ? `EXT-C-${int(1, nCompanies)}` : null, externalSalesPersonId: nSales ? `EXT-SP-${int(1, nSales)}` : null,
    }, at, guid(), false);
    const used = new Set<string>();
    for (let r = 0; r < o.rolesPerOpportunity; r++) {
      const li = randomLead();
      const role = pick(ROLES);
      if (used.has(`${li}|${role}`)) continue;
      used.add(`${li}|${role}`);
      const when = Math.max(opp.createdAt, created[li] as number) + int(0, 3600);
      const rec = sub.createObject(roleType, { externalOpportunityId: `EXT-O-${i}`, leadId: leadIdAt(li), role, isPrimary: r === 0 }, when, guid(), false);
      events.push(...sub.objectCreatedActivities(roleType, rec));
      roles++;
    }
  }

  // A custom object type linked to leads, with records.
  if (nCustom > 0 && o.leads > 0) {
    const coType = sub.objectType(SEED_CUSTOM_OBJECT) ?? sub.addCustomObjectType({
      name: SEED_CUSTOM_OBJECT, displayName: 'Purchase', description: 'Seeded purchases', dedupeFields: ['purchaseId'],
      fields: [
        { name: 'purchaseId', displayName: 'Purchase Id', dataType: 'string', length: 50 },
        { name: 'leadId', displayName: 'Lead Id', dataType: 'integer' },
        { name: 'product', displayName: 'Product', dataType: 'string', length: 255 },
        { name: 'amount', displayName: 'Amount', dataType: 'currency' },
        { name: 'purchaseDate', displayName: 'Purchase Date', dataType: 'datetime' },
      ],
      leadLink: { field: 'leadId', leadField: 'id' },
    });
    const base = sub.objects.get(SEED_CUSTOM_OBJECT)?.size ?? 0;
    for (let k = 1; k <= nCustom; k++) {
      const li = randomLead();
      const at = between(created[li] as number);
      const rec = sub.createObject(coType, {
        purchaseId: `PUR-${base + k}`, leadId: leadIdAt(li), product: pick(PRODUCTS), amount: int(10, 5000), purchaseDate: new Date(at * 1000).toISOString().slice(0, 19) + 'Z',
      }, at, guid(), false);
      events.push(...sub.objectCreatedActivities(coType, rec));
    }
  }

  // Programs and static lists with members.
  const perGroup = Math.min(o.maxMembers, Math.floor(o.leads * o.membershipRate));
  for (let p = 0; p < o.programs; p++) {
    const program = sub.createProgram({ name: `Seed Program ${p + 1}`, type: p % 3 === 2 ? 'Engagement' : 'Event', createdAt: fromSec + int(0, Math.floor(span / 2)) });
    const members = new Set<number>();
    for (let k = 0; k < perGroup; k++) members.add(randomLead());
    let memberId = 0;
    for (const li of members) {
      const id = leadIdAt(li);
      const at = between(Math.max(created[li] as number, program.createdAt));
      const status = program.statuses[int(1, program.statuses.length - 1)] as string;
      memberId += 1;
      program.members.set(id, {
        id: program.id * 1_000_000 + memberId, progressionStatus: status, progressionStatusType: status, acquiredBy: false,
        reachedSuccess: status === 'Attended', isExhausted: false, membershipDate: at, updatedAt: at,
      });
      events.push({
        leadId: id, date: at, typeId: ACTIVITY.changeStatusInProgression, primaryAttributeValueId: program.id, primaryAttributeValue: program.name,
        attributes: [{ name: 'New Status', value: status }, { name: 'Old Status', value: 'Not in Program' }, { name: 'Success', value: status === 'Attended' }],
      });
    }
  }
  for (let l = 0; l < o.lists; l++) {
    const list = sub.createList({ name: `Seed List ${sub.lists.size + 1}`, programName: undefined, createdAt: fromSec + int(0, Math.floor(span / 2)) });
    const members = new Set<number>();
    for (let k = 0; k < perGroup; k++) members.add(randomLead());
    const sorted = [...members].sort((a, b) => a - b);
    const attrs = [{ name: 'Source', value: 'List import' }];
    for (const li of sorted) {
      const id = leadIdAt(li);
      const at = between(Math.max(created[li] as number, list.createdAt));
      list.members.add(id);
      list.memberSince.set(id, at);
      events.push({ leadId: id, date: at, typeId: ACTIVITY.addToList, primaryAttributeValueId: list.id, primaryAttributeValue: list.name, attributes: attrs });
    }
  }

  // Merge New Lead (already in date order) with the other events sorted by date.
  events.sort((a, b) => a.date - b.date);
  const before = sub.activities.count;
  let e = 0;
  for (let i = 0; i < o.leads; i++) {
    const at = created[i] as number;
    while (e < events.length && (events[e] as ActivityInput).date < at) sub.addActivity(events[e++] as ActivityInput);
    sub.activities.appendFields(leadIdAt(i), at, ACTIVITY.newLead, undefined, undefined, undefined, newLeadAttrs);
  }
  while (e < events.length) sub.addActivity(events[e++] as ActivityInput);
  sub.leads.compact();

  return {
    leads: o.leads, companies: nCompanies, salespersons: nSales, opportunities: o.leads > 0 ? nOpps : 0, roles,
    customObjects: o.leads > 0 ? nCustom : 0, programs: o.programs, lists: o.lists, activities: sub.activities.count - before, ms: Date.now() - started,
  };
}
