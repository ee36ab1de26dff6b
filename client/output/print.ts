/**
 * One output convention for every command: with `--json` exactly one JSON document on stdout
 * (scripts parse it), otherwise human text; progress and service logs always go to stderr.
 */
export interface OutputOptions {
  json?: boolean;
}

export function printResult<T>(opts: OutputOptions, data: T, human: (data: T) => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const text = human(data);
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

export interface Column<R> {
  header: string;
  value: (row: R) => unknown;
  /** Right-align (numbers). */
  right?: boolean;
  /** Cut longer cells to this many characters. */
  max?: number;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** A plain text table: a header line, then one line per row, columns padded to their widest cell. */
export function table<R>(rows: readonly R[], columns: readonly Column<R>[]): string {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const s = cell(c.value(r)).replace(/\s+/g, ' ');
      return c.max && s.length > c.max ? `${s.slice(0, c.max - 1)}…` : s;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}
