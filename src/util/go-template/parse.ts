// Go's text/template language, parsed: the lexer and parser that turn a `--format` template into a
// tree for exec.ts. Written here because no npm library implements the language faithfully (the
// candidates are partial, or bind Go itself through a native addon, which a single executable
// cannot carry). It follows Go's grammar: actions between {{ }}, trim markers {{- -}}, comments,
// pipelines with variables, if/else if/with/range/break/continue/define/template/block.

/** A template error in Go's wording: `template: NAME:LINE: what` (parsing), `NAME:LINE:COL: executing ...`. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface Pos {
  line: number;
  col: number;
  /** the text of the action or operand, for error messages (`at <.Foo>`) */
  text: string;
}

export type Operand =
  | { kind: 'field'; chain: string[]; pos: Pos } // .A.B; `.` alone has an empty chain
  | { kind: 'var'; name: string; chain: string[]; pos: Pos } // $x.A
  | { kind: 'func'; name: string; pos: Pos }
  | { kind: 'literal'; value: string | number | boolean | null; pos: Pos }
  | { kind: 'pipe'; pipe: Pipe; chain: string[]; pos: Pos }; // (pipeline).A

export interface Command {
  args: Operand[];
  pos: Pos;
}

export interface Pipe {
  /** variables declared (:=) or assigned (=) by the pipeline */
  vars: string[];
  assign: boolean;
  commands: Command[];
  pos: Pos;
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with' | 'range'; pipe: Pipe; body: Node[]; otherwise?: Node[] }
  | { kind: 'template'; name: string; pipe?: Pipe; pos: Pos }
  | { kind: 'break' | 'continue'; pos: Pos };

export interface Parsed {
  root: Node[];
  /** templates from {{define}} and {{block}} */
  defined: Map<string, Node[]>;
}

type TokKind = 'field' | 'var' | 'ident' | 'string' | 'number' | 'char' | '(' | ')' | '|' | ':=' | '=' | ',' | 'end';

interface Tok {
  kind: TokKind;
  text: string;
  value?: string | number;
  spaceBefore: boolean;
  pos: Pos;
}

// Go's number literals: decimal, float with exponent, 0x, 0b, 0o, with _ between digits
const NUMBER = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9]+)?)/;

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

/** One piece of the template: literal text or the tokens of one action. */
type Piece = { kind: 'text'; text: string } | { kind: 'action'; toks: Tok[]; pos: Pos };

/** Go's position of a byte: 1-based line, and the byte's offset within its line (0-based, as Go's). */
function lineCol(src: string, at: number): { line: number; col: number } {
  const before = src.slice(0, at);
  const line = before.split('\n').length;
  return { line, col: at - (before.lastIndexOf('\n') + 1) };
}

function unquote(raw: string, fail: (m: string) => never): string {
  if (raw.startsWith('`')) return raw.slice(1, -1);
  const body = raw.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07' };
    if (e in simple) out += simple[e];
    else if (e === 'b') out += '\b';
    else if (e === 'f') out += '\f';
    else if (e === 'v') out += '\v';
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail(`invalid syntax in ${raw}`);
      out += e === 'x' ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else fail(`invalid escape \\${e} in ${raw}`);
  }
  return out;
}

/** Splits the source into text and actions, applying trim markers and dropping comments. */
function lex(src: string, name: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  const fail = (at: number, m: string): never => {
    // Go's parse errors name the line only; the message names the token
    throw new TemplateError(`template: ${name}:${lineCol(src, at).line}: ${m}`);
  };
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      pieces.push({ kind: 'text', text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let j = open + 2;
    // `{{- ` trims the white space before it (the dash must be followed by white space)
    if (src[j] === '-' && /\s/.test(src[j + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      j += 2;
    }
    if (text) pieces.push({ kind: 'text', text });
    while (/\s/.test(src[j] ?? '')) j++;
    let trimAfter = false;
    const closeAt = (k: number): number | undefined => {
      if (src.startsWith(' -}}', k) || src.startsWith('\t-}}', k) || src.startsWith('\n-}}', k)) {
        trimAfter = true;
        return k + 4;
      }
      return src.startsWith('}}', k) ? k + 2 : undefined;
    };
    if (src.startsWith('/*', j)) {
      const end = src.indexOf('*/', j + 2);
      if (end < 0) fail(open, 'unclosed comment');
      let k = end + 2;
      while (/\s/.test(src[k] ?? '') && !src.startsWith(' -}}', k)) k++;
      const after = closeAt(k);
      if (after === undefined) fail(k, 'comment ends before closing delimiter');
      i = after as number;
    } else {
      const toks: Tok[] = [];
      let k = j;
      let space = false;
      let after: number | undefined;
      for (;;) {
        if (k >= src.length) fail(open, 'unclosed action');
        after = closeAt(k);
        if (after !== undefined) break;
        const c = src[k];
        const pos = (): Pos => ({ ...lineCol(src, k), text: '' });
        if (/\s/.test(c)) {
          k++;
          space = true;
          continue;
        }
        const start = k;
        const push = (kind: TokKind, end: number, value?: string | number) => {
          const text = src.slice(start, end);
          toks.push({ kind, text, value, spaceBefore: space, pos: { ...pos(), text } });
          space = false;
          k = end;
        };
        const word = /^[A-Za-z_][A-Za-z0-9_]*/;
        if (c === '.' && !/[0-9]/.test(src[k + 1] ?? '')) {
          const m = word.exec(src.slice(k + 1));
          push('field', k + 1 + (m ? m[0].length : 0), m ? m[0] : '');
        } else if (c === '$') {
          const m = word.exec(src.slice(k + 1));
          push('var', k + 1 + (m ? m[0].length : 0));
        } else if (c === '"' || c === '`') {
          const re = c === '"' ? /^"(?:[^"\\\n]|\\.)*"/ : /^`[^`]*`/;
          const m = re.exec(src.slice(k));
          if (!m) fail(k, 'unterminated quoted string');
          push(
            'string',
            k + m![0].length,
            unquote(m![0], (msg) => fail(k, msg)),
          );
        } else if (c === "'") {
          const m = /^'(?:[^'\\\n]|\\.[^']*)'/.exec(src.slice(k));
          if (!m) fail(k, 'unterminated character constant');
          const ch = unquote(`"${m![0].slice(1, -1)}"`, (msg) => fail(k, msg));
          push('char', k + m![0].length, ch.codePointAt(0) ?? 0);
        } else if (/[0-9+\-.]/.test(c)) {
          const m = NUMBER.exec(src.slice(k));
          const t = m ? m[0] : '';
          const digits = t
            .replace(/_/g, '')
            .replace(/^[+-]/, '')
            .replace(/^0[oO]/, '0o');
          const n = (t.startsWith('-') ? -1 : 1) * Number(digits);
          if (!/[0-9]/.test(t) || Number.isNaN(n)) fail(k, `bad number syntax: "${t || c}"`);
          push('number', k + t.length, n);
        } else if (word.test(src.slice(k))) {
          push('ident', k + word.exec(src.slice(k))![0].length);
        } else if (src.startsWith(':=', k)) push(':=', k + 2);
        else if ('()|=,'.includes(c)) push(c as TokKind, k + 1);
        else fail(k, `unexpected "${c}" in command`);
      }
      const { line, col } = lineCol(src, open);
      pieces.push({ kind: 'action', toks, pos: { line, col, text: src.slice(open, after) } });
      i = after as number;
    }
    if (trimAfter) {
      const m = /^\s*/.exec(src.slice(i));
      i += m ? m[0].length : 0;
    }
  }
  return pieces;
}

/** Parses a template; `funcs` are the function names it may call (Go checks them at parse time). */
export function parse(src: string, funcs: ReadonlySet<string>, name = ''): Parsed {
  const pieces = lex(src, name);
  const defined = new Map<string, Node[]>();
  let at = 0;
  // the variables in scope, as Go checks them while parsing: `$`, then each declaration until the
  // {{end}} of the control structure it is in
  let scope = ['$'];
  const fail = (pos: Pos, m: string): never => {
    throw new TemplateError(`template: ${name}:${pos.line}: ${m}`);
  };

  /** Parses nodes until an action starting with one of `stops`; returns the nodes and that action. */
  function list(stops: string[], opener?: Pos): { nodes: Node[]; stop?: Tok[] } {
    const nodes: Node[] = [];
    while (at < pieces.length) {
      const p = pieces[at++];
      if (p.kind === 'text') {
        nodes.push({ kind: 'text', text: p.text });
        continue;
      }
      const [first] = p.toks;
      if (!first) fail(p.pos, 'missing value for command');
      const kw = first.kind === 'ident' && KEYWORDS.has(first.text) ? first.text : undefined;
      if (kw && stops.includes(kw)) return { nodes, stop: p.toks };
      if (kw === 'end' || kw === 'else') fail(first.pos, `unexpected {{${kw}}}`);
      if (kw === 'if' || kw === 'with' || kw === 'range') nodes.push(control(kw, p.toks.slice(1), p.pos));
      else if (kw === 'break' || kw === 'continue') {
        if (p.toks.length > 1) fail(p.toks[1].pos, `unexpected ${p.toks[1].text} in {{${kw}}}`);
        nodes.push({ kind: kw, pos: first.pos });
      } else if (kw === 'template' || kw === 'block') {
        const nameTok = p.toks[1];
        if (nameTok?.kind !== 'string') fail(first.pos, `unexpected name in ${kw} clause`);
        const rest = p.toks.slice(2);
        const pipe = rest.length ? pipeline(rest, p.pos) : undefined;
        if (kw === 'block') {
          const body = ownScope(() => list(['end'], p.pos));
          if (body.stop?.length !== 1) fail(p.pos, `unexpected EOF in block`);
          defined.set(String(nameTok.value), body.nodes);
        }
        nodes.push({ kind: 'template', name: String(nameTok.value), pipe, pos: first.pos });
      } else if (kw === 'define') {
        const nameTok = p.toks[1];
        if (nameTok?.kind !== 'string' || p.toks.length > 2) fail(first.pos, 'unexpected name in define clause');
        const body = ownScope(() => list(['end'], p.pos));
        if (!body.stop) fail(p.pos, 'unexpected EOF');
        defined.set(String(nameTok.value), body.nodes);
      } else nodes.push({ kind: 'action', pipe: pipeline(p.toks, p.pos) });
    }
    if (opener) fail(opener, 'unexpected EOF');
    return { nodes };
  }

  /** A defined template's body sees only `$`. */
  function ownScope<T>(parseBody: () => T): T {
    const outer = scope;
    scope = ['$'];
    try {
      return parseBody();
    } finally {
      scope = outer;
    }
  }

  function control(kw: 'if' | 'with' | 'range', toks: Tok[], pos: Pos): Node {
    const mark = scope.length;
    try {
      return controlIn(kw, toks, pos);
    } finally {
      scope.length = mark; // its variables end with it
    }
  }

  function controlIn(kw: 'if' | 'with' | 'range', toks: Tok[], pos: Pos): Node {
    const pipe = pipeline(toks, pos, kw === 'range');
    if (!pipe.commands.length) fail(pos, `missing value for ${kw}`);
    const body = list(['end', 'else'], pos);
    let otherwise: Node[] | undefined;
    const stop = body.stop!;
    if (stop[0].text === 'else') {
      if (stop.length > 1) {
        // {{else if ...}} and {{else with ...}}: the rest of the chain, sharing this {{end}}
        // Go allows the same keyword only: else if inside if, else with inside with
        if (stop[1].kind !== 'ident' || stop[1].text !== kw || kw === 'range')
          fail(stop[1].pos, `unexpected ${stop[1].text} after else`);
        otherwise = [control(kw, stop.slice(2), pos)];
        return { kind: kw, pipe, body: body.nodes, otherwise };
      }
      const rest = list(['end'], pos);
      if (rest.stop!.length > 1) fail(rest.stop![1].pos, 'unexpected token in end');
      otherwise = rest.nodes;
    } else if (stop.length > 1) fail(stop[1].pos, 'unexpected token in end');
    return { kind: kw, pipe, body: body.nodes, otherwise };
  }

  function pipeline(toks: Tok[], pos: Pos, isRange = false): Pipe {
    let i = 0;
    const vars: string[] = [];
    let assign = false;
    // $x := ..., $i, $e := ... (range), $x = ...
    const declEnd = toks.findIndex((t) => t.kind === ':=' || t.kind === '=');
    if (declEnd > 0 && toks.slice(0, declEnd).every((t, n) => (n % 2 === 0 ? t.kind === 'var' : t.kind === ','))) {
      for (let n = 0; n < declEnd; n += 2) vars.push(toks[n].text);
      if (vars.length > (isRange ? 2 : 1)) fail(toks[0].pos, 'too many declarations');
      assign = toks[declEnd].kind === '=';
      for (const v of vars) {
        if (!assign) scope.push(v);
        else if (!scope.includes(v)) fail(toks[0].pos, `undefined variable "${v}"`);
      }
      i = declEnd + 1;
    }
    const commands: Command[] = [];
    let args: Operand[] = [];
    let cmdPos: Pos = toks[i]?.pos ?? pos;
    const endCommand = (t?: Tok) => {
      if (!args.length) fail(t?.pos ?? pos, 'missing value for command');
      commands.push({ args, pos: cmdPos });
      args = [];
    };
    for (; i < toks.length; i++) {
      const t = toks[i];
      if (t.kind === '|') {
        endCommand(t);
        cmdPos = toks[i + 1]?.pos ?? t.pos;
        continue;
      }
      if (args.length && !t.spaceBefore && t.kind !== ')') fail(t.pos, `missing space before ${t.text}`);
      const r = operand(toks, i);
      args.push(r.op);
      i = r.next - 1;
    }
    if (args.length || commands.length || vars.length) endCommand();
    // a literal or variable cannot take arguments; only the last command can receive a piped value
    for (const [n, c] of commands.entries()) {
      const head = c.args[0];
      if (n > 0 && head.kind === 'literal') fail(head.pos, `non executable command in pipeline stage ${n + 1}`);
    }
    return { vars, assign, commands, pos };
  }

  function chainAfter(toks: Tok[], i: number): { chain: string[]; next: number } {
    const chain: string[] = [];
    while (toks[i]?.kind === 'field' && !toks[i].spaceBefore && toks[i].value) chain.push(String(toks[i++].value));
    return { chain, next: i };
  }

  function operand(toks: Tok[], i: number): { op: Operand; next: number } {
    const t = toks[i];
    switch (t.kind) {
      case 'field': {
        const first = t.value ? [String(t.value)] : [];
        const rest = chainAfter(toks, i + 1);
        const text = toks
          .slice(i, rest.next)
          .map((x) => x.text)
          .join('');
        return { op: { kind: 'field', chain: [...first, ...rest.chain], pos: { ...t.pos, text } }, next: rest.next };
      }
      case 'var': {
        if (!scope.includes(t.text)) fail(t.pos, `undefined variable "${t.text}"`);
        const rest = chainAfter(toks, i + 1);
        const text = toks
          .slice(i, rest.next)
          .map((x) => x.text)
          .join('');
        return { op: { kind: 'var', name: t.text, chain: rest.chain, pos: { ...t.pos, text } }, next: rest.next };
      }
      case 'string':
      case 'number':
      case 'char':
        return { op: { kind: 'literal', value: t.value!, pos: t.pos }, next: i + 1 };
      case 'ident': {
        if (t.text === 'true' || t.text === 'false')
          return { op: { kind: 'literal', value: t.text === 'true', pos: t.pos }, next: i + 1 };
        if (t.text === 'nil') return { op: { kind: 'literal', value: null, pos: t.pos }, next: i + 1 };
        if (KEYWORDS.has(t.text)) fail(t.pos, `unexpected <${t.text}> in command`);
        if (!funcs.has(t.text)) fail(t.pos, `function "${t.text}" not defined`);
        return { op: { kind: 'func', name: t.text, pos: t.pos }, next: i + 1 };
      }
      case '(': {
        let depth = 0;
        let j = i;
        for (; j < toks.length; j++) {
          if (toks[j].kind === '(') depth++;
          if (toks[j].kind === ')' && --depth === 0) break;
        }
        if (j >= toks.length) fail(t.pos, 'unclosed left paren');
        const inner = pipeline(toks.slice(i + 1, j), t.pos);
        if (inner.vars.length) fail(t.pos, 'declaration inside parentheses');
        const rest = chainAfter(toks, j + 1);
        const text = toks
          .slice(i, rest.next)
          .map((x) => x.text)
          .join(' ');
        return { op: { kind: 'pipe', pipe: inner, chain: rest.chain, pos: { ...t.pos, text } }, next: rest.next };
      }
      default:
        return fail(t.pos, `unexpected "${t.text}" in operand`);
    }
  }

  const { nodes } = list([]);
  return { root: nodes, defined };
}
