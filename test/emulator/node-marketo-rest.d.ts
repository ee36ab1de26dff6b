// Minimal typing for the untyped third-party client used in node-marketo-rest.test.ts.
declare module 'node-marketo-rest' {
  interface Page {
    requestId: string;
    success: boolean;
    result?: Record<string, unknown>[];
    nextPageToken?: string;
    moreResult?: boolean;
    nextPage?: () => Promise<Page>;
  }
  class Marketo {
    constructor(options: { endpoint: string; identity: string; clientId: string; clientSecret: string; retry?: Record<string, unknown> });
    getOAuthToken(): Promise<{ access_token: string }>;
    lead: {
      byId(id: number, options?: Record<string, unknown>): Promise<Page>;
      find(filterType: string, filterValues: unknown[], options?: Record<string, unknown>): Promise<Page>;
      createOrUpdate(input: Record<string, unknown>[], options?: Record<string, unknown>): Promise<Page>;
    };
    activities: { getActivityTypes(): Promise<Page> };
    _connection: { get(path: string, options: { query: Record<string, unknown> }): Promise<Page> };
  }
  export default Marketo;
}
