import { z } from 'zod';
import { classify } from './classification.js';
import {
  leadAttributeSchema,
  leadDescribe2Schema,
  objectMetadataSchema,
  type LeadAttribute,
  type LeadDescribe2,
  type ObjectMetadata,
} from './describe-schemas.js';
import { MarketoApiError } from './errors.js';
import { customObjectKind, ObjectApi, OBJECT_KINDS, type ObjectKind } from './objects.js';
import { parseInput } from './results.js';
import type { MarketoTransport } from './transport.js';

/** Custom object types as listed by `/customobjects.json`: the describe shape without `fields`. */
export type CustomObjectType = ObjectMetadata;

/** Schema discovery: Describe is the only source of truth for fields (seed architecture, "Model"). */
export class DescribeApi {
  constructor(private readonly t: MarketoTransport) {}

  /** Legacy lead describe (one item per field). */
  async leads(): Promise<LeadAttribute[]> {
    return (await this.t.request({ method: 'GET', path: '/rest/v1/leads/describe.json' }, leadAttributeSchema)).result ?? [];
  }

  /** describe2: searchable keys and fields of the lead object. */
  async leads2(): Promise<LeadDescribe2> {
    const env = await this.t.request({ method: 'GET', path: '/rest/v1/leads/describe2.json' }, leadDescribe2Schema);
    const first = env.result?.[0];
    if (!first) {
      throw new MarketoApiError({
        code: 'INVALID_RESPONSE',
        message: 'describe2 returned no result',
        endpoint: 'GET /rest/v1/leads/describe2.json',
        source: 'response',
        requestId: env.requestId,
        classification: classify('INVALID_RESPONSE'),
      });
    }
    return first;
  }

  companies(): Promise<ObjectMetadata> {
    return this.object(OBJECT_KINDS.company);
  }

  opportunities(): Promise<ObjectMetadata> {
    return this.object(OBJECT_KINDS.opportunity);
  }

  opportunityRoles(): Promise<ObjectMetadata> {
    return this.object(OBJECT_KINDS.opportunityRole);
  }

  salesPersons(): Promise<ObjectMetadata> {
    return this.object(OBJECT_KINDS.salesPerson);
  }

  customObject(apiName: string): Promise<ObjectMetadata> {
    return this.object(customObjectKind(apiName));
  }

  /** Custom object types of the instance, optionally only the named ones. */
  async customObjects(names?: string[]): Promise<CustomObjectType[]> {
    const list = parseInput(z.array(z.string().min(1)).min(1).optional(), names, 'custom object names');
    const env = await this.t.request({ method: 'GET', path: '/rest/v1/customobjects.json', query: { names: list } }, objectMetadataSchema);
    return env.result ?? [];
  }

  private object(kind: ObjectKind): Promise<ObjectMetadata> {
    return new ObjectApi(this.t, kind).describe();
  }
}
