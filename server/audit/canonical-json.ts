// Canonical JSON as RFC 8785 (JCS) defines it for the values the audit trail stores: object keys sorted by
// UTF-16 code units at every depth, no whitespace, ECMAScript number and string serialisation. Any JCS
// implementation (or `jq -cS` for ordinary text) reproduces these bytes, which is what lets an auditor
// recompute an event hash without Hotplane's code.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export class CanonicalJsonError extends TypeError {
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}; audit details must be plain JSON (objects, arrays, strings, finite numbers, booleans, null)`);
    this.name = 'CanonicalJsonError';
  }
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function encode(value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    out.push(JSON.stringify(value));
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `${value} has no JSON form`);
    out.push(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, index) => {
      if (index > 0) out.push(',');
      if (item === undefined) throw new CanonicalJsonError(`${path}[${index}]`, 'undefined inside an array');
      encode(item, `${path}[${index}]`, out);
    });
    out.push(']');
    return;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    // Properties set to undefined are left out, as JSON.stringify does, so callers can pass optional fields.
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    // Default sort compares UTF-16 code units, the order JCS prescribes.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    out.push('{');
    entries.forEach(([key, item], index) => {
      if (index > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      encode(item, `${path}.${key}`, out);
    });
    out.push('}');
    return;
  }
  const kind = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new CanonicalJsonError(path, `a ${kind} is not plain JSON`);
}

/** The canonical (JCS) text of a JSON value; throws CanonicalJsonError for anything JSON cannot carry exactly. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  encode(value, '$', out);
  return out.join('');
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
