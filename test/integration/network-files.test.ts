// What a network leaves in the runtime root once it is removed: nothing. Its lock files (its
// allocations' and its DNS names') go with it, with `network rm` and with `network prune`. Which
// networks the prunes take (`system prune` too, as Docker's) and `network ls`'s dangling filter.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, leftovers, snapshot } from '../support/box';

describe('network files', () => {
  const t = busyboxRoot();
  const ok = (args: string[]) => {
    const r = t.box(args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };
  /** The network's files under the runtime root's locks, by name. */
  const lockFilesOf = (id: string) => {
    const dir = path.join(t.root, 'run', 'locks', 'networks');
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith(id)) : [];
  };

  it('network rm and network prune remove its lock files (allocations and DNS)', () => {
    const before = snapshot(t);
    for (const remove of [
      ['network', 'rm', 'files'],
      ['network', 'prune', '-f'],
    ]) {
      const id = ok(['network', 'create', 'files']).trim();
      // a container on it: an address allocated, its names published (the DNS lock)
      ok(['run', '--rm', '--network', 'files', 'busybox', 'true']);
      expect(lockFilesOf(id).sort()).toEqual([`${id}.dns.lock`, `${id}.lock`]);
      ok(remove);
      expect(lockFilesOf(id)).toEqual([]);
      expect(fs.existsSync(path.join(t.root, 'run', 'networks', id))).toBe(false);
    }
    expect(leftovers(t, before)).toEqual([]);
  }, 60_000);

  it('system prune and network prune --filter remove the unused user networks; ls --filter dangling lists them', () => {
    const before = snapshot(t);
    const ls = (...f: string[]) => ok(['network', 'ls', ...f.flatMap((x) => ['--filter', x])]);
    ok(['network', 'create', 'kept']);
    ok(['network', 'create', '--label', 'tier=web', 'idle-web']);
    ok(['network', 'create', 'idle']);
    ok(['run', '-d', '--name', 'user', '--network', 'kept', 'busybox', 'sleep', '600']);
    // the NAME column of ls's table
    const names = (out: string) =>
      out
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[1])
        .sort();
    expect(names(ls('dangling=true'))).toEqual(['idle', 'idle-web']);
    expect(names(ls('dangling=false', 'scope=local'))).toEqual(['bridge', 'host', 'kept', 'none']);
    expect(ok(['network', 'prune', '-f', '--filter', 'label=tier=web'])).toBe('Deleted Networks:\nidle-web\n');
    const pruned = ok(['system', 'prune', '-f']);
    expect(pruned).toContain('Deleted Networks:\nidle\n');
    expect(names(ls())).toEqual(['bridge', 'host', 'kept', 'none']); // a running container's: kept
    ok(['rm', '-f', 'user']);
    expect(ok(['system', 'prune', '-f'])).toContain('Deleted Networks:\nkept\n');
    expect(names(ls())).toEqual(['bridge', 'host', 'none']);
    expect(leftovers(t, before)).toEqual([]);
  }, 60_000);
});
