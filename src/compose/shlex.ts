// Shell-like word splitting, for a compose `command:` or `entrypoint:` given as a string (Docker
// Compose splits it with shlex): whitespace separates words, single quotes are literal, double
// quotes allow \" and \\, a backslash outside quotes escapes the next character. No expansion.
import { BoxError } from '../errors';

export function splitWords(text: string, where: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      inWord = true;
      const end = findClose(text, i + 1, c);
      if (end < 0) throw new BoxError(`${where}: unterminated ${c} in "${text}"`);
      const body = text.slice(i + 1, end);
      word += c === '"' ? body.replace(/\\(["\\$`])/g, '$1') : body;
      i = end;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function findClose(text: string, from: number, q: string): number {
  for (let j = from; j < text.length; j++) {
    if (q === '"' && text[j] === '\\') j++;
    else if (text[j] === q) return j;
  }
  return -1;
}

/** Words joined into one `sh -c` line that gives them back unchanged (for CMD health checks). */
export function shellJoin(words: string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
