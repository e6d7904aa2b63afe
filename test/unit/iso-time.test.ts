import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/util/iso-time';

describe('isoTime', () => {
  it('writes what toISOString writes', () => {
    const samples = [0, 1, 9, 10, 99, 100, 999, Date.now(), Date.UTC(2026, 11, 5, 7, 59, 45, 275)];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 253402300799999)); // up to 9999-12-31
    samples.push(Date.UTC(-1, 0, 1), Date.UTC(10000, 0, 1), Date.UTC(999, 5, 6, 1, 2, 3, 4));
    for (const ms of samples) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('refuses an invalid time as toISOString does', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
