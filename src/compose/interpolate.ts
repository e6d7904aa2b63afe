// Variable interpolation in compose files, as the compose specification defines it: `$VAR`,
// `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
// `${VAR:+replacement}`, `${VAR+replacement}` (defaults and replacements may hold further
// interpolation) and `$$` for a literal `$`. Applied to every string value of a file, never keys.
import { BoxError } from '../errors';
import { Override } from './tags';

/** A variable's value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * The string with every variable replaced. `where` names the value in errors (file and key);
 * `warn` hears about unset variables without a default, which become empty strings as in Docker
 * Compose.
 */
export function interpolate(text: string, lookup: Lookup, where: string, warn: (msg: string) => void): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2, where);
      out += expandBraced(text.slice(i + 2, end), lookup, where, warn);
      i = end + 1;
    } else {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(text);
      if (!m) {
        out += '$'; // a lone `$` stays itself
        i++;
        continue;
      }
      out += variable(m[0], lookup, warn);
      i = NAME.lastIndex;
    }
  }
  return out;
}

/** The index of the `}` that closes the `${` whose body starts at `from` (nested `${...}` skipped). */
function closingBrace(text: string, from: number, where: string): number {
  let depth = 1;
  for (let j = from; j < text.length; j++) {
    if (text[j] === '$' && text[j + 1] === '$') j++;
    else if (text[j] === '$' && text[j + 1] === '{') {
      depth++;
      j++;
    } else if (text[j] === '}' && --depth === 0) return j;
  }
  throw new BoxError(`invalid interpolation format for ${where}: "${text}" has a "\${" without its "}"`);
}

function variable(name: string, lookup: Lookup, warn: (msg: string) => void): string {
  const v = lookup(name);
  if (v === undefined) warn(`the "${name}" variable is not set: defaulting to a blank string`);
  return v ?? '';
}

/** The body of `${...}`: a name, then optionally one operator and its argument. */
function expandBraced(body: string, lookup: Lookup, where: string, warn: (msg: string) => void): string {
  NAME.lastIndex = 0;
  const m = NAME.exec(body);
  const bad = () =>
    new BoxError(`invalid interpolation format for ${where}: "\${${body}}" (use \${NAME}, \${NAME:-default}, ...)`);
  if (!m) throw bad();
  const name = m[0];
  const rest = body.slice(name.length);
  if (rest === '') return variable(name, lookup, warn);
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[1];
  if (!op) throw bad();
  const arg = () => interpolate(rest.slice(op.length), lookup, where, warn);
  const value = lookup(name);
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  switch (op) {
    case ':-':
      return nonEmpty ? value : arg();
    case '-':
      return set ? value : arg();
    case ':+':
      return nonEmpty ? arg() : '';
    case '+':
      return set ? arg() : '';
    default: {
      if (op === ':?' ? nonEmpty : set) return value!;
      const why = arg();
      throw new BoxError(`required variable ${name} is missing a value${why ? `: ${why}` : ''} (in ${where})`);
    }
  }
}

/**
 * Every string in a parsed YAML tree interpolated (keys are left alone). `path` names the tree's
 * place for errors, e.g. "compose.yaml: services.web".
 */
export function interpolateTree(value: unknown, lookup: Lookup, path: string, warn: (msg: string) => void): unknown {
  if (typeof value === 'string') return interpolate(value, lookup, path, warn);
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, lookup, `${path}[${i}]`, warn));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateTree(v, lookup, path ? `${path}.${k}` : k, warn);
    return out;
  }
  if (value instanceof Override) return new Override(interpolateTree(value.value, lookup, path, warn));
  return value; // numbers, booleans, null, !reset
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}
