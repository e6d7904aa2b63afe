// Variable substitution in Dockerfile arguments, as Docker's shell lexer does it: `$V`, `${V}`,
// `${V:-default}`, `${V-default}`, `${V:+alt}`, `${V+alt}`; single quotes keep text literal,
// double quotes group words but expand, the escape character escapes the next character.
// `words` splits into words (ENV, LABEL, ARG, EXPOSE...), `word` keeps one (WORKDIR, USER...).
import { BoxError } from '../errors';

export type Vars = ReadonlyMap<string, string>;

class Lexer {
  i = 0;
  constructor(
    readonly text: string,
    readonly vars: Vars,
    readonly escapeChar: string,
  ) {}

  /** The words of the text, quotes removed, variables expanded. */
  words(split: boolean): string[] {
    const out: string[] = [];
    let cur = '';
    let inWord = false;
    const t = this.text;
    while (this.i < t.length) {
      const c = t[this.i];
      if (split && /\s/.test(c)) {
        if (inWord) out.push(cur);
        cur = '';
        inWord = false;
        this.i++;
        continue;
      }
      inWord = true;
      if (c === this.escapeChar) {
        this.i++;
        if (this.i < t.length) cur += t[this.i++];
        else cur += c;
      } else if (c === "'") {
        const end = t.indexOf("'", this.i + 1);
        if (end < 0) throw new BoxError(`unmatched ' in "${t}": close the quote`);
        cur += t.slice(this.i + 1, end);
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        for (;;) {
          if (this.i >= t.length) throw new BoxError(`unmatched " in "${t}": close the quote`);
          const d = t[this.i];
          if (d === '"') {
            this.i++;
            break;
          }
          if (
            d === this.escapeChar &&
            (t[this.i + 1] === '"' || t[this.i + 1] === '$' || t[this.i + 1] === this.escapeChar)
          ) {
            cur += t[this.i + 1];
            this.i += 2;
          } else if (d === '$') cur += this.variable();
          else {
            cur += d;
            this.i++;
          }
        }
      } else if (c === '$') cur += this.variable();
      else {
        cur += c;
        this.i++;
      }
    }
    if (inWord) out.push(cur);
    return out;
  }

  /** At a `$`: the expansion of the variable reference there. */
  private variable(): string {
    const t = this.text;
    this.i++; // the $
    if (t[this.i] === '{') {
      const close = this.matchingBrace(this.i);
      const inner = t.slice(this.i + 1, close);
      this.i = close + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$/s.exec(inner);
      if (!m) throw new BoxError(`bad substitution "\${${inner}}": use \${NAME}, \${NAME:-default} or \${NAME:+alt}`);
      const value = this.vars.get(m[1]);
      if (!m[2]) return value ?? '';
      const word = () => new Lexer(m[3], this.vars, this.escapeChar).words(false).join('');
      const set = m[2].startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
      if (m[2].endsWith('-')) return set ? value! : word();
      return set ? word() : '';
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(t.slice(this.i));
    if (!m) return '$'; // a lone $ stays as it is
    this.i += m[0].length;
    return this.vars.get(m[0]) ?? '';
  }

  private matchingBrace(open: number): number {
    let depth = 0;
    for (let k = open; k < this.text.length; k++) {
      if (this.text[k] === '{') depth++;
      else if (this.text[k] === '}' && --depth === 0) return k;
    }
    throw new BoxError(`missing } in "${this.text}": close the \${...}`);
  }
}

/** The words of `text`, expanded (`ENV a=$X b="x y"` gives ["a=...", "b=x y"]). */
export function words(text: string, vars: Vars, escapeChar = '\\'): string[] {
  return new Lexer(text, vars, escapeChar).words(true);
}

/** `text` as one word, expanded, quotes removed (WORKDIR, USER, STOPSIGNAL, a COPY source). */
export function word(text: string, vars: Vars, escapeChar = '\\'): string {
  return new Lexer(text, vars, escapeChar).words(false).join('');
}
