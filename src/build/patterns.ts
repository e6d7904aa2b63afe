// Path patterns of Dockerfiles: COPY's wildcards (Go's filepath.Match per path segment) and
// .dockerignore's rules (the same, plus `**` for any number of segments and `!` exceptions; the
// last matching line decides, and a pattern that matches a directory excludes what is in it).
import * as path from 'node:path';
import { BoxError } from '../errors';

export const hasWildcard = (p: string) => /[*?[]/.test(p);

/** One segment's pattern (`*`, `?`, `[a-z]`, `[!x]`, `\` escapes) as a regular expression body. */
function segmentRegex(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < seg.length) out += escapeRe(seg[++i]);
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) throw new BoxError(`bad pattern "${seg}": a [ has no closing ]`);
      let cls = seg.slice(i + 1, end);
      if (cls.startsWith('!') || cls.startsWith('^')) cls = '^' + cls.slice(1);
      out += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else out += escapeRe(c);
  }
  return out;
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Whether one path segment matches one pattern segment. */
export function matchSegment(pattern: string, name: string): boolean {
  return new RegExp(`^${segmentRegex(pattern)}$`).test(name);
}

interface IgnoreRule {
  re: RegExp;
  exception: boolean;
}

/** .dockerignore's rules, read from its text. */
export class IgnoreRules {
  private readonly rules: IgnoreRule[];

  constructor(text: string) {
    this.rules = [];
    for (const raw of text.split('\n')) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const exception = line.startsWith('!');
      if (exception) line = line.slice(1).trim();
      line = path.posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
      if (line === '' || line === '.') continue;
      const body = line
        .split('/')
        .map((seg, i, all) => (seg === '**' ? (i === all.length - 1 ? '.*' : '(?:.*/)?') : segmentRegex(seg) + '/'))
        .join('')
        .replace(/\/$/, '');
      this.rules.push({ re: new RegExp(`^${body}$`), exception });
    }
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Whether a context path (relative, `/`-separated) is left out of the build. */
  excludes(rel: string): boolean {
    if (!this.rules.length) return false;
    const parents: string[] = [];
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let excluded = false;
    for (const rule of this.rules) {
      // a rule matching the path or one of its parent directories applies to it
      if (parents.some((p) => rule.re.test(p))) excluded = !rule.exception;
    }
    return excluded;
  }
}
