/** Entities `reconcile` compares, in the order it compares them (each may add Marketo keys the next ones look up). Import-free so the CLI can list them cheaply. */
export const RECONCILE_ENTITIES = ['persons', 'companies', 'salespersons', 'opportunities', 'roles', 'customObjects', 'programs', 'staticLists', 'activities'] as const;
