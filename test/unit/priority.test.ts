// runAhead: the work runs at the lower nice value (root may lower it), and the thread's own is
// back afterwards, also when the work throws.
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runAhead } from '../../src/util/priority';

describe('runAhead', () => {
  it('runs the work at the nice value asked for and sets the thread back after', () => {
    const before = os.getPriority(0);
    expect(runAhead(-7, () => os.getPriority(0))).toBe(process.getuid?.() === 0 ? -7 : before);
    expect(os.getPriority(0)).toBe(before);
    expect(() =>
      runAhead(-7, () => {
        throw new Error('work failed');
      }),
    ).toThrow('work failed');
    expect(os.getPriority(0)).toBe(before);
  });

  it('never raises the nice value of a thread already ahead of it', () => {
    expect(runAhead(19, () => os.getPriority(0))).toBe(os.getPriority(0));
  });
});
