import { describe, expect, it } from 'vitest';
import { parseSignal, signalNumber } from '../../src/linux/signals';

describe('signal names', () => {
  it('takes names with or without SIG, in any case, and numbers from 1 to 64', () => {
    expect(signalNumber('TERM')).toBe(15);
    expect(signalNumber('sigkill')).toBe(9);
    expect(signalNumber('SIGUSR1')).toBe(10);
    expect(signalNumber('15')).toBe(15);
    expect(signalNumber('64')).toBe(64);
    for (const bad of ['0', '65', 'SIGNOPE', '', 'TERM1', '-9', 'SIGUNUSED']) expect(signalNumber(bad)).toBeUndefined();
  });

  it('takes the real-time signals as glibc numbers them (SIGRTMIN is 34, SIGRTMAX 64)', () => {
    expect(signalNumber('SIGRTMIN')).toBe(34);
    expect(signalNumber('SIGRTMIN+3')).toBe(37);
    expect(signalNumber('rtmin+3')).toBe(37);
    expect(signalNumber('SIGRTMAX')).toBe(64);
    expect(signalNumber('SIGRTMAX-2')).toBe(62);
    expect(signalNumber('SIGRTMIN+31')).toBeUndefined();
    expect(signalNumber('SIGRTMIN-1')).toBeUndefined();
  });

  it('names where a bad signal came from in its one-line error', () => {
    expect(() => parseSignal('NOPE', '--stop-signal')).toThrow(
      /^invalid --stop-signal "NOPE": use a signal name .* or a number from 1 to 64$/,
    );
  });
});
