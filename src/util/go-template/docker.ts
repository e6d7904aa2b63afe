// The functions Docker's CLI adds to Go's templates (docker/cli templates package): json, split,
// join, title, lower, upper, truncate, pad, println; and the variants a table's header row is run
// with, which give the header text back unchanged (`{{upper .Names}}` still heads its column NAMES).
import { FuncError, TemplateFunc } from './exec';
import { goType, sprintln } from './fmt';

function str(v: unknown): string {
  if (typeof v !== 'string') throw new FuncError(`wrong type for value; expected string; got ${goType(v)}`);
  return v;
}

function int(v: unknown): number {
  if (!Number.isInteger(v)) throw new FuncError(`wrong type for value; expected int; got ${goType(v)}`);
  return v as number;
}

/** JSON as Go's encoder writes it with HTML escaping off: like JSON.stringify, but U+2028/9 escaped. */
export function goJson(v: unknown): string {
  return (JSON.stringify(v === undefined ? null : v) ?? 'null').replace(
    /[\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

export const DOCKER_FUNCS: Record<string, TemplateFunc> = {
  json: goJson,
  split: (s, sep) => str(s).split(str(sep)),
  join: (list, sep) => {
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))
      throw new FuncError(`wrong type for value; expected []string; got ${goType(list)}`);
    return list.join(str(sep));
  },
  // strings.Title: the first letter of each word upper-cased (a word follows anything not a letter,
  // digit or underscore)
  title: (s) => str(s).replace(/(^|[^\p{L}\p{N}_])(\p{L})/gu, (_, sep, c) => sep + c.toUpperCase()),
  lower: (s) => str(s).toLowerCase(),
  upper: (s) => str(s).toUpperCase(),
  truncate: (s, n) => {
    const chars = [...str(s)];
    return chars.length < int(n) ? chars.join('') : chars.slice(0, int(n)).join('');
  },
  pad: (s, prefix, suffix) => {
    const text = str(s);
    return text === '' ? '' : ' '.repeat(int(prefix)) + text + ' '.repeat(int(suffix));
  },
  println: (...a) => sprintln(a),
};

const same = (v: unknown) => v;

/** The header row's functions: each gives back the header text it is handed. */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  ...DOCKER_FUNCS,
  json: same,
  split: same,
  join: same,
  title: same,
  lower: same,
  upper: same,
  truncate: same,
};

export const FUNC_NAMES: ReadonlySet<string> = new Set(Object.keys(DOCKER_FUNCS));
