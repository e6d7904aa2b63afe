// Strict reading of a JSON document field by field, for the OCI bundle's config.json: each getter
// names the field it reads (`process.user.uid`), every object must say which of its fields box
// honours and which it refuses, and a field nobody listed is an error. So nothing in a config is
// ever silently ignored.
import { BoxError } from '../errors';

export class SpecFieldError extends BoxError {
  constructor(field: string, problem: string) {
    super(`config.json: ${field}: ${problem}`);
  }
}

export type Json = unknown;

/** An object's fields: those box honours, and those it refuses (with why) when they hold a value. */
export interface FieldRules {
  honoured: readonly string[];
  /** field → why box cannot honour it; allowed only when it asks for nothing (isEmpty) */
  refused?: Readonly<Record<string, string>>;
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Asks for nothing: absent, null, "", false, [], or an object whose every field is empty (dockerd writes blockIO's lists out empty). */
export function isEmpty(v: Json): boolean {
  if (v === undefined || v === null || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.values(v as object).every(isEmpty);
}

/** A JSON object checked against its rules; `field` names it in errors ("" for the document). */
export class Fields {
  readonly o: Record<string, Json>;

  constructor(
    v: Json,
    readonly field: string,
    rules: FieldRules,
  ) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new SpecFieldError(field || 'the document', `must be an object, not ${describe(v)}`);
    }
    this.o = v as Record<string, Json>;
    for (const [k, val] of Object.entries(this.o)) {
      if (rules.honoured.includes(k)) continue;
      const why = rules.refused && Object.hasOwn(rules.refused, k) ? rules.refused[k] : undefined;
      if (why === undefined)
        throw new SpecFieldError(this.name(k), 'unknown field (box-runc reads runtime-spec 1.0-1.3)');
      if (!isEmpty(val)) throw new SpecFieldError(this.name(k), why);
    }
  }

  name(k: string): string {
    return this.field ? `${this.field}.${k}` : k;
  }

  has(k: string): boolean {
    return this.o[k] !== undefined && this.o[k] !== null;
  }

  raw(k: string): Json {
    return this.o[k];
  }

  sub(k: string, rules: FieldRules): Fields | undefined {
    return this.has(k) ? new Fields(this.o[k], this.name(k), rules) : undefined;
  }

  str(k: string): string | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new SpecFieldError(this.name(k), `must be a string, not ${describe(v)}`);
    return v;
  }

  bool(k: string): boolean {
    const v = this.o[k];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new SpecFieldError(this.name(k), `must be true or false, not ${describe(v)}`);
    return v;
  }

  /** An integer in [min, max]. */
  int(k: string, min: number, max: number): number | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new SpecFieldError(this.name(k), `must be an integer from ${min} to ${max}, not ${describe(v)}`);
    }
    return v;
  }

  strings(k: string): string[] {
    const v = this.o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
      throw new SpecFieldError(this.name(k), `must be an array of strings, not ${describe(v)}`);
    }
    return v as string[];
  }

  /** An array of JSON values, each named `field[i]` for its reader. */
  list(k: string): { v: Json; field: string }[] {
    const v = this.o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new SpecFieldError(this.name(k), `must be an array, not ${describe(v)}`);
    return v.map((x, i) => ({ v: x, field: `${this.name(k)}[${i}]` }));
  }

  /** A map of strings to strings (annotations, sysctl). */
  stringMap(k: string): Record<string, string> {
    const v = this.o[k];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new SpecFieldError(this.name(k), `must be an object`);
    const out: Record<string, string> = {};
    for (const [key, val] of Object.entries(v as object)) {
      if (typeof val !== 'string') throw new SpecFieldError(`${this.name(k)}.${key}`, `must be a string`);
      out[key] = val;
    }
    return out;
  }
}
