// `box network ls`'s order and filters, as Docker's CLI has them.
import { describe, expect, it } from 'vitest';
import { matchesFilters, naturalLess } from '../../src/cli/network/ls';
import type { NetworkRecord } from '../../src/network/store';

const net = (Name: string, Labels: Record<string, string> = {}): NetworkRecord =>
  ({ Name, Id: 'ab12'.padEnd(64, '0'), Driver: 'bridge', Labels }) as unknown as NetworkRecord;

describe('network ls', () => {
  it('sorts by name with runs of digits compared as numbers', () => {
    expect(['net10', 'host', 'net2', 'bridge', 'Net1', 'none'].sort(naturalLess)).toEqual([
      'Net1',
      'bridge',
      'host',
      'net2',
      'net10',
      'none',
    ]);
  });

  it("filters as Docker's: one key's values are alternatives, labels must all hold, other keys too", () => {
    const n = net('app-front', { team: 'a', tier: 'web' });
    expect(matchesFilters(n, ['name=front'])).toBe(true);
    expect(matchesFilters(n, ['name=back', 'name=front'])).toBe(true);
    expect(matchesFilters(n, ['label=team=a', 'label=tier'])).toBe(true);
    expect(matchesFilters(n, ['label=team=a', 'label=tier=db'])).toBe(false);
    expect(matchesFilters(n, ['id=ab1', 'driver=bridge', 'type=custom'])).toBe(true);
    expect(matchesFilters(net('bridge'), ['type=custom'])).toBe(false);
    expect(() => matchesFilters(n, ['color=red'])).toThrow(/invalid filter "color=red"/);
  });
});
