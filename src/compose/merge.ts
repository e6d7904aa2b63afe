// Merging compose files (`-f a.yaml -f b.yaml`, and `extends`) by the specification's rules,
// applied to the files' long forms (shape.ts): mappings merge key by key, sequences append,
// except `command`, `entrypoint` and `healthcheck.test`, which the later file replaces, and the
// unique resources `ports`, `volumes`, `secrets` and `configs`, where a later entry replaces an
// earlier one with the same key. `!reset` removes a value, `!override` replaces it unmerged.
import { isPlainObject } from './interpolate';
import { Override, Reset } from './tags';

const REPLACED = new Set(['command', 'entrypoint']);

/** The unique key of an entry of a service's unique-resource sequence, by the sequence's name. */
const UNIQUE_KEY: Record<string, (entry: Record<string, unknown>) => string> = {
  ports: (p) => `${p.host_ip ?? ''}:${p.published ?? ''}:${p.target}/${p.protocol ?? 'tcp'}`,
  volumes: (v) => String(v.target),
  secrets: (s) => String(s.target ?? s.source),
  configs: (c) => String(c.target ?? c.source),
};

/** `over` merged onto `base`; `path` is where the value sits ("services", "web", "ports"). */
export function mergeValues(base: unknown, over: unknown, path: string[]): unknown {
  if (over instanceof Reset) return undefined;
  if (over instanceof Override) return stripTags(over.value);
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const merged = k in base ? mergeValues(base[k], v, [...path, k]) : stripTags(v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    const key = path.length === 3 && path[0] === 'services' ? path[2] : '';
    if (REPLACED.has(key) || (path.at(-1) === 'test' && path.at(-2) === 'healthcheck')) return stripTags(over);
    const unique = UNIQUE_KEY[key];
    if (unique) {
      const replaced = new Set(over.filter(isPlainObject).map(unique));
      return [...base.filter((e) => !isPlainObject(e) || !replaced.has(unique(e))), ...over.map(stripTags)];
    }
    return [...base, ...over.map(stripTags)];
  }
  return stripTags(over);
}

/** A value with its merge tags resolved as if there were nothing under it: `!reset` goes. */
export function stripTags(v: unknown): unknown {
  if (v instanceof Reset) return undefined;
  if (v instanceof Override) return stripTags(v.value);
  if (Array.isArray(v)) return v.map(stripTags).filter((e) => e !== undefined);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      const s = stripTags(e);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  return v;
}
