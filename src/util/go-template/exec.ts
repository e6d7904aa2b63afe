// Runs a parsed Go template (parse.ts) against JSON-like data, as Go's text/template does: fields and
// methods (a function-valued field is called with the action's arguments), variables and their
// scopes, if/with/range/else/break/continue, pipelines, and Go's built-in functions. A missing
// field or key is an error (`missingkey=error`, which is how Docker's commands run templates).
import { goType, printValue, sprint, sprintf, sprintln, STRUCT, structName } from './fmt';
import { Command, Node, Operand, Parsed, Pipe, Pos, TemplateError } from './parse';

/** An error a template function throws; exec.ts adds where it happened. */
export class FuncError extends Error {}

export type TemplateFunc = (...args: unknown[]) => unknown;

export interface ExecOptions {
  funcs: Record<string, TemplateFunc>;
  /** applied to the text each action prints (e.g. escaping control characters) */
  printed?: (s: string) => string;
  name?: string;
}

class Break {}
class Continue {}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !structName(v)) return Object.keys(v).length > 0;
  return true;
}

function needString(v: unknown): void {
  if (typeof v !== 'string') throw new FuncError(`wrong type for value; expected string; got ${goType(v)}`);
}

function basicKind(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return typeof v;
  if (v === null || v === undefined) return 'nil';
  throw new FuncError(`invalid type for comparison`);
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  if (!rest.length) throw new FuncError('missing argument for comparison');
  const ka = basicKind(a);
  return rest.some((b) => {
    const kb = basicKind(b);
    if (ka === 'nil' || kb === 'nil') return ka === kb;
    if (ka !== kb) throw new FuncError('incompatible types for comparison');
    return a === b;
  });
}

function lt(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === 'boolean' || ka === 'nil' || kb === 'boolean' || kb === 'nil')
    throw new FuncError('invalid type for comparison');
  if (ka !== kb) throw new FuncError('incompatible types for comparison');
  return (a as number | string) < (b as number | string);
}

function indexOne(item: unknown, key: unknown): unknown {
  if (Array.isArray(item) || typeof item === 'string') {
    if (!Number.isInteger(key)) throw new FuncError(`cannot index slice/array with type ${goType(key)}`);
    const n = key as number;
    if (n < 0 || n >= item.length) throw new FuncError(`index out of range: ${n}`);
    return typeof item === 'string' ? Buffer.from(item)[n] : item[n];
  }
  if (typeof item === 'object' && item !== null && !structName(item)) {
    if (typeof key !== 'string') throw new FuncError(`value has type ${goType(key)}; should be string`);
    const map = item as Record<string, unknown>;
    if (Object.hasOwn(map, key)) return map[key];
    // a missing key gives the map's zero value: "" in a map of strings (labels), no value otherwise
    return Object.values(map).every((x) => typeof x === 'string') ? '' : undefined;
  }
  if (item === null || item === undefined) throw new FuncError('index of untyped nil');
  throw new FuncError(`can't index item of type ${goType(item)}`);
}

function goLen(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object' && v !== null && !structName(v)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goType(v)}`);
}

function goSlice(v: unknown, ...idx: unknown[]): unknown {
  if (typeof v !== 'string' && !Array.isArray(v)) throw new FuncError(`can't slice item of type ${goType(v)}`);
  if (idx.length > 2) throw new FuncError('too many slice indexes');
  for (const i of idx) if (!Number.isInteger(i)) throw new FuncError('cannot index slice/array with nil');
  const [from = 0, to = v.length] = idx as number[];
  if (from < 0 || to > v.length || from > to) throw new FuncError(`index out of range: ${from}:${to}`);
  return v.slice(from, to);
}

const HTML: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  "'": '&#39;',
  '"': '&#34;',
  '\0': '\uFFFD',
};

/** Go's built-in template functions (and/or are evaluated lazily by the executor). */
export const BUILTINS: Record<string, TemplateFunc> = {
  and: () => undefined,
  or: () => undefined,
  not: (v) => !truth(v),
  len: goLen,
  index: (item, ...keys) => keys.reduce(indexOne, item),
  slice: goSlice,
  print: (...a) => sprint(a),
  println: (...a) => sprintln(a),
  printf: (f, ...a) => {
    needString(f);
    return sprintf(f as string, a);
  },
  eq,
  ne: (a, b) => !eq(a, b),
  lt: (a, b) => lt(a, b),
  le: (a, b) => lt(a, b) || eq(a, b),
  gt: (a, b) => !lt(a, b) && !eq(a, b),
  ge: (a, b) => !lt(a, b),
  html: (...a) => sprint(a).replace(/[<>&'"\0]/g, (c) => HTML[c]),
  js: (...a) =>
    sprint(a).replace(/[\\'"<>&=\n\r\t]/g, (c) =>
      c === '\\' || c === "'" || c === '"'
        ? `\\${c}`
        : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
    ),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+'),
};

interface Scope {
  vars: { name: string; value: unknown }[];
}

/** Runs `parsed` with `data` as dot; returns the text. Throws TemplateError with Go's wording. */
export function execute(parsed: Parsed, data: unknown, opts: ExecOptions): string {
  const name = opts.name ?? '';
  const printed = opts.printed ?? ((s: string) => s);
  let out = '';
  const fail = (pos: Pos, m: string): never => {
    throw new TemplateError(`template: ${name}:${pos.line}:${pos.col}: executing "${name}" at <${pos.text}>: ${m}`);
  };

  function field(recv: unknown, key: string, args: unknown[], pos: Pos, last: boolean): unknown {
    if (recv === null || recv === undefined) return fail(pos, `nil pointer evaluating ${goType(recv)}.${key}`);
    if (typeof recv !== 'object' || Array.isArray(recv))
      return fail(pos, `can't evaluate field ${key} in type ${goType(recv)}`);
    const obj = recv as Record<string, unknown>;
    if (!Object.hasOwn(obj, key)) {
      const type = structName(recv);
      return fail(pos, type ? `can't evaluate field ${key} in type ${type}` : `map has no entry for key "${key}"`);
    }
    const v = obj[key];
    if (typeof v === 'function') {
      try {
        return v.apply(obj, last ? args : []);
      } catch (e) {
        if (e instanceof FuncError) return fail(pos, `error calling ${key}: ${e.message}`);
        throw e;
      }
    }
    if (last && args.length) return fail(pos, `${key} has arguments but cannot be invoked as function`);
    return v;
  }

  function chain(recv: unknown, keys: string[], args: unknown[], pos: Pos): unknown {
    let v = recv;
    keys.forEach((k, i) => {
      v = field(v, k, args, pos, i === keys.length - 1);
    });
    return v;
  }

  function variable(scope: Scope, name: string, pos: Pos): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i].name === name) return scope.vars[i].value;
    return fail(pos, `undefined variable: ${name}`);
  }

  function operand(dot: unknown, scope: Scope, op: Operand): unknown {
    switch (op.kind) {
      case 'field':
        return op.chain.length ? chain(dot, op.chain, [], op.pos) : dot;
      case 'var':
        return chain(variable(scope, op.name, op.pos), op.chain, [], op.pos);
      case 'literal':
        return op.value;
      case 'pipe':
        return chain(pipeline(dot, scope, op.pipe), op.chain, [], op.pos);
      case 'func':
        return call(dot, scope, op.name, [], op.pos, undefined);
    }
  }

  function call(dot: unknown, scope: Scope, fn: string, argOps: Operand[], pos: Pos, piped: unknown[] | undefined) {
    if (fn === 'and' || fn === 'or') {
      const all = [...argOps.map((o) => () => operand(dot, scope, o)), ...(piped ?? []).map((p) => () => p)];
      if (!all.length) return fail(pos, `wrong number of args for ${fn}: want at least 1 got 0`);
      let v: unknown;
      for (const get of all) {
        v = get();
        if (truth(v) === (fn === 'or')) return v;
      }
      return v;
    }
    const f = opts.funcs[fn] ?? BUILTINS[fn];
    if (!f) return fail(pos, `function "${fn}" not defined`);
    const args = [...argOps.map((o) => operand(dot, scope, o)), ...(piped ?? [])];
    try {
      return f(...args);
    } catch (e) {
      if (e instanceof FuncError) return fail(pos, `error calling ${fn}: ${e.message}`);
      throw e;
    }
  }

  function command(dot: unknown, scope: Scope, cmd: Command, piped: unknown[] | undefined): unknown {
    const [head, ...rest] = cmd.args;
    const pos = { ...head.pos, text: cmd.pos.text || head.pos.text };
    if (head.kind === 'func') return call(dot, scope, head.name, rest, pos, piped);
    const args = [...rest.map((o) => operand(dot, scope, o)), ...(piped ?? [])];
    if (head.kind === 'field' && head.chain.length) return chain(dot, head.chain, args, head.pos);
    if (head.kind === 'var' && head.chain.length)
      return chain(variable(scope, head.name, head.pos), head.chain, args, head.pos);
    if (args.length) return fail(head.pos, `can't give argument to non-function ${head.pos.text}`);
    return operand(dot, scope, head);
  }

  function pipeline(dot: unknown, scope: Scope, pipe: Pipe): unknown {
    let v: unknown;
    pipe.commands.forEach((c, i) => {
      v = command(dot, scope, c, i === 0 ? undefined : [v]);
    });
    if (pipe.vars.length === 1 || (pipe.vars.length && !pipe.assign)) {
      if (pipe.assign) {
        const slot = [...scope.vars].reverse().find((x) => x.name === pipe.vars[0]);
        if (!slot) return fail(pipe.pos, `undefined variable: ${pipe.vars[0]}`);
        slot.value = v;
      } else scope.vars.push({ name: pipe.vars[pipe.vars.length - 1], value: v });
    }
    return v;
  }

  function block(nodes: Node[], dot: unknown, scope: Scope): void {
    const mark = scope.vars.length;
    try {
      for (const n of nodes) run(n, dot, scope);
    } finally {
      scope.vars.length = mark;
    }
  }

  function range(n: Extract<Node, { body: Node[] }>, dot: unknown, scope: Scope): void {
    const mark = scope.vars.length;
    const decl = n.pipe.vars;
    const v = pipeline(dot, { vars: [...scope.vars] }, { ...n.pipe, vars: [] });
    let items: [unknown, unknown][];
    if (Array.isArray(v)) items = v.map((x, i) => [i, x]);
    else if (typeof v === 'number' && Number.isInteger(v))
      items = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    else if (typeof v === 'object' && v !== null && !structName(v))
      items = Object.keys(v)
        .sort()
        .map((k) => [k, (v as Record<string, unknown>)[k]]);
    else if (v === null || v === undefined) items = [];
    else return void fail(n.pipe.pos, `range can't iterate over ${printValue(v)}`);
    if (!items.length) {
      if (n.otherwise) block(n.otherwise, dot, scope);
      return;
    }
    for (const [key, elem] of items) {
      if (decl.length === 1) scope.vars.push({ name: decl[0], value: elem });
      if (decl.length === 2) scope.vars.push({ name: decl[0], value: key }, { name: decl[1], value: elem });
      try {
        block(n.body, elem, scope);
      } catch (e) {
        if (e instanceof Break) break;
        if (!(e instanceof Continue)) throw e;
      } finally {
        scope.vars.length = mark;
      }
    }
  }

  function run(n: Node, dot: unknown, scope: Scope): void {
    switch (n.kind) {
      case 'text':
        out += n.text;
        return;
      case 'action': {
        const v = pipeline(dot, scope, n.pipe);
        if (!n.pipe.vars.length) out += printed(printValue(v));
        return;
      }
      case 'if':
      case 'with': {
        const mark = scope.vars.length;
        const v = pipeline(dot, scope, n.pipe);
        try {
          if (truth(v)) block(n.body, n.kind === 'with' ? v : dot, scope);
          else if (n.otherwise) block(n.otherwise, dot, scope);
        } finally {
          scope.vars.length = mark;
        }
        return;
      }
      case 'range':
        range(n, dot, scope);
        return;
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
      case 'template': {
        const body = parsed.defined.get(n.name);
        if (!body) return void fail(n.pos, `no such template "${n.name}"`);
        const arg = n.pipe ? pipeline(dot, scope, n.pipe) : undefined;
        block(body, arg, { vars: [{ name: '$', value: arg }] });
      }
    }
  }

  try {
    block(parsed.root, data, { vars: [{ name: '$', value: data }] });
  } catch (e) {
    if (e instanceof Break || e instanceof Continue)
      throw new TemplateError(`template: ${name}: {{break}} or {{continue}} outside {{range}}`);
    throw e;
  }
  return out;
}

export { STRUCT };
