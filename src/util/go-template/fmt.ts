// Go's fmt as text/template uses it: how a value prints ({{.}}, %v), print, println and printf.
// Values are JSON-like: strings, numbers, booleans, null (Go's nil), undefined (a missing value),
// arrays (slices), plain objects (maps) and objects marked with STRUCT (structs, see exec.ts).

/** Marks an object as a Go struct named by the value: a missing field is an error, not a missing key. */
export const STRUCT = Symbol('go-struct');

export type GoStruct = Record<string, unknown> & { [STRUCT]?: string };

export function structName(v: unknown): string | undefined {
  return typeof v === 'object' && v !== null ? (v as GoStruct)[STRUCT] : undefined;
}

/** The Go type a value stands for, as Go's error messages name it. */
export function goType(v: unknown): string {
  if (v === undefined) return 'invalid';
  if (v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'function') return 'func';
  return structName(v) ?? 'map[string]interface {}';
}

/** A number as Go's %v prints it: integers plainly, floats shortest with %g's exponent rule. */
function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(n);
}

/** The text of a value as {{.}} and %v give it. */
export function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(inner).join(' ')}]`;
  if (typeof v === 'function') return '<func>';
  const obj = v as GoStruct;
  const fields = Object.keys(obj).filter((k) => typeof obj[k] !== 'function');
  if (structName(v)) return `{${fields.map((k) => inner(obj[k])).join(' ')}}`;
  return `map[${fields
    .sort()
    .map((k) => `${k}:${inner(obj[k])}`)
    .join(' ')}]`;
}

/** Inside a slice or map, nil prints as <nil> and missing values do not occur. */
const inner = (v: unknown) => (v === undefined ? '<nil>' : printValue(v));

/** Go's fmt.Sprint: operands joined with a space where neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(a);
  });
  return out;
}

/** Go's fmt.Sprintln: operands always joined with a space, then a newline. */
export function sprintln(args: unknown[]): string {
  return args.map(printValue).join(' ') + '\n';
}

function quote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

function pad(s: string, width: number | undefined, flags: string): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes('-')) return s.padEnd(width);
  const zero = flags.includes('0') && /^[+-]?[0-9.]/.test(s);
  if (!zero) return s.padStart(width);
  const sign = /^[+-]/.test(s) ? s[0] : '';
  return sign + s.slice(sign.length).padStart(width - sign.length, '0');
}

function verb(v: string, arg: unknown, flags: string, prec: number | undefined): string {
  const bad = () => `%!${v}(${goType(arg)}=${printValue(arg)})`;
  const signed = (s: string, n: number) =>
    (n >= 0 && flags.includes('+') ? '+' : n >= 0 && flags.includes(' ') ? ' ' : '') + s;
  switch (v) {
    case 'v': {
      if (flags.includes('#') && typeof arg === 'string') return quote(arg);
      const s = printValue(arg);
      return typeof arg === 'number' ? signed(s, arg) : s;
    }
    case 's':
      if (typeof arg === 'string') return prec === undefined ? arg : [...arg].slice(0, prec).join('');
      return Array.isArray(arg) || typeof arg === 'object' ? printValue(arg) : bad();
    case 'q':
      if (typeof arg === 'string') return flags.includes('#') && !arg.includes('`') ? `\`${arg}\`` : quote(arg);
      if (typeof arg === 'number' && Number.isInteger(arg)) return `'${String.fromCodePoint(arg)}'`;
      return bad();
    case 'd':
      return typeof arg === 'number' && Number.isInteger(arg) ? signed(String(arg), arg) : bad();
    case 't':
      return typeof arg === 'boolean' ? String(arg) : bad();
    case 'c':
      return typeof arg === 'number' && Number.isInteger(arg) ? String.fromCodePoint(arg) : bad();
    case 'x':
    case 'X': {
      let s: string;
      if (typeof arg === 'number' && Number.isInteger(arg)) s = (arg < 0 ? '-' : '') + Math.abs(arg).toString(16);
      else if (typeof arg === 'string') s = Buffer.from(arg).toString('hex');
      else return bad();
      if (flags.includes('#')) s = s.replace(/^(-?)/, '$10x');
      return v === 'X' ? s.toUpperCase() : s;
    }
    case 'o':
    case 'b':
      if (typeof arg !== 'number' || !Number.isInteger(arg)) return bad();
      return arg.toString(v === 'o' ? 8 : 2);
    case 'f':
    case 'F':
    case 'e':
    case 'g': {
      if (typeof arg !== 'number') return bad();
      let s: string;
      if (v === 'e') s = arg.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
      else if (v === 'g') s = prec === undefined ? formatNumber(arg) : String(Number(arg.toPrecision(prec)));
      else s = arg.toFixed(prec ?? 6);
      return signed(s, arg);
    }
    default:
      return `%!${v}(${goType(arg)}=${printValue(arg)})`;
  }
}

/** Go's fmt.Sprintf for the verbs templates use (%v %s %q %d %t %c %x %X %o %b %f %e %g), with flags and width. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let n = 0;
  const spec = /%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d+)?)?([a-zA-Z%])/y;
  for (let i = 0; i < format.length; ) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    spec.lastIndex = pct;
    const m = spec.exec(format);
    if (!m) {
      out += '%!(NOVERB)';
      break;
    }
    i = spec.lastIndex;
    const [, flags, w, p, v] = m;
    if (v === '%') {
      out += '%';
      continue;
    }
    const star = (x: string | undefined) => (x === '*' ? Number(args[n++]) : x === undefined ? undefined : Number(x));
    const width = star(w);
    const prec = m[0].includes('.') ? (star(p) ?? 0) : undefined;
    if (n >= args.length) {
      out += `%!${v}(MISSING)`;
      continue;
    }
    out += pad(verb(v, args[n++], flags, prec), width, flags);
  }
  if (n < args.length)
    out += `%!(EXTRA ${args
      .slice(n)
      .map((a) => `${goType(a)}=${printValue(a)}`)
      .join(', ')})`;
  return out;
}
