import { escapeIdentifier } from 'pg';

/**
 * SQL identifiers that reach DDL or DML (table and column names) come from Describe results and
 * mapping files, i.e. from outside. They are checked against a strict pattern and then quoted,
 * so a name like `x"; drop table leads; --` is refused before any SQL is built.
 */
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

export class InvalidIdentifierError extends Error {
  constructor(
    readonly identifier: string,
    readonly what: string,
  ) {
    super(`invalid ${what} ${JSON.stringify(identifier)}: expected a letter then letters, digits or _ (at most 63 characters)`);
    this.name = 'InvalidIdentifierError';
  }
}

export function isValidIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

export function assertIdentifier(name: string, what = 'identifier'): string {
  if (!IDENTIFIER.test(name)) throw new InvalidIdentifierError(name, what);
  return name;
}

/** Validates, then quotes: quoting alone would already be safe, validation keeps names sane. */
export function quoteIdent(name: string, what = 'identifier'): string {
  return escapeIdentifier(assertIdentifier(name, what));
}

export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema, 'schema name')}.${quoteIdent(name, 'table name')}`;
}

/** `favoriteColor` → `favorite_color`: the column a Marketo field gets when it is provisioned. */
export function toColumnName(marketoName: string): string {
  assertIdentifier(marketoName, 'field name');
  const snake = marketoName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
  return assertIdentifier(snake, 'column name');
}
