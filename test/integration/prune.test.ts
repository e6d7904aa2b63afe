// container prune, image prune --filter, system prune and system df against a mixed store
// (running, stopped, created, labelled, dangling, in use) with the exact survivors; prunes racing
// `box run` never take a container between its creation and its start.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, busyboxTarball, exitOf, runDetached, until } from '../support/box';

describe('prune and system df', () => {
  const t = busyboxRoot();
  const ok = (args: string[]) => {
    const r = t.box(args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  };
  const containers = () => ok(['ps', '-a', '--format', '{{.Names}}:{{.State}}']).split('\n').filter(Boolean).sort();
  const images = () => ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n').filter(Boolean).sort();
  const idOf = (name: string) => ok(['inspect', '-f', '{{.Id}}', name]).trim();

  it('removes exactly the stopped containers, dangling or unused images, and says how much it freed', () => {
    const tar = busyboxTarball(t.dir);
    const dangling = ok(['import', tar, 'spare:1', '--change', 'LABEL v=1']).trim();
    ok(['import', tar, 'spare:1', '--change', 'LABEL v=2']); // the first loses its tag: dangling
    ok(['import', tar, 'used:1', '--change', 'LABEL v=3']);
    const up = runDetached(t, '--name', 'up', 'busybox', 'sleep', '300');
    ok(['run', '--name', 'done', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /f']);
    ok(['create', '--name', 'fresh', 'busybox', 'true']);
    ok(['run', '--name', 'kept', '--label', 'keep=yes', 'busybox', 'true']);
    ok(['run', '--name', 'old', 'used:1', 'true']);
    const [done, fresh, old] = ['done', 'fresh', 'old'].map(idOf);
    expect(images()).toEqual(['<none>:<none>', 'busybox:latest', 'spare:1', 'used:1']);

    // system df: 5 containers, 1 running; the 5000 bytes `done` wrote are reclaimable
    const df = ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}']);
    expect(df.split('\n')[1]).toBe('Containers 5 1 5.00kB 5.00kB (100%)');
    expect(df.split('\n')[0]).toMatch(/^Images 4 2 \S+ \S+ \(\d+%\)$/);
    expect(df.split('\n')[2]).toBe('Local Volumes 0 0 0B 0B');
    expect(df.split('\n')[3]).toBe('Build Cache 0 0 0B 0B');
    expect(ok(['system', 'df']).split('\n')[0]).toMatch(/^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$/);
    expect(ok(['system', 'df', '-v'])).toMatch(/^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID/);

    // nothing is older than an hour; label!= spares `kept`
    expect(ok(['container', 'prune', '--filter', 'until=1h'])).toBe('Total reclaimed space: 0B\n');
    const pruned = ok(['container', 'prune', '-f', '--filter', 'label!=keep']);
    expect(pruned.split('\n').slice(1, -3).sort()).toEqual([done, fresh, old].sort());
    expect(pruned).toMatch(/^Deleted Containers:\n([0-9a-f]{64}\n){3}\nTotal reclaimed space: 5.00kB\n$/);
    expect(containers()).toEqual(['kept:exited', 'up:running']);

    // image prune: only the dangling image (used:1 lost its container but keeps its tag)
    const imagePrune = ok(['image', 'prune', '-f']);
    expect(imagePrune).toContain(`deleted: ${dangling}\n`);
    expect(images()).toEqual(['busybox:latest', 'spare:1', 'used:1']);
    expect(ok(['image', 'prune', '-a', '--filter', 'label=v=3'])).toMatch(/^Deleted Images:\nuntagged: used:1\n/);
    expect(images()).toEqual(['busybox:latest', 'spare:1']);

    // system prune -a: the stopped container, every image no container uses; the running one stays
    const sys = ok(['system', 'prune', '-a', '-f']);
    expect(sys).toMatch(
      new RegExp(`^Deleted Containers:\n${idOf('up') && '[0-9a-f]{64}'}\n\nDeleted Images:\nuntagged: spare:1\n`),
    );
    expect(sys).toMatch(/\nTotal reclaimed space: \S+\n$/);
    expect(containers()).toEqual(['up:running']);
    expect(images()).toEqual(['busybox:latest']);
    expect(ok(['system', 'prune', '-a'])).toBe('Total reclaimed space: 0B\n');
    ok(['rm', '-f', up]);
    // bad filters are one line, exit 125, and remove nothing
    for (const bad of ['colour=red', 'until=yesterday']) {
      const r = t.box(['system', 'prune', '--filter', bad]);
      expect(r.status, bad).toBe(125);
      expect(r.stderr.split('\n').length, bad).toBe(2);
    }
    expect(images()).toEqual(['busybox:latest']);
  });

  it('prunes racing run: no run loses its container between creation and start', async () => {
    // a running container keeps busybox in use: `system prune -a` may rightly take an image that
    // no container uses yet, before a run resolves it (the image's own race is image-gc-race's)
    const holder = runDetached(t, 'busybox', 'sleep', '300');
    const runs: Promise<void>[] = [];
    let pruning = true;
    const pruner = (async () => {
      let n = 0;
      while (pruning) {
        const which = n++ % 2 ? ['container', 'prune', '-f'] : ['system', 'prune', '-a', '-f'];
        const r = await exitOf(t.start(which));
        expect(r.stderr, which.join(' ')).toBe('');
        expect(r.code, which.join(' ')).toBe(0);
      }
      return n;
    })();
    for (let i = 0; i < 3; i++) {
      runs.push(
        (async () => {
          for (let j = 0; j < 8; j++) {
            const args = j % 2 ? ['run', '-d', 'busybox', 'true'] : ['run', 'busybox', 'true'];
            const r = await exitOf(t.start(args));
            expect(r.stderr, args.join(' ')).toBe('');
            expect(r.code, args.join(' ')).toBe(0);
          }
        })(),
      );
    }
    try {
      await Promise.all(runs);
    } finally {
      pruning = false;
    }
    expect(await pruner).toBeGreaterThan(2);
    expect(images()).toEqual(['busybox:latest']);
    ok(['rm', '-f', holder]);
    // the last detached ones end by themselves (their monitors record it)
    until(
      'every container ended',
      () => ok(['ps', '-q']),
      (out) => out === '',
    );
    ok(['container', 'prune']);
    expect(fs.readdirSync(`${t.root}/containers`).filter((d) => /^[0-9a-f]{64}$/.test(d))).toEqual([]);
  }, 240_000);
});
