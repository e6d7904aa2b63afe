import { describe, expect, it } from 'vitest';
import { DEFAULT_DETACH_KEYS, DetachFilter, parseDetachKeys } from '../../src/runtime/attach';

describe('detach keys', () => {
  it("parses Docker's --detach-keys format", () => {
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual(DEFAULT_DETACH_KEYS);
    expect(parseDetachKeys('ctrl-a,x')).toEqual([1, 0x78]);
    expect(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')).toEqual([0, 27, 28, 29, 30, 31]);
    expect(() => parseDetachKeys('ctrl-')).toThrow(/invalid --detach-keys "ctrl-"/);
    expect(() => parseDetachKeys('alt-x')).toThrow(/invalid --detach-keys/);
  });

  it('holds a started sequence back, sends it on when it does not complete, detaches when it does', () => {
    const f = new DetachFilter(DEFAULT_DETACH_KEYS);
    expect(f.push(Buffer.from('ab\x10'))).toEqual({ out: Buffer.from('ab'), detach: false });
    expect(f.push(Buffer.from('c'))).toEqual({ out: Buffer.from('\x10c'), detach: false });
    expect(f.push(Buffer.from('\x10\x10'))).toEqual({ out: Buffer.from('\x10'), detach: false });
    expect(f.push(Buffer.from('\x11rest'))).toEqual({ out: Buffer.alloc(0), detach: true });
    expect(new DetachFilter([0x78]).push(Buffer.from('abxcd'))).toEqual({ out: Buffer.from('ab'), detach: true });
  });
});
