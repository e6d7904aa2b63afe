// Untrusted text is printed with its control characters escaped: a reason, name or file name
// cannot clear the screen, move the cursor or forge a line of box's own.
import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/format';
import { printable, printableJson } from '../../src/util/printable';

describe('printable', () => {
  it.each([
    ['ESC and a CSI sequence', '\x1b[2J\x1b[Hcleared', '\\e[2J\\e[Hcleared'],
    ['an OSC sequence ended by BEL', '\x1b]0;title\x07', '\\e]0;title\\x07'],
    ['CR and LF (a forged line)', 'ok\r\nbox: admitted by policy strict', 'ok\\r\\nbox: admitted by policy strict'],
    ['NUL and DEL', 'a\0b\x7f', 'a\\x00b\\x7f'],
    ['the one-byte CSI (C1)', '\u009b2J', '\\x9b2J'],
    ['a right-to-left override', 'abc\u202etxt.exe', 'abc\\u202etxt.exe'],
    ['a tab', 'a\tb', 'a\\tb'],
  ])('escapes %s', (_what, raw, shown) => {
    expect(printable(raw)).toBe(shown);
  });

  it('escapes every code unit of the controls and no other, alone or among printable text', () => {
    const controls = [
      [0x00, 0x1f],
      [0x7f, 0x9f],
      [0x200b, 0x200f],
      [0x2028, 0x202e],
      [0x2066, 0x2069],
      [0xfeff, 0xfeff],
    ];
    const isControl = (c: number) => controls.some(([from, to]) => c >= from && c <= to);
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      expect([c, printable(ch) !== ch]).toEqual([c, isControl(c)]);
      if (isControl(c)) expect(printable(`ok ${ch}`)).not.toContain(ch);
    }
  });

  it('leaves printable text, including non-ASCII letters, alone', () => {
    expect(printable('héllo wörld ✓ /a b/c')).toBe('héllo wörld ✓ /a b/c');
  });

  it('JSON keeps its layout and gets the controls JSON.stringify leaves raw escaped', () => {
    const json = printableJson(JSON.stringify({ a: '\x1b\u009b\u202e' }, null, 1));
    expect(json).toBe('{\n "a": "\\u001b\\u009b\\u202e"\n}');
    expect(JSON.parse(json)).toEqual({ a: '\x1b\u009b\u202e' });
  });

  it('table cells are printable', () => {
    expect(table(['NAME'], [['evil\x1b[2J']])).toBe('NAME\nevil\\e[2J\n');
  });
});
