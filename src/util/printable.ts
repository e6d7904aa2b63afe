// Text from untrusted sources (policy reasons, container and file names, a container's process
// command lines) made safe to print on a terminal: control characters (C0 including ESC, CR, LF
// and NUL, DEL, C1 such as the one-byte CSI) and the Unicode controls that reorder or hide text
// would let it clear the screen, move the cursor or forge a line of box's own. Every print site
// of such text uses these two functions.

// C0, DEL, C1; bidirectional overrides and isolates; zero-width and line/paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this module's job
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

const hex = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * Whether `s` may hold one of CONTROLS, each of which is below U+0020, in U+007F-U+009F or at
 * U+200B and above. Text without any is returned as it is: compiling CONTROLS cost a process
 * ~30 us of CPU at its first use (a policy's warning at a start).
 */
function mayHoldControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c >= 0x200b) return true;
  }
  return false;
}

/** `s` with every control character written as an escape (`\e`, `\n`, `\x00`, `\u202e`). */
export function printable(s: string): string {
  return mayHoldControl(s) ? s.replace(CONTROLS, (c) => NAMED[c] ?? hex(c)) : s;
}

// The controls but newline and tab: what a template's output may hold from the data it formats.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this module's job
const CONTROLS_BUT_LAYOUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** Like printable, but newlines and tabs stay: for output whose lines and columns a user's template makes. */
export function printableLines(s: string): string {
  return s.replace(CONTROLS_BUT_LAYOUT, (c) => NAMED[c] ?? hex(c));
}

// What JSON.stringify leaves raw in strings (it escapes C0 itself; C0 outside strings is layout).
const JSON_RAW_CONTROLS = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** A JSON text with the controls JSON.stringify leaves raw (DEL, C1, Unicode controls) as \u escapes. */
export function printableJson(json: string): string {
  return json.replace(JSON_RAW_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
