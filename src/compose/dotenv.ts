// `.env` files as Docker Compose reads them (the project's `.env`, `--env-file`, a service's
// `env_file`): `NAME=VALUE` lines, an optional `export ` before the name, `#` comments, single
// quotes (literal), double quotes (with \n, \t, \\ and \" escapes, and `${...}` interpolation),
// unquoted values (trimmed, ` #` starts a comment, `${...}` interpolated). A bare `NAME` takes
// the variable from the environment when it is set there.
import { BoxError } from '../errors';
import { interpolate, Lookup } from './interpolate';

/** Files named on the command line or in a compose file are read with a cap, as `--env-file`'s. */
export const ENV_FILE_MAX = 4 * 1024 * 1024;

/**
 * The variables of a file's text, in order. `lookup` resolves `${...}` in values (the file's own
 * earlier variables are seen first) and bare names.
 */
export function parseDotenv(
  text: string,
  file: string,
  lookup: Lookup,
  warn: (msg: string) => void = () => undefined,
): Map<string, string> {
  const vars = new Map<string, string>();
  const seen: Lookup = (n) => vars.get(n) ?? lookup(n);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const line = lines[i].replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=?)\s*(.*)$/.exec(line);
    if (!m) throw new BoxError(`${where}: invalid line "${line}": expected NAME=VALUE`);
    const [, name, eq, raw] = m;
    if (!eq) {
      const v = lookup(name);
      if (v !== undefined) vars.set(name, v);
      continue;
    }
    const q = raw[0];
    if (q === "'" || q === '"') {
      // a quoted value may span lines, up to its closing quote
      let body = raw.slice(1);
      let end = closingQuote(body, q);
      while (end < 0 && i + 1 < lines.length) {
        body += '\n' + lines[++i].replace(/\r$/, '');
        end = closingQuote(body, q);
      }
      if (end < 0) throw new BoxError(`${where}: the value of ${name} has no closing ${q}`);
      const inner = body.slice(0, end);
      vars.set(name, q === "'" ? inner : interpolate(unescapeQuoted(inner), seen, where, warn));
    } else {
      const value = raw.replace(/\s+#.*$/, '').trim();
      vars.set(name, interpolate(value, seen, where, warn));
    }
  }
  return vars;
}

function closingQuote(s: string, q: string): number {
  for (let j = 0; j < s.length; j++) {
    if (q === '"' && s[j] === '\\') j++;
    else if (s[j] === q) return j;
  }
  return -1;
}

function unescapeQuoted(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}
