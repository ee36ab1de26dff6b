import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Clock } from './clock.js';
import { MarketoError, reason, type ErrorItem } from './http/envelope.js';
import { ActivityLog, type ActivityLogState, type ActivityAttribute, type ActivityFilter, type ActivityInput, type ActivityRecord } from './model/activity-log.js';
import { ACTIVITY, STANDARD_ACTIVITY_TYPES, type ActivityType } from './model/activity-types.js';
import { FieldDef, isSearchableType, normalizeValue, standardLeadFields, type FieldInput } from './model/fields.js';
import { LeadStore, type LeadRecord, type LeadStoreState, type LeadValue } from './model/lead-store.js';
import { builtInObjectTypes, customObjectType, CustomObjectTypeInput, type ObjectType } from './model/object-types.js';

/**
 * The in-memory Marketo subscription: schema and data. Every write the REST routes, the bulk
 * import and the admin ("act as a Marketo user") endpoints make goes through the methods here,
 * so validation and activity side effects are the same whichever door a change comes in by.
 * Times are epoch seconds unless a name says otherwise.
 */

export type SyncAction = 'createOnly' | 'updateOnly' | 'createOrUpdate' | 'createDuplicate';

export interface LeadSyncOptions {
  action?: SyncAction;
  lookupField?: string;
  partitionName?: string;
  /** Reason/Source written on generated activities, e.g. 'Web service API'. */
  source?: string;
}

export type RecordResult =
  | { id: number; status: 'created' | 'updated' | 'deleted' | 'added' | 'removed' | 'memberof' | 'notmemberof' }
  | { id?: number; status: 'skipped'; reasons: ErrorItem[] };

export interface ObjectResult {
  seq: number;
  status: 'created' | 'updated' | 'deleted' | 'skipped';
  id?: number;
  marketoGUID?: string;
  reasons?: ErrorItem[];
}

export interface ObjectRecord {
  /** Numeric key (companies, salespersons) or internal sequence number (GUID objects). */
  num: number;
  marketoGUID?: string;
  createdAt: number;
  updatedAt: number;
  values: Record<string, LeadValue>;
}

export interface StaticList {
  id: number;
  name: string;
  description: string;
  programName?: string;
  workspaceName: string;
  folderId: number;
  createdAt: number;
  updatedAt: number;
  /** Lead ids in insertion order. */
  members: Set<number>;
  /** When each member was added (epoch seconds), for listMembership.json. */
  memberSince: Map<number, number>;
}

export interface ProgramMembership {
  id: number;
  progressionStatus: string;
  progressionStatusType: string;
  acquiredBy: boolean;
  reachedSuccess: boolean;
  isExhausted: boolean;
  membershipDate: number;
  updatedAt: number;
}

export interface Program {
  id: number;
  name: string;
  description: string;
  type: 'Default' | 'Event' | 'Engagement' | 'Email' | 'Event with Webinar';
  channel: string;
  status: string;
  folderId: number;
  folderName: string;
  workspace: string;
  createdAt: number;
  updatedAt: number;
  statuses: string[];
  members: Map<number, ProgramMembership>;
}

export interface Partition {
  id: number;
  name: string;
  description: string;
}

/** A new custom lead field; `searchable` defaults to true for string/email/integer fields. */
export const NewLeadFieldInput = FieldDef.omit({ id: true, searchable: true }).extend({ searchable: z.boolean().optional() });

const DEFAULT_SOURCE = 'Web service API';
/** The lead field that links a lead to a record of this kind, by that record's dedupe key. */
const LEAD_LINK_FIELD: Partial<Record<ObjectType['kind'], string>> = { company: 'externalCompanyId', salesperson: 'externalSalesPersonId' };
const COMPANY_FIELDS = new Set(['company', 'annualRevenue', 'industry', 'numberOfEmployees', 'site', 'billingStreet', 'billingCity', 'billingState', 'billingCountry', 'billingPostalCode', 'mainPhone', 'sicCode', 'website']);

export class Subscription {
  readonly leads = new LeadStore();
  readonly activities = new ActivityLog();
  readonly partitions: Partition[] = [{ id: 1, name: 'Default', description: 'Initial system lead partition' }];
  readonly lists = new Map<number, StaticList>();
  readonly programs = new Map<number, Program>();
  readonly objectTypes = new Map<string, ObjectType>();
  readonly objects = new Map<string, Map<string, ObjectRecord>>();
  readonly customActivityTypes = new Map<number, ActivityType>();
  private leadFieldList: FieldDef[] = standardLeadFields();
  private readonly dedupeIndex = new Map<string, Map<string, string>>();
  /** Bumped whenever a record enters or leaves a dedupe index (or its key moves): cached lookups start over. */
  private dedupeVersion = 0;
  private companies: { version: number; byExternalId: Map<string, ObjectRecord | undefined> } = { version: -1, byExternalId: new Map() };
  private nextObjectNum = 1;
  private nextListId = 1001;
  private nextProgramId = 1001;
  private nextMembershipId = 1;
  private nextCustomActivityTypeId = 100001;
  /** Bumped by writes that neither touch the lead store nor log an activity (schema, objects, lists, programs). */
  private changes = 0;

  constructor(readonly clock: Clock = new Clock()) {
    for (const t of builtInObjectTypes(clock.nowSeconds())) this.registerObjectType(t);
  }

  // ───────────────────────────── schema ─────────────────────────────

  /** Visible lead fields in describe order. */
  leadFields(): FieldDef[] {
    return this.leadFieldList.filter((f) => !f.hidden);
  }

  leadField(name: string): FieldDef | undefined {
    return this.leadFieldList.find((f) => f.name === name && !f.hidden);
  }

  /** Fields usable as lookupField / filterType (describe2 `searchableFields`). */
  searchableLeadFields(): string[] {
    return this.leadFields().filter((f) => f.searchable).map((f) => f.name);
  }

  /** Adds a custom lead field (Admin > Field Management); describe shows it at once. */
  addLeadField(input: z.input<typeof NewLeadFieldInput>): FieldDef {
    const parsed = NewLeadFieldInput.parse(input);
    const existing = this.leadFieldList.find((f) => f.name === parsed.name);
    if (existing && !existing.hidden) throw new Error(`lead field '${parsed.name}' already exists`);
    const field: FieldDef = { ...parsed, custom: true, searchable: parsed.searchable ?? isSearchableType(parsed.dataType), id: Math.max(...this.leadFieldList.map((f) => f.id ?? 0)) + 1 };
    this.leadFieldList = [...this.leadFieldList.filter((f) => f.name !== parsed.name), field];
    this.changes += 1;
    return field;
  }

  /**
   * Adds a custom string lead field whose name skips the identifier check: quotes, SQL, unicode,
   * hundreds of characters. Real Marketo never shows such names; the reliability suite uses them
   * to prove that SQL built from describe results stays safe.
   */
  addHostileLeadField(name: string): FieldDef {
    if (name.length === 0) throw new Error('a hostile field name must not be empty');
    if (this.leadFieldList.some((f) => f.name === name)) throw new Error(`lead field '${name}' already exists`);
    const id = Math.max(...this.leadFieldList.map((f) => f.id ?? 0)) + 1;
    const field: FieldDef = {
      name, displayName: `Hostile field ${id}`, dataType: 'string', length: 255, updateable: true,
      crmManaged: false, hidden: false, searchable: false, custom: true, id,
    };
    this.leadFieldList = [...this.leadFieldList, field];
    this.changes += 1;
    return field;
  }

  /** Every lead field, hidden ones included (field schema API). */
  allLeadFields(): FieldDef[] {
    return [...this.leadFieldList];
  }

  /** Updates display name / description / hidden flag of a lead field (field schema API). */
  updateLeadField(name: string, changes: { displayName?: string; description?: string; isHidden?: boolean }): FieldDef {
    const field = this.leadFieldList.find((f) => f.name === name);
    if (!field) throw new MarketoError('1013', `Field '${name}' not found`);
    this.changes += 1;
    if (changes.displayName !== undefined) field.displayName = changes.displayName;
    if (changes.description !== undefined) field.description = changes.description;
    if (changes.isHidden !== undefined) {
      if (changes.isHidden && ['id', 'createdAt', 'updatedAt', 'email'].includes(name)) throw new MarketoError('1003', `Field '${name}' cannot be hidden`);
      field.hidden = changes.isHidden;
    }
    return field;
  }

  /** Hides a lead field: it disappears from describe and becomes unknown (1006) to the API. */
  hideLeadField(name: string): void {
    const field = this.leadFieldList.find((f) => f.name === name);
    if (!field) throw new Error(`lead field '${name}' does not exist`);
    if (['id', 'createdAt', 'updatedAt', 'email'].includes(name)) throw new Error(`lead field '${name}' is a system field and cannot be hidden`);
    field.hidden = true;
    this.changes += 1;
  }

  objectType(name: string): ObjectType | undefined {
    return this.objectTypes.get(name);
  }

  customObjectTypes(): ObjectType[] {
    return [...this.objectTypes.values()].filter((t) => t.kind === 'custom');
  }

  /** Adds a field to a company/opportunity/role/salesperson/custom object type. */
  addObjectField(typeName: string, input: FieldInput): FieldDef {
    const type = this.requireType(typeName);
    const field = FieldDef.parse(input);
    if (type.fields.some((f) => f.name === field.name && !f.hidden)) throw new Error(`${typeName} field '${field.name}' already exists`);
    type.fields = [...type.fields.filter((f) => f.name !== field.name), field];
    this.changes += 1;
    type.updatedAt = this.clock.nowSeconds();
    if (type.kind === 'opportunity' && (field.dataType === 'string' || field.dataType === 'integer')) type.searchableFields.push([field.name]);
    return field;
  }

  hideObjectField(typeName: string, name: string): void {
    const type = this.requireType(typeName);
    const field = type.fields.find((f) => f.name === name);
    if (!field) throw new Error(`${typeName} field '${name}' does not exist`);
    if (name === type.idField || type.dedupeFields.includes(name)) throw new Error(`${typeName} field '${name}' is a key field and cannot be hidden`);
    field.hidden = true;
    this.changes += 1;
    type.searchableFields = type.searchableFields.filter((s) => !s.includes(name));
  }

  /** Adds (approves) a custom object type; a lead link gives it an "Add to {name}" activity type. */
  addCustomObjectType(input: CustomObjectTypeInput): ObjectType {
    const parsed = CustomObjectTypeInput.parse(input);
    if (this.objectTypes.has(parsed.name)) throw new Error(`custom object type '${parsed.name}' already exists`);
    const activityTypeId = parsed.leadLink ? this.nextCustomActivityTypeId++ : undefined;
    const type = customObjectType(parsed, this.clock.nowSeconds(), activityTypeId);
    this.registerObjectType(type);
    if (activityTypeId !== undefined) {
      const keyName = parsed.dedupeFields.join(', ');
      this.customActivityTypes.set(activityTypeId, {
        id: activityTypeId, name: `Add to ${type.displayName}`, apiName: `addTo${type.name}`,
        description: `Added to custom object ${type.displayName}`,
        primaryAttribute: { name: keyName, dataType: 'string' },
        attributes: [{ name: 'Marketo GUID', dataType: 'string' }],
      });
    }
    return type;
  }

  /** Defines an approved custom activity type (for /activities/external.json). */
  addCustomActivityType(input: { apiName: string; name: string; description?: string; primaryAttribute: { apiName: string; name: string; dataType?: string }; attributes?: { apiName: string; name: string; dataType?: string }[] }): ActivityType {
    const id = this.nextCustomActivityTypeId++;
    const type: ActivityType = {
      id, name: input.name, apiName: input.apiName, description: input.description ?? '', createdAt: this.clock.nowSeconds(), external: true,
      primaryAttribute: { name: input.primaryAttribute.name, apiName: input.primaryAttribute.apiName, dataType: input.primaryAttribute.dataType ?? 'string' },
      attributes: (input.attributes ?? []).map((a) => ({ name: a.name, apiName: a.apiName, dataType: a.dataType ?? 'string' })),
    };
    this.customActivityTypes.set(id, type);
    this.changes += 1;
    return type;
  }

  activityTypes(): ActivityType[] {
    return [...STANDARD_ACTIVITY_TYPES, ...this.customActivityTypes.values()];
  }

  private registerObjectType(type: ObjectType): void {
    this.objectTypes.set(type.name, type);
    this.objects.set(type.name, new Map());
    this.dedupeIndex.set(type.name, new Map());
    this.dedupeVersion += 1;
    this.changes += 1;
  }

  private requireType(name: string): ObjectType {
    const t = this.objectTypes.get(name);
    if (!t) throw new Error(`object type '${name}' does not exist`);
    return t;
  }

  // ───────────────────────────── persistence hooks ─────────────────────────────

  /** Records a write a route made on the subscription's maps directly (list delete, membership delete). */
  noteChange(): void {
    this.changes += 1;
  }

  /**
   * Grows with every write and never goes back: equal stamps mean nothing changed in between
   * (the state file compares them so read-only calls cost no save).
   */
  changeStamp(): number {
    return this.changes + this.leads.mutations + this.activities.count + this.activities.rewrites;
  }

  /** Schema, records, lists, programs and counters as plain JSON-able data (the state file). */
  toState(): SubscriptionState {
    return {
      leadFields: this.leadFieldList.map((f) => ({ ...f })),
      partitions: this.partitions.map((p) => ({ ...p })),
      objectTypes: [...this.objectTypes.values()],
      objects: Object.fromEntries([...this.objects].map(([name, store]) => [name, [...store.values()]])),
      customActivityTypes: [...this.customActivityTypes.values()],
      lists: [...this.lists.values()].map(({ members, memberSince, ...l }) => ({ ...l, members: [...members].map((id): [number, number] => [id, memberSince.get(id) ?? l.createdAt]) })),
      programs: [...this.programs.values()].map(({ members, ...p }) => ({ ...p, members: [...members] })),
      counters: {
        nextObjectNum: this.nextObjectNum, nextListId: this.nextListId, nextProgramId: this.nextProgramId,
        nextMembershipId: this.nextMembershipId, nextCustomActivityTypeId: this.nextCustomActivityTypeId,
      },
      leads: this.leads.toState(),
      activities: this.activities.toState(),
    };
  }

  /** Replaces everything with `state` (already validated); dedupe indexes are rebuilt from the records. */
  loadState(state: SubscriptionState): void {
    this.leadFieldList = state.leadFields.map((f) => ({ ...f }));
    this.partitions.splice(0, this.partitions.length, ...state.partitions);
    this.objectTypes.clear();
    this.objects.clear();
    this.dedupeIndex.clear();
    for (const type of state.objectTypes) this.registerObjectType(type);
    for (const [name, records] of Object.entries(state.objects)) {
      const type = this.objectTypes.get(name);
      if (!type) throw new Error(`objects.${name}: no such object type in objectTypes`);
      const store = this.objects.get(name) as Map<string, ObjectRecord>;
      const index = this.dedupeIndex.get(name) as Map<string, string>;
      for (const rec of records) {
        if (type.idField === 'marketoGUID' && rec.marketoGUID === undefined) throw new Error(`objects.${name}: record ${rec.num} has no marketoGUID`);
        const key = this.storeKey(type, rec);
        store.set(key, rec);
        const dk = this.dedupeKey(type, rec.values);
        if (dk !== undefined) index.set(dk, key);
      }
    }
    this.customActivityTypes.clear();
    for (const t of state.customActivityTypes) this.customActivityTypes.set(t.id, t);
    this.lists.clear();
    for (const { members, ...l } of state.lists) {
      this.lists.set(l.id, { ...l, members: new Set(members.map(([id]) => id)), memberSince: new Map(members) });
    }
    this.programs.clear();
    for (const { members, ...p } of state.programs) this.programs.set(p.id, { ...p, members: new Map(members) });
    Object.assign(this, state.counters);
    this.leads.loadState(state.leads);
    this.activities.loadState(state.activities);
    this.dedupeVersion += 1;
    this.changes += 1;
  }

  // ───────────────────────────── activities ─────────────────────────────

  addActivity(a: ActivityInput): number {
    return this.activities.append(a);
  }

  /** Activities with start <= activityDate < end (epoch seconds), in date order (bulk export). */
  activitiesBetween(start: number, end: number, typeIds?: number[], primaryAttributeValueIds?: number[]): Generator<ActivityRecord> {
    const filter: ActivityFilter = {};
    if (typeIds?.length) filter.typeIds = new Set(typeIds);
    if (primaryAttributeValueIds?.length) filter.primaryAttributeValueIds = new Set(primaryAttributeValueIds);
    return this.activities.between(start, end, filter);
  }

  private changeDataValue(leadId: number, field: FieldDef, oldValue: LeadValue, newValue: LeadValue, at: number, source: string, reasonText: string): void {
    this.addActivity({
      leadId, date: at, typeId: ACTIVITY.changeDataValue, primaryAttributeValueId: field.id ?? 0, primaryAttributeValue: field.displayName,
      attributes: [
        { name: 'New Value', value: newValue },
        { name: 'Old Value', value: oldValue },
        { name: 'Reason', value: reasonText },
        { name: 'Source', value: source },
      ],
    });
  }

  // ───────────────────────────── leads ─────────────────────────────

  getLead(id: number): LeadRecord | undefined {
    return this.leads.get(id);
  }

  /** Live leads in id order with all their field values (bulk lead export). */
  *iterateLeads(): Generator<LeadRecord> {
    for (const id of this.leads.ids()) {
      const lead = this.leads.get(id);
      if (lead) yield lead;
    }
  }

  /**
   * Value of one lead field as the API shows it (`id`, `createdAt`, `updatedAt` included; company
   * fields come from the linked Company when `externalCompanyId` names one).
   */
  leadValue(id: number, field: string): LeadValue {
    if (field === 'createdAt') return isoZ(this.leads.createdAt(id));
    if (field === 'updatedAt') return isoZ(this.leads.updatedAt(id));
    if (field === 'leadPartitionId') return this.leads.partitionOf(id);
    if (COMPANY_FIELDS.has(field)) {
      // A lead linked to a Company shows the company's values for company fields.
      const company = this.companyValuesForLead(id);
      if (company) return company[field] ?? null;
    }
    return this.leads.value(id, field);
  }

  /**
   * Reads `fields` of one lead at a time, each value what `leadValue` gives, with every field
   * resolved to its accessor once: bulk exports read millions of cells, and a generic lookup per
   * cell (plus one company lookup per company field) was most of their cost. The linked company
   * is looked up once per lead.
   */
  leadRowReader(fields: readonly string[]): (id: number) => LeadValue[] {
    const readers = fields.map((field): ((id: number, company: Record<string, LeadValue> | undefined) => LeadValue) => {
      if (field === 'createdAt') return (id) => isoZ(this.leads.createdAt(id));
      if (field === 'updatedAt') return (id) => isoZ(this.leads.updatedAt(id));
      if (field === 'leadPartitionId') return (id) => this.leads.partitionOf(id);
      const stored = this.leads.columnReader(field);
      if (COMPANY_FIELDS.has(field)) return (id, company) => (company ? (company[field] ?? null) : stored(id));
      return stored;
    });
    const withCompany = fields.some((f) => COMPANY_FIELDS.has(f));
    const externalCompanyId = this.leads.columnReader('externalCompanyId');
    return (id) => {
      const ext = withCompany ? externalCompanyId(id) : null;
      const company = ext === null ? undefined : this.companyByExternalId(String(ext))?.values;
      const row = new Array<LeadValue>(readers.length);
      for (let i = 0; i < readers.length; i++) row[i] = (readers[i] as (typeof readers)[number])(id, company);
      return row;
    };
  }

  /** Lead ids matching one searchable field (any value in `values`), ascending. */
  findLeads(field: string, values: (string | number)[]): number[] {
    if (field === 'leadPartitionId') {
      const wanted = new Set(values.map(Number));
      return [...this.leads.ids()].filter((id) => wanted.has(this.leads.partitionOf(id)));
    }
    const out = new Set<number>();
    for (const v of values) for (const id of this.leads.find(field, v)) out.add(id);
    return [...out].sort((a, b) => a - b);
  }

  /**
   * Sync Leads (REST) and bulk lead import: create/update records one after the other by a
   * lookup field, with Marketo's per-record reasons and the New Lead / Change Data Value
   * activities. Response-level problems (bad lookup field, bad action) throw MarketoError.
   */
  upsertLeads(records: unknown[], options: LeadSyncOptions = {}): RecordResult[] {
    const action = options.action ?? 'createOrUpdate';
    const lookupField = options.lookupField ?? 'email';
    const source = options.source ?? DEFAULT_SOURCE;
    if (!['createOnly', 'updateOnly', 'createOrUpdate', 'createDuplicate'].includes(action)) throw new MarketoError('1003', `Invalid action '${action}'`);
    if (!this.searchableLeadFields().includes(lookupField)) throw new MarketoError('1011', `Lookup field '${lookupField}' not supported`);
    if (lookupField === 'id' && action !== 'updateOnly') throw new MarketoError('1003', `Lookup field 'id' is only valid with action 'updateOnly'`);
    let partitionId: number | undefined;
    if (options.partitionName !== undefined && action !== 'updateOnly') {
      const p = this.partitions.find((x) => x.name === options.partitionName);
      if (!p) throw new MarketoError('1008', `Access denied to partition '${options.partitionName}'`);
      partitionId = p.id;
    }
    return records.map((rec) => this.upsertOne(rec, action, lookupField, partitionId, source));
  }

  private upsertOne(rec: unknown, action: SyncAction, lookupField: string, partitionId: number | undefined, source: string): RecordResult {
    const skip = (code: string, message: string): RecordResult => ({ status: 'skipped', reasons: [reason(code, message)] });
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return skip('1003', 'Invalid data');
    const values: Record<string, LeadValue> = {};
    for (const [name, raw] of Object.entries(rec as Record<string, unknown>)) {
      const field = this.leadField(name);
      if (!field) return skip('1006', `Field '${name}' not found`);
      const n = normalizeValue(field.dataType, raw);
      if (!n.ok) return skip('1003', `Invalid value for field '${name}'`);
      values[name] = n.value;
    }
    let matches: number[] = [];
    if (action !== 'createDuplicate') {
      const key = values[lookupField];
      if (key === undefined || key === null) {
        if (action === 'updateOnly' || lookupField !== 'email') return skip('1003', `Value for lookup field '${lookupField}' not specified`);
      } else {
        matches = lookupField === 'leadPartitionId' ? [] : this.leads.find(lookupField, key as string | number);
      }
    }
    if (matches.length === 0) {
      if (action === 'updateOnly') return skip('1004', 'Lead not found');
      if (values.externalCompanyId && this.companyByExternalId(String(values.externalCompanyId)) && Object.keys(values).some((k) => COMPANY_FIELDS.has(k))) {
        return skip('1021', 'Company update not allowed');
      }
      return { id: this.createLead(values, partitionId ?? 1, source), status: 'created' };
    }
    if (action === 'createOnly') return skip('1005', 'Lead already exists');
    if (matches.length > 1) return skip('1007', 'Multiple leads match the lookup criteria');
    const id = matches[0] as number;
    if (partitionId !== undefined && this.leads.partitionOf(id) !== partitionId) return skip('1010', 'Partition update not allowed');
    const companyId = values.externalCompanyId ?? this.leads.value(id, 'externalCompanyId');
    if (companyId && this.companyByExternalId(String(companyId)) && Object.keys(values).some((k) => COMPANY_FIELDS.has(k))) {
      return skip('1021', 'Company update not allowed');
    }
    this.updateLead(id, values, source, source);
    return { id, status: 'updated' };
  }

  /**
   * Push Lead: upsert into a program (createOrUpdate by lookup field), then Push Lead to Marketo
   * (145) on each lead and, with `programStatus`, a program status change.
   */
  pushLeads(records: unknown[], options: { programName: string; lookupField?: string; partitionName?: string; source?: string; reason?: string; programStatus?: string }): RecordResult[] {
    const program = [...this.programs.values()].find((p) => p.name === options.programName);
    if (!program) throw new MarketoError('1013', 'Program not found');
    if (options.programStatus !== undefined && !program.statuses.includes(options.programStatus)) throw new MarketoError('1025', 'Program status not found');
    const results = this.upsertLeads(records, { action: 'createOrUpdate', lookupField: options.lookupField, partitionName: options.partitionName });
    const at = this.clock.nowSeconds();
    for (const r of results) {
      if (r.status === 'skipped') continue;
      this.addActivity({
        leadId: r.id, date: at, typeId: ACTIVITY.pushLead, primaryAttributeValueId: program.id, primaryAttributeValue: program.name,
        attributes: [{ name: 'Reason', value: options.reason ?? null }, { name: 'Source', value: options.source ?? null }],
      });
      if (options.programStatus !== undefined) this.setProgramStatus(program.id, r.id, options.programStatus, at);
    }
    return results;
  }

  /** Moves leads to another partition (Update Lead Partition). */
  changePartitions(input: { id: number; partitionName: string }[]): RecordResult[] {
    return input.map(({ id, partitionName }): RecordResult => {
      const p = this.partitions.find((x) => x.name === partitionName);
      if (!p) return { id, status: 'skipped', reasons: [reason('1013', 'Partition not found')] };
      if (!this.leads.exists(id)) return { id, status: 'skipped', reasons: [reason('1004', 'Lead not found')] };
      this.leads.setPartition(id, p.id);
      this.leads.touch(id, this.clock.nowSeconds());
      return { id, status: 'updated' };
    });
  }

  /** Adds a lead partition (Admin > Lead Partitions). */
  addPartition(name: string, description = ''): Partition {
    if (this.partitions.some((p) => p.name === name)) throw new Error(`partition '${name}' already exists`);
    const p = { id: Math.max(...this.partitions.map((x) => x.id)) + 1, name, description };
    this.partitions.push(p);
    this.changes += 1;
    return p;
  }

  /** Creates a lead from already-normalised values and logs New Lead (12). */
  createLead(values: Record<string, LeadValue>, partitionId = 1, source = DEFAULT_SOURCE, at = this.clock.nowSeconds()): number {
    const writable: Record<string, LeadValue> = {};
    for (const [k, v] of Object.entries(values)) if (k !== 'id' && k !== 'createdAt' && k !== 'updatedAt' && k !== 'leadPartitionId') writable[k] = v;
    const id = this.leads.insert(writable, at, partitionId);
    this.addActivity({ leadId: id, date: at, typeId: ACTIVITY.newLead, attributes: [{ name: 'Source Type', value: source }] });
    return id;
  }

  /** Writes changed values, one Change Data Value (13) per changed field; returns changed names. */
  updateLead(id: number, values: Record<string, LeadValue>, source = DEFAULT_SOURCE, reasonText = DEFAULT_SOURCE): string[] {
    const at = this.clock.nowSeconds();
    const changed: string[] = [];
    for (const [name, value] of Object.entries(values)) {
      const field = this.leadField(name);
      if (!field || !field.updateable) continue;
      const old = this.leads.value(id, name);
      if (old === value) continue;
      this.leads.setValue(id, name, value);
      this.changeDataValue(id, field, old, value, at, source, reasonText);
      changed.push(name);
    }
    if (changed.length) this.leads.touch(id, at);
    return changed;
  }

  /**
   * A Marketo user edits a lead in the UI: fields are validated like the API (throws naming the
   * bad field) and each change logs Change Data Value with Source "Web client".
   */
  editLeadAsUser(id: number, changes: Record<string, unknown>): string[] {
    if (!this.leads.exists(id)) throw new Error(`lead ${id} does not exist`);
    const values: Record<string, LeadValue> = {};
    for (const [name, raw] of Object.entries(changes)) {
      const field = this.leadField(name);
      if (!field) throw new Error(`lead field '${name}' does not exist`);
      if (!field.updateable) throw new Error(`lead field '${name}' is read-only`);
      const n = normalizeValue(field.dataType, raw);
      if (!n.ok) throw new Error(`invalid value for lead field '${name}'`);
      values[name] = n.value;
    }
    return this.updateLead(id, values, 'Web client', 'Changed by user');
  }

  /** Deletes leads (REST delete, UI delete): Delete Lead (37) per deleted lead; unknown ids skipped 1004. */
  deleteLeads(ids: number[], source = DEFAULT_SOURCE): RecordResult[] {
    const at = this.clock.nowSeconds();
    return ids.map((id): RecordResult => {
      if (!this.leads.exists(id)) return { id, status: 'skipped', reasons: [reason('1004', 'Lead not found')] };
      const name = [this.leads.value(id, 'firstName'), this.leads.value(id, 'lastName')].filter((x) => x !== null && x !== '').join(' ');
      this.addActivity({ leadId: id, date: at, typeId: ACTIVITY.deleteLead, primaryAttributeValueId: id, primaryAttributeValue: name, attributes: [{ name: 'Source', value: source }] });
      this.dropLead(id);
      return { id, status: 'deleted' };
    });
  }

  private dropLead(id: number): void {
    this.leads.delete(id);
    for (const list of this.lists.values()) {
      list.members.delete(id);
      list.memberSince.delete(id);
    }
    for (const p of this.programs.values()) p.members.delete(id);
  }

  /**
   * Merges losers into the winner: the winner keeps its values and takes a loser's value where
   * its own is empty (Change Data Value for each), activities and memberships move to the
   * winner, losers are removed, and one Merge Leads (32) activity is logged on the winner.
   */
  mergeLeads(winnerId: number, loserIds: number[], source = DEFAULT_SOURCE): void {
    if (!this.leads.exists(winnerId)) throw new MarketoError('1004', 'Lead not found');
    const losers = [...new Set(loserIds)].filter((id) => id !== winnerId);
    if (losers.length === 0) throw new MarketoError('1003', 'No losing lead ids specified');
    if (losers.length > 25) throw new MarketoError('1080', 'Too many lead ids to merge, at most 25 allowed');
    for (const id of losers) if (!this.leads.exists(id)) throw new MarketoError('1004', 'Lead not found');
    const fill: Record<string, LeadValue> = {};
    for (const id of losers) {
      const loser = this.leads.get(id);
      for (const [k, v] of Object.entries(loser?.values ?? {})) {
        if (v !== null && this.leads.value(winnerId, k) === null && fill[k] === undefined) fill[k] = v;
      }
    }
    const loserSet = new Set(losers);
    for (const id of losers) {
      for (const list of this.lists.values()) {
        if (list.members.has(id) && !list.members.has(winnerId)) {
          list.members.add(winnerId);
          list.memberSince.set(winnerId, list.memberSince.get(id) ?? this.clock.nowSeconds());
        }
      }
      for (const p of this.programs.values()) {
        const m = p.members.get(id);
        if (m && !p.members.has(winnerId)) p.members.set(winnerId, m);
      }
      // Drop the loser's own key values first so unique keys (email) can move to the winner.
      this.dropLead(id);
    }
    this.activities.reassignLeads(loserSet, winnerId);
    const changed = this.updateLead(winnerId, fill, source, 'Merge leads');
    const at = this.clock.nowSeconds();
    this.leads.touch(winnerId, at);
    const name = [this.leads.value(winnerId, 'firstName'), this.leads.value(winnerId, 'lastName')].filter((x) => x).join(' ');
    this.addActivity({
      leadId: winnerId, date: at, typeId: ACTIVITY.mergeLeads, primaryAttributeValueId: winnerId, primaryAttributeValue: name,
      attributes: [
        { name: 'Merge IDs', value: losers.join(',') },
        { name: 'Merge Source', value: source },
        { name: 'Merged in Sales', value: false },
        { name: 'Master Updated', value: changed.length > 0 },
      ],
    });
  }

  // ───────────────────────────── lists and programs ─────────────────────────────

  createList(input: { name: string; description?: string; programName?: string; workspaceName?: string; folderId?: number; createdAt?: number }): StaticList {
    const name = z.string().min(1).parse(input.name);
    if ([...this.lists.values()].some((l) => l.name === name)) throw new MarketoError('709', `Static list name '${name}' is already in use`);
    const at = input.createdAt ?? this.clock.nowSeconds();
    const list: StaticList = {
      id: this.nextListId++, name, description: input.description ?? '', programName: input.programName,
      workspaceName: input.workspaceName ?? 'Default', folderId: input.folderId ?? 12, createdAt: at, updatedAt: at, members: new Set(), memberSince: new Map(),
    };
    this.lists.set(list.id, list);
    this.changes += 1;
    return list;
  }

  /** Adds leads to a static list, logging Add to List (24) for each new member. */
  addToList(listId: number, leadIds: number[], source = DEFAULT_SOURCE, at = this.clock.nowSeconds()): RecordResult[] {
    const list = this.lists.get(listId);
    if (!list) throw new MarketoError('1013', 'Object not found');
    return leadIds.map((id): RecordResult => {
      if (!this.leads.exists(id)) return { id, status: 'skipped', reasons: [reason('1004', 'Lead not found')] };
      if (!list.members.has(id)) {
        list.members.add(id);
        list.memberSince.set(id, at);
        list.updatedAt = at;
        this.addActivity({ leadId: id, date: at, typeId: ACTIVITY.addToList, primaryAttributeValueId: list.id, primaryAttributeValue: list.name, attributes: [{ name: 'Source', value: source }] });
      }
      return { id, status: 'added' };
    });
  }

  removeFromList(listId: number, leadIds: number[], source = DEFAULT_SOURCE): RecordResult[] {
    const list = this.lists.get(listId);
    if (!list) throw new MarketoError('1013', 'Object not found');
    const at = this.clock.nowSeconds();
    return leadIds.map((id): RecordResult => {
      if (!this.leads.exists(id)) return { id, status: 'skipped', reasons: [reason('1004', 'Lead not found')] };
      if (!list.members.has(id)) return { id, status: 'skipped', reasons: [reason('1015', 'Lead not in list')] };
      list.members.delete(id);
      list.memberSince.delete(id);
      list.updatedAt = at;
      this.addActivity({ leadId: id, date: at, typeId: ACTIVITY.removeFromList, primaryAttributeValueId: list.id, primaryAttributeValue: list.name, attributes: [{ name: 'Source', value: source }] });
      return { id, status: 'removed' };
    });
  }

  createProgram(input: { name: string; description?: string; type?: Program['type']; channel?: string; folderId?: number; folderName?: string; workspace?: string; statuses?: string[]; createdAt?: number }): Program {
    const at = input.createdAt ?? this.clock.nowSeconds();
    const type = input.type ?? 'Default';
    const program: Program = {
      id: this.nextProgramId++, name: z.string().min(1).parse(input.name), description: input.description ?? '', type,
      channel: input.channel ?? (type === 'Engagement' ? 'Nurture' : 'Webinar'), status: type === 'Engagement' ? 'on' : type === 'Email' ? 'unlocked' : '',
      folderId: input.folderId ?? 28, folderName: input.folderName ?? 'Marketing Activities', workspace: input.workspace ?? 'Default',
      createdAt: at, updatedAt: at, statuses: input.statuses ?? ['Not in Program', 'Invited', 'Registered', 'Attended', 'No Show'], members: new Map(),
    };
    this.programs.set(program.id, program);
    this.changes += 1;
    return program;
  }

  /** Sets a lead's program status, logging Change Status in Progression (104). */
  setProgramStatus(programId: number, leadId: number, status: string, at = this.clock.nowSeconds()): 'created' | 'updated' | 'skipped' {
    const program = this.programs.get(programId);
    if (!program) throw new MarketoError('1013', 'Object not found');
    if (!program.statuses.includes(status)) throw new MarketoError('1025', 'Program status not found');
    if (!this.leads.exists(leadId)) throw new MarketoError('1004', 'Lead not found');
    const existing = program.members.get(leadId);
    const oldStatus = existing?.progressionStatus ?? 'Not in Program';
    if (existing && program.statuses.indexOf(status) <= program.statuses.indexOf(oldStatus)) return 'skipped';
    const success = status === program.statuses[program.statuses.length - 2];
    const membership: ProgramMembership = existing ?? {
      id: this.nextMembershipId++, progressionStatus: status, progressionStatusType: status, acquiredBy: program.members.size === 0 || false,
      reachedSuccess: false, isExhausted: false, membershipDate: at, updatedAt: at,
    };
    membership.progressionStatus = status;
    membership.progressionStatusType = status;
    membership.reachedSuccess = membership.reachedSuccess || success;
    membership.updatedAt = at;
    program.members.set(leadId, membership);
    this.changes += 1;
    this.addActivity({
      leadId, date: at, typeId: ACTIVITY.changeStatusInProgression, primaryAttributeValueId: program.id, primaryAttributeValue: program.name,
      attributes: [
        { name: 'Acquired By', value: membership.acquiredBy },
        { name: 'New Status', value: status },
        { name: 'New Status ID', value: program.statuses.indexOf(status) + 1 },
        { name: 'Old Status', value: oldStatus },
        { name: 'Old Status ID', value: program.statuses.indexOf(oldStatus) + 1 },
        { name: 'Program Member ID', value: membership.id },
        { name: 'Success', value: success },
      ],
    });
    return existing ? 'updated' : 'created';
  }

  // ───────────────────────────── generic objects ─────────────────────────────

  /** All records of an object type in creation order (bulk custom object export). */
  *iterateObjects(typeName: string): Generator<ObjectRecord> {
    yield* (this.objects.get(typeName) ?? new Map<string, ObjectRecord>()).values();
  }

  /** The API view of one object record: key fields, timestamps, values. */
  objectView(type: ObjectType, rec: ObjectRecord): Record<string, LeadValue> {
    const out: Record<string, LeadValue> = { ...rec.values, createdAt: isoZ(rec.createdAt), updatedAt: isoZ(rec.updatedAt) };
    if (type.idField === 'id') out.id = rec.num;
    else out.marketoGUID = rec.marketoGUID ?? null;
    return out;
  }

  dedupeKey(type: ObjectType, values: Record<string, unknown>): string | undefined {
    const parts: string[] = [];
    for (const f of type.dedupeFields) {
      const v = values[f];
      if (v === undefined || v === null || v === '') return undefined;
      parts.push(String(v).toLowerCase());
    }
    return JSON.stringify(parts);
  }

  findObjectByKey(typeName: string, field: 'idField' | 'dedupeFields', values: Record<string, unknown>): ObjectRecord | undefined {
    const type = this.requireType(typeName);
    const store = this.objects.get(typeName) as Map<string, ObjectRecord>;
    if (field === 'idField') {
      const key = values[type.idField];
      return key === undefined || key === null ? undefined : store.get(String(key));
    }
    const dk = this.dedupeKey(type, values);
    const recKey = dk === undefined ? undefined : this.dedupeIndex.get(typeName)?.get(dk);
    return recKey === undefined ? undefined : store.get(recKey);
  }

  /** Records whose single `field` equals one of `values`; each match carries the value's index. */
  findObjects(typeName: string, field: string, values: (string | number)[]): { seq: number; rec: ObjectRecord }[] {
    const type = this.requireType(typeName);
    const store = this.objects.get(typeName) as Map<string, ObjectRecord>;
    const out: { seq: number; rec: ObjectRecord }[] = [];
    values.forEach((v, seq) => {
      if (field === type.idField) {
        const r = store.get(String(v));
        if (r) out.push({ seq, rec: r });
      } else if (type.dedupeFields.length === 1 && type.dedupeFields[0] === field) {
        const r = this.findObjectByKey(typeName, 'dedupeFields', { [field]: v });
        if (r) out.push({ seq, rec: r });
      } else {
        const want = String(v).toLowerCase();
        for (const r of store.values()) {
          const have = r.values[field];
          if (have !== undefined && have !== null && String(have).toLowerCase() === want) out.push({ seq, rec: r });
        }
      }
    });
    return out;
  }

  /**
   * Sync for companies, opportunities, roles, salespersons and custom objects (REST sync and bulk
   * custom object import). Results carry `seq`; side effects: Add to Opportunity (34) when a role
   * is created, "Add to {custom object}" when a lead-linked custom object record is created.
   */
  syncObjects(typeName: string, input: unknown[], options: { action?: 'createOnly' | 'updateOnly' | 'createOrUpdate'; dedupeBy?: 'dedupeFields' | 'idField' } = {}): ObjectResult[] {
    const type = this.objectTypes.get(typeName);
    if (!type) throw new MarketoError('1013', 'Object not found');
    const action = options.action ?? 'createOrUpdate';
    const dedupeBy = options.dedupeBy ?? 'dedupeFields';
    if (!['createOnly', 'updateOnly', 'createOrUpdate'].includes(action)) throw new MarketoError('1003', `Invalid action '${action}'`);
    if (!['dedupeFields', 'idField'].includes(dedupeBy)) throw new MarketoError('1003', `Invalid dedupeBy '${dedupeBy}'`);
    if (dedupeBy === 'idField' && action !== 'updateOnly') throw new MarketoError('1003', `dedupeBy 'idField' is only valid with action 'updateOnly'`);
    const seen = new Set<string>();
    return input.map((raw, seq) => {
      const skip = (code: string, message: string): ObjectResult => ({ seq, status: 'skipped', reasons: [reason(code, message)] });
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return skip('1003', 'Invalid data');
      const values: Record<string, LeadValue> = {};
      for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
        const field = type.fields.find((f) => f.name === name && !f.hidden);
        if (!field) return skip('1006', `Field '${name}' not found`);
        const n = normalizeValue(field.dataType, v);
        if (!n.ok) return skip('1003', `Invalid value for field '${name}'`);
        values[name] = n.value;
      }
      let key: string;
      if (dedupeBy === 'idField') {
        if (values[type.idField] === undefined || values[type.idField] === null) return skip('1003', `Value for required field '${type.idField}' not specified`);
        key = `id:${String(values[type.idField])}`;
      } else {
        const missing = type.dedupeFields.find((f) => values[f] === undefined || values[f] === null);
        if (missing) return skip('1003', `Value for required field '${missing}' not specified`);
        key = this.dedupeKey(type, values) as string;
      }
      if (seen.has(key)) return skip('1036', 'Duplicate object found in input');
      seen.add(key);
      const existing = this.findObjectByKey(typeName, dedupeBy, values);
      if (existing) {
        if (action === 'createOnly') return skip('1017', 'Object already exists');
        if (dedupeBy === 'idField') {
          const problem = this.keyChangeProblem(type, existing, values);
          if (problem) return skip(problem.code, problem.message);
        }
        const problem = this.checkObjectReferences(type, { ...existing.values, ...values });
        if (problem) return skip(problem.code, problem.message);
        this.updateObject(type, existing, values, dedupeBy === 'idField');
        return this.objectResult(type, seq, 'updated', existing);
      }
      if (action === 'updateOnly') return skip('1013', type.kind === 'custom' ? 'Object not found' : 'Record not found');
      if (type.kind === 'opportunity' && (values.name === undefined || values.name === null)) return skip('1003', "Value for required field 'name' not specified");
      const problem = this.checkObjectReferences(type, values);
      if (problem) return skip(problem.code, problem.message);
      const rec = this.createObject(type, values);
      return this.objectResult(type, seq, 'created', rec);
    });
  }

  private objectResult(type: ObjectType, seq: number, status: 'created' | 'updated' | 'deleted', rec: ObjectRecord): ObjectResult {
    return type.idField === 'id' ? { seq, status, id: rec.num } : { seq, status, marketoGUID: rec.marketoGUID as string };
  }

  private checkObjectReferences(type: ObjectType, values: Record<string, LeadValue>): ErrorItem | undefined {
    if (type.kind === 'opportunity' && values.externalSalesPersonId) {
      if (!this.findObjectByKey('SalesPerson', 'dedupeFields', { externalSalesPersonId: values.externalSalesPersonId })) return reason('718', 'ExternalSalesPersonID not found');
    }
    if (type.kind === 'opportunityRole') {
      if (!this.leads.exists(Number(values.leadId))) return reason('1004', 'Lead not found');
      if (!this.findObjectByKey('opportunity', 'dedupeFields', { externalOpportunityId: values.externalOpportunityId })) return reason('1013', 'Opportunity not found');
    }
    const link = type.relationships.find((r) => r.relatedTo.name === 'Lead');
    if (link && values[link.field] !== undefined && values[link.field] !== null) {
      if (this.leadIdsForLink(link.relatedTo.field, values[link.field] as string | number).length === 0) return reason('1004', 'Lead not found');
    }
    return undefined;
  }

  private leadIdsForLink(leadField: string, value: string | number): number[] {
    return leadField === 'id' ? (this.leads.exists(Number(value)) ? [Number(value)] : []) : this.leads.find(leadField, value);
  }

  /** Creates an object record from normalised values, with the side-effect activities. */
  createObject(type: ObjectType, values: Record<string, LeadValue>, at = this.clock.nowSeconds(), guid: string = randomUUID(), logActivities = true): ObjectRecord {
    const num = this.nextObjectNum++;
    const rec: ObjectRecord = { num, createdAt: at, updatedAt: at, values: {} };
    if (type.idField === 'marketoGUID') rec.marketoGUID = guid;
    for (const [k, v] of Object.entries(values)) if (!['id', 'marketoGUID', 'createdAt', 'updatedAt'].includes(k) && v !== null) rec.values[k] = v;
    const storeKey = String(type.idField === 'id' ? num : rec.marketoGUID);
    (this.objects.get(type.name) as Map<string, ObjectRecord>).set(storeKey, rec);
    const dk = this.dedupeKey(type, rec.values);
    if (dk !== undefined) this.dedupeIndex.get(type.name)?.set(dk, storeKey);
    this.dedupeVersion += 1;
    this.changes += 1;
    if (logActivities) for (const a of this.objectCreatedActivities(type, rec)) this.addActivity(a);
    return rec;
  }

  /** The activities the creation of `rec` implies (used by createObject and the seed generator). */
  objectCreatedActivities(type: ObjectType, rec: ObjectRecord): ActivityInput[] {
    const out: ActivityInput[] = [];
    const at = rec.createdAt;
    const num = rec.num;
    if (type.kind === 'opportunityRole') {
      const opp = this.findObjectByKey('opportunity', 'dedupeFields', { externalOpportunityId: rec.values.externalOpportunityId });
      out.push({
        leadId: Number(rec.values.leadId), date: at, typeId: ACTIVITY.addToOpportunity, primaryAttributeValueId: opp?.num,
        primaryAttributeValue: String(opp?.values.name ?? rec.values.externalOpportunityId),
        // Adobe's attribute list for type 34: Oppty ID, Is Primary, Role (no external id: a reader
        // resolves Oppty ID, the opportunity's marketoGUID, with Get Opportunities by idField).
        attributes: [
          { name: 'Oppty ID', value: opp?.marketoGUID ?? null },
          { name: 'Is Primary', value: rec.values.isPrimary ?? false },
          { name: 'Role', value: rec.values.role ?? null },
        ],
      });
    }
    const link = type.relationships.find((r) => r.relatedTo.name === 'Lead');
    if (link && type.addActivityTypeId !== undefined && rec.values[link.field] !== undefined) {
      const primary = type.dedupeFields.map((f) => String(rec.values[f] ?? '')).join(', ');
      for (const leadId of this.leadIdsForLink(link.relatedTo.field, rec.values[link.field] as string | number)) {
        out.push({ leadId, date: at, typeId: type.addActivityTypeId, primaryAttributeValueId: num, primaryAttributeValue: primary, attributes: [{ name: 'Marketo GUID', value: rec.marketoGUID ?? null }] });
      }
    }
    return out;
  }

  /**
   * An update by idField that moves a record's dedupe key: the new key must be whole and free
   * (two records with one key would make every lookup by it ambiguous).
   */
  private keyChangeProblem(type: ObjectType, rec: ObjectRecord, values: Record<string, LeadValue>): ErrorItem | undefined {
    if (!type.dedupeFields.some((f) => f in values)) return undefined;
    const blank = type.dedupeFields.find((f) => f in values && (values[f] === null || values[f] === ''));
    if (blank) return reason('1003', `Value for required field '${blank}' not specified`);
    const newKey = this.dedupeKey(type, { ...rec.values, ...values });
    const owner = newKey === undefined ? undefined : this.dedupeIndex.get(type.name)?.get(newKey);
    if (owner !== undefined && owner !== this.storeKey(type, rec)) return reason('1017', 'Object already exists');
    return undefined;
  }

  private storeKey(type: ObjectType, rec: ObjectRecord): string {
    return String(type.idField === 'id' ? rec.num : rec.marketoGUID);
  }

  /**
   * `keysWritable`: an update by idField (the record named by its system id) may change its dedupe
   * fields, which describe shows read-only (Marketo changes an externalCompanyId only through the
   * API, this way); the leads of a company or salesperson move with it to the new key.
   */
  private updateObject(type: ObjectType, rec: ObjectRecord, values: Record<string, LeadValue>, keysWritable = false): void {
    const oldKey = this.dedupeKey(type, rec.values);
    const leadField = LEAD_LINK_FIELD[type.kind];
    // Only the link field's old value is needed afterwards; no copy of the whole record per update.
    const oldLink = leadField === undefined ? undefined : rec.values[leadField];
    let changed = false;
    for (const [k, v] of Object.entries(values)) {
      const field = type.fields.find((f) => f.name === k);
      if (!field || !(field.updateable || (keysWritable && type.dedupeFields.includes(k)))) continue;
      if (rec.values[k] === v || (v === null && rec.values[k] === undefined)) continue;
      if (v === null) delete rec.values[k];
      else rec.values[k] = v;
      changed = true;
    }
    if (!changed) return;
    this.changes += 1;
    rec.updatedAt = this.clock.nowSeconds();
    // An update by idField may change a dedupe field: keep the dedupe index pointing right.
    const newKey = this.dedupeKey(type, rec.values);
    if (newKey !== oldKey) {
      const index = this.dedupeIndex.get(type.name);
      const storeKey = this.storeKey(type, rec);
      if (oldKey !== undefined && index?.get(oldKey) === storeKey) index.delete(oldKey);
      if (newKey !== undefined) index?.set(newKey, storeKey);
      this.dedupeVersion += 1;
      // A lead belongs to the company record, not to its key text: it follows the record.
      if (leadField && oldLink !== undefined && oldLink !== null) {
        for (const id of this.leads.find(leadField, String(oldLink))) this.leads.setValue(id, leadField, rec.values[leadField] ?? null);
      }
    }
  }

  /** Delete for generic objects; unknown keys are skipped with 1013. */
  deleteObjects(typeName: string, input: unknown[], deleteBy: 'dedupeFields' | 'idField' = 'dedupeFields'): ObjectResult[] {
    const type = this.objectTypes.get(typeName);
    if (!type) throw new MarketoError('1013', 'Object not found');
    if (!['dedupeFields', 'idField'].includes(deleteBy)) throw new MarketoError('1003', `Invalid deleteBy '${deleteBy}'`);
    const store = this.objects.get(typeName) as Map<string, ObjectRecord>;
    return input.map((raw, seq): ObjectResult => {
      const values = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      const rec = this.findObjectByKey(typeName, deleteBy, values);
      if (!rec) return { seq, status: 'skipped', reasons: [reason('1013', type.kind === 'custom' ? 'Object not found' : 'Record not found')] };
      if (type.kind === 'salesperson' && this.leads.find('externalSalesPersonId', String(rec.values.externalSalesPersonId)).length > 0) {
        return { seq, status: 'skipped', reasons: [reason('1022', 'Object in use')] };
      }
      store.delete(String(type.idField === 'id' ? rec.num : rec.marketoGUID));
      const dk = this.dedupeKey(type, rec.values);
      if (dk !== undefined) this.dedupeIndex.get(typeName)?.delete(dk);
      this.dedupeVersion += 1;
      this.changes += 1;
      return this.objectResult(type, seq, 'deleted', rec);
    });
  }

  /**
   * Companies by external id, remembered until a record enters or leaves a dedupe index (values
   * are read live from the record, so updates show): lead reads and exports look companies up for
   * every lead.
   */
  private companyByExternalId(externalCompanyId: string): ObjectRecord | undefined {
    if (this.companies.version !== this.dedupeVersion) this.companies = { version: this.dedupeVersion, byExternalId: new Map() };
    const known = this.companies.byExternalId;
    let company = known.get(externalCompanyId);
    if (company === undefined && !known.has(externalCompanyId)) {
      company = this.findObjectByKey('Company', 'dedupeFields', { externalCompanyId });
      known.set(externalCompanyId, company);
    }
    return company;
  }

  /** Company field values a lead shows when linked to a company by externalCompanyId. */
  companyValuesForLead(id: number): Record<string, LeadValue> | undefined {
    const ext = this.leads.value(id, 'externalCompanyId');
    if (ext === null) return undefined;
    return this.companyByExternalId(String(ext))?.values;
  }
}

/** What `Subscription.toState` gives and `loadState` takes. */
export interface SubscriptionState {
  leadFields: FieldDef[];
  partitions: Partition[];
  objectTypes: ObjectType[];
  objects: Record<string, ObjectRecord[]>;
  customActivityTypes: ActivityType[];
  lists: (Omit<StaticList, 'members' | 'memberSince'> & { members: [leadId: number, since: number][] })[];
  programs: (Omit<Program, 'members'> & { members: [leadId: number, membership: ProgramMembership][] })[];
  counters: { nextObjectNum: number; nextListId: number; nextProgramId: number; nextMembershipId: number; nextCustomActivityTypeId: number };
  leads: LeadStoreState;
  activities: ActivityLogState;
}

export function isoZ(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19) + 'Z';
}

export type { ActivityAttribute, ActivityRecord, LeadRecord, LeadValue, ObjectType, ActivityType };
