import { MarketoError } from './envelope.js';

/**
 * Request parameters from the query string and a form body, as Marketo reads them: array
 * parameters may be repeated (`id=1&id=2`) or comma-separated (`id=1,2`). Every name a handler
 * reads is recorded, so the spec-conformance test can check it against the OpenAPI file.
 */
export class Params {
  private readonly values = new Map<string, string[]>();
  readonly reads = new Set<string>();

  add(name: string, value: string): void {
    const list = this.values.get(name);
    if (list) list.push(value);
    else this.values.set(name, [value]);
  }

  addAll(source: URLSearchParams): void {
    for (const [k, v] of source) this.add(k, v);
  }

  has(name: string): boolean {
    this.reads.add(name);
    return this.values.has(name);
  }

  /** Names present in the request (whether read or not). */
  names(): string[] {
    return [...this.values.keys()];
  }

  /** Reads without recording, for the dispatcher's own use (`_method`, `access_token`). */
  peek(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  string(name: string): string | undefined {
    this.reads.add(name);
    const v = this.values.get(name)?.[0];
    return v === undefined || v === '' ? undefined : v;
  }

  /** Repeated and comma-separated forms both yield one flat list; empty items dropped. */
  list(name: string): string[] | undefined {
    this.reads.add(name);
    const raw = this.values.get(name);
    if (!raw) return undefined;
    const out = raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
    return out.length ? out : undefined;
  }

  int(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new MarketoError('1003', `Invalid value for parameter '${name}'`);
    return Number(v);
  }

  intList(name: string): number[] | undefined {
    const l = this.list(name);
    if (!l) return undefined;
    return l.map((v) => {
      if (!/^-?\d+$/.test(v)) throw new MarketoError('1003', `Invalid value '${v}' for parameter '${name}'`);
      return Number(v);
    });
  }

  boolean(name: string): boolean | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new MarketoError('1003', `Invalid value for parameter '${name}'`);
  }
}
