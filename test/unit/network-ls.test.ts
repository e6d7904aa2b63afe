// `box network ls`'s order and filters, as Docker's CLI has them.
import { describe, expect, it } from 'vitest';
import { matchesFilters, naturalLess } from '../../src/cli/network/ls';
import type { NetworkRecord } from '../../src/network/store';

const net = (Name: string, Labels: Record<string, string> = {}): NetworkRecord =>
  ({ Name, Id: 'ab12'.padEnd(64, '0'), Driver: 'bridge', Scope: 'local', Labels }) as unknown as NetworkRecord;

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

  it("scope and dangling: a user network no container names is dangling, a predefined one never (Docker's)", () => {
    const used = (n: NetworkRecord) => n.Name === 'busy';
    const dangling = (name: string, v = 'true') => matchesFilters(net(name), [`dangling=${v}`], used);
    expect([dangling('idle'), dangling('busy'), dangling('bridge'), dangling('none')]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect([dangling('idle', 'false'), dangling('busy', '0'), dangling('host', '1')]).toEqual([false, true, false]);
    expect(() => dangling('idle', 'yes')).toThrow('invalid filter "dangling=yes": use dangling=true or dangling=false');
    expect(matchesFilters(net('idle'), ['scope=local'], used)).toBe(true);
    expect(matchesFilters(net('idle'), ['scope=swarm', 'scope=global'], used)).toBe(false);
  });
});
