// The Dockerfile language, read into instructions (no variable is expanded here: that needs the
// build's state, src/build/substitute.ts). Docker's rules: parser directives (`# escape=`,
// `# syntax=`) only before anything else, comment lines dropped (also inside a continuation),
// a line ending with the escape character continues on the next, heredocs (`<<EOF`) on RUN and COPY.
import { BoxError } from '../errors';

export interface Heredoc {
  /** the terminator word */
  name: string;
  body: string;
  /** `<<-`: leading tabs stripped */
  stripTabs: boolean;
  /** `<<"EOF"` or `<<'EOF'`: no expansion in the body */
  quoted: boolean;
}

export interface Instruction {
  /** upper case: FROM, RUN, ... */
  keyword: string;
  /** line of the keyword, from 1 */
  line: number;
  /** `--name=value` flags before the arguments (`--chown=0:0`) */
  flags: Record<string, string>;
  /** the arguments as written, continuations joined, flags removed */
  args: string;
  /** the JSON (exec) form, when the arguments are a JSON array of strings */
  json?: string[];
  heredocs: Heredoc[];
  /** the instruction as history shows it */
  original: string;
}

export interface Dockerfile {
  file: string;
  escape: string;
  instructions: Instruction[];
}

export const INSTRUCTIONS = new Set([
  'FROM',
  'ARG',
  'ENV',
  'LABEL',
  'RUN',
  'COPY',
  'ADD',
  'WORKDIR',
  'USER',
  'EXPOSE',
  'VOLUME',
  'CMD',
  'ENTRYPOINT',
  'HEALTHCHECK',
  'STOPSIGNAL',
  'SHELL',
  'ONBUILD',
  'MAINTAINER',
]);
/** Instructions whose arguments may be the JSON form. */
const JSON_FORMS = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME', 'HEALTHCHECK']);
/** The flags each instruction takes (others are an error naming these). */
const FLAGS: Record<string, string[]> = {
  FROM: ['platform'],
  RUN: ['network', 'mount', 'security'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  ADD: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

/** An error in a Dockerfile: the file, the line, what is wrong and what to do. */
export function dockerfileError(file: string, line: number, message: string): BoxError {
  return new BoxError(`${file}:${line}: ${message}`);
}

/** Reads the directives at the top of the file; returns the escape character. */
function readDirectives(lines: string[], file: string): { escapeChar: string; from: number } {
  let escapeChar = '\\';
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[i]);
    if (!m) break;
    const name = m[1].toLowerCase();
    if (name !== 'escape' && name !== 'syntax' && name !== 'check') break; // an ordinary comment
    if (seen.has(name)) throw dockerfileError(file, i + 1, `the "${name}" directive is given twice: keep one`);
    seen.add(name);
    if (name === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`')
        throw dockerfileError(file, i + 1, `invalid escape character "${m[2]}": use \\ or \``);
      escapeChar = m[2];
    }
  }
  return { escapeChar, from: i };
}

/** The heredoc markers (`<<EOF`, `<<-"EOF"`) in an instruction's arguments. */
function heredocMarkers(args: string): { name: string; stripTabs: boolean; quoted: boolean }[] {
  const out: { name: string; stripTabs: boolean; quoted: boolean }[] = [];
  for (const m of args.matchAll(/<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g)) {
    out.push({ name: m[3], stripTabs: m[1] === '-', quoted: m[2] !== '' });
  }
  return out;
}

function parseJsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* not JSON: the shell form, as Docker reads it */
  }
  return undefined;
}

/** Splits the leading `--flag=value` words off an instruction's arguments. */
function splitFlags(
  keyword: string,
  args: string,
  file: string,
  line: number,
): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const m = /^--([a-z][a-z-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    const allowed = FLAGS[keyword] ?? [];
    if (!allowed.includes(m[1])) {
      const takes = allowed.length ? `it takes ${allowed.map((f) => `--${f}`).join(', ')}` : 'it takes no flags';
      throw dockerfileError(file, line, `unknown flag --${m[1]} for ${keyword}: ${takes}`);
    }
    // --mount may be given several times; the others once (the last one wins, as in Docker)
    flags[m[1]] = m[1] === 'mount' && flags.mount ? `${flags.mount}\n${m[2] ?? ''}` : (m[2] ?? 'true');
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const { escapeChar, from } = readDirectives(lines, file);
  const instructions: Instruction[] = [];
  const isComment = (l: string) => /^\s*#/.test(l);
  let i = from;
  while (i < lines.length) {
    if (lines[i].trim() === '' || isComment(lines[i])) {
      i++;
      continue;
    }
    const start = i;
    let joined = '';
    // Continuations: a line ending with the escape character goes on; comments and blank
    // lines inside are skipped.
    for (;;) {
      const l = lines[i].replace(/\s+$/, '');
      i++;
      if (l.endsWith(escapeChar) && !l.endsWith(escapeChar + escapeChar)) {
        joined += l.slice(0, -1);
        while (i < lines.length && (isComment(lines[i]) || lines[i].trim() === '')) i++;
        if (i >= lines.length) break;
        continue;
      }
      joined += l;
      break;
    }
    const m = /^\s*(\S+)\s*(.*)$/s.exec(joined)!;
    const keyword = m[1].toUpperCase();
    if (!INSTRUCTIONS.has(keyword)) {
      throw dockerfileError(
        file,
        start + 1,
        `unknown instruction "${m[1]}": use one of ${[...INSTRUCTIONS].join(', ')}`,
      );
    }
    if (instructions.length === 0 && keyword !== 'FROM' && keyword !== 'ARG') {
      throw dockerfileError(
        file,
        start + 1,
        `${keyword} before FROM: a Dockerfile starts with FROM (ARG may come first)`,
      );
    }
    const { flags, rest } = splitFlags(keyword, m[2].trim(), file, start + 1);
    const heredocs: Heredoc[] = [];
    if (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') {
      for (const marker of heredocMarkers(rest)) {
        const body: string[] = [];
        let ended = false;
        while (i < lines.length && !ended) {
          const raw = marker.stripTabs ? lines[i].replace(/^\t+/, '') : lines[i];
          i++;
          if (raw === marker.name) ended = true;
          else body.push(raw);
        }
        if (!ended)
          throw dockerfileError(file, start + 1, `heredoc <<${marker.name} has no end: add a line "${marker.name}"`);
        heredocs.push({ ...marker, body: body.length ? body.join('\n') + '\n' : '' });
      }
    }
    const json = JSON_FORMS.has(keyword) && !heredocs.length ? parseJsonForm(rest) : undefined;
    if (rest === '' && keyword !== 'HEALTHCHECK') {
      throw dockerfileError(file, start + 1, `${keyword} needs arguments: see Docker's reference for ${keyword}`);
    }
    instructions.push({ keyword, line: start + 1, flags, args: rest, json, heredocs, original: joined.trim() });
  }
  if (!instructions.some((x) => x.keyword === 'FROM'))
    throw dockerfileError(file, Math.max(1, lines.length), 'no FROM instruction: start the Dockerfile with FROM IMAGE');
  return { file, escape: escapeChar, instructions };
}
