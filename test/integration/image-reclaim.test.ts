// Image operations killed half-way leave nothing hidden (issue 19, item 5): the next command that
// takes the store's lock removes the work files, short links, blobs and layers of operations
// whose process is gone, and says so in one line on stderr; a live operation's work is never
// touched, and what only a sweep with the lock alone may remove waits until then.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, busyboxTarball, exitOf, storeSnapshot, until } from '../support/box';
import { storeLeftovers } from '../support/inventory';

const t = busyboxRoot();
const hex = () => crypto.randomBytes(32).toString('hex');
const at = (...p: string[]) => path.join(t.root, ...p);

/** The owner token ("<pid>.<start time>") of a process that was really SIGKILLed. */
async function deadToken(): Promise<string> {
  const child = spawn('sleep', ['100'], { stdio: 'ignore' });
  const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return `${child.pid}.${start}`;
}

function file(p: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
}

/** A root filesystem tarball big enough (busybox and 16 MiB of random files) to kill its import half-way. */
function bigTarball(): string {
  const out = path.join(t.dir, 'big.tar');
  if (fs.existsSync(out)) return out;
  const dir = path.join(t.dir, 'big');
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  for (let i = 0; i < 16; i++) fs.writeFileSync(path.join(dir, 'data', `f${i}`), crypto.randomBytes(1 << 20));
  spawnSync('tar', ['-C', dir, '-xf', busyboxTarball(t.dir)]);
  spawnSync('tar', ['--numeric-owner', '-C', dir, '-cf', out, '.']);
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

/** A store-locking command that changes nothing: the base image tagged again with its own name. */
const retag = () => t.box(['tag', 'busybox:latest', 'busybox:latest']);

describe('the next command that takes the store lock reclaims what killed image operations left', () => {
  it('removes each kind of leftover of a dead operation, says what it reclaimed, and leaves the store as before', async () => {
    const before = storeSnapshot(t.root);
    const dead = await deadToken();
    // As a pull killed while unpacking, an import killed while unpacking, a load killed while
    // reading its archive, an rmi killed while removing a layer:
    file(at('layers', `.tmp-unpack-${hex()}-${dead}-0a1b2c3d4e5f`, 'diff', 'f'));
    file(at('layers', `.tmp-unpack-import-0123456789abcdef-${dead}-0a1b2c3d4e5f`, 'diff', 'f'));
    file(at('tmp', `load-${dead}-0123456789abcdef`, 'manifest.json'));
    file(at('layers', `.tmp-rm-${hex()}-${dead}-0a1b2c3d`, 'diff', 'f'));
    // a pull killed between a layer's short link and its rename, and one killed after committing
    // a layer (and its blobs) but before the tag:
    fs.symlinkSync(`../layers/${hex()}/diff`, at('l', 'deadlink'));
    const layer = hex();
    file(at('layers', layer, 'diff', 'f'), 'y'.repeat(100));
    file(at('layers', layer, 'size'), '1000');
    file(at('layers', layer, 'link'), 'zzzzzzzz\n');
    fs.symlinkSync(`../layers/${layer}/diff`, at('l', 'zzzzzzzz'));
    file(at('blobs', 'sha256', hex()), 'z'.repeat(500));
    file(at('blobs', 'sha256', `.tmp-${hex()}-${dead}-0a1b2c3d4e5f`));
    file(at('run', 'store-ops', `op-${dead}-0a1b2c3d`), '');
    expect(storeLeftovers(t)).toHaveLength(9);

    const r = retag();
    expect([r.status, r.stdout]).toEqual([0, '']);
    const reclaimed = '6 temporary files, 1 unused layer and 1 unused blob (1.50kB)';
    expect(r.stderr).toBe(`box: reclaimed ${reclaimed} left by interrupted commands\n`);
    expect(storeLeftovers(t)).toEqual([]);
    expect(storeSnapshot(t.root)).toEqual(before);
    expect(retag().stderr).toBe(''); // nothing more to say

    // A copy of the helper half-written into the cache (by any command, outside the store's lock,
    // so no marker tells of it) goes with the next store-locking command too.
    const helperCopy = at('cache', `box-helper-0123456789abcdef.tmp-${dead}-0a1b2c3d4e5f`);
    file(helperCopy);
    expect(storeLeftovers(t)).toEqual([`temporary file ${path.relative(t.root, helperCopy)}`]);
    expect(retag().stderr).toBe('box: reclaimed 1 temporary file left by interrupted commands\n');
    expect(fs.existsSync(helperCopy)).toBe(false);
  });

  it("a live operation keeps its work; dead writers' files go at once, the rest once the lock can be had alone", async () => {
    const dead = await deadToken();
    const live = t.start(['import', '-', 'live:1']);
    const done = exitOf(live);
    try {
      await liveImportKeepsItsWork(live, done, dead);
    } finally {
      live.kill('SIGKILL'); // a failed expectation must not leave it holding the store's lock
    }
    expect(t.box(['rmi', 'live:1', 'other:1']).status).toBe(0);
    expect(storeLeftovers(t)).toEqual([]);
  });

  type Child = ReturnType<typeof t.start>;
  async function liveImportKeepsItsWork(live: Child, done: ReturnType<typeof exitOf>, dead: string): Promise<void> {
    const workDirs = () => fs.readdirSync(at('layers')).filter((d) => d.startsWith('.tmp-unpack-import-'));
    const [mine] = until("the live import's work directory", workDirs, (d) => d.length === 1);
    const liveMarkers = fs.readdirSync(at('run', 'store-ops')).filter((m) => m !== 'swept');
    expect(liveMarkers).toHaveLength(1);
    expect(mine).toContain(`-${live.pid}.`);

    file(at('layers', `.tmp-unpack-${hex()}-${dead}-0a1b2c3d4e5f`, 'diff', 'f'));
    file(at('tmp', `load-${dead}-0123456789abcdef`, 'manifest.json'));
    fs.symlinkSync(`../layers/${hex()}/diff`, at('l', 'deadlink'));
    file(at('run', 'store-ops', `op-${dead}-0a1b2c3d`), '');

    const r = t.box(['tag', 'busybox:latest', 'other:1']);
    expect([r.status, r.stderr]).toEqual([0, 'box: reclaimed 2 temporary files left by interrupted commands\n']);
    expect(workDirs()).toEqual([mine]);
    const markers = fs.readdirSync(at('run', 'store-ops'));
    expect(markers).toEqual(expect.arrayContaining([...liveMarkers, `op-${dead}-0a1b2c3d`]));
    // The dangling link may be a live pull's about-to-be-committed layer: only a sweep alone removes it.
    expect(storeLeftovers(t)).toEqual([
      'short link without its layer l/deadlink',
      `marker of a store operation that is not running run/store-ops/op-${dead}-0a1b2c3d`,
    ]);

    live.stdin.end(fs.readFileSync(busyboxTarball(t.dir)));
    const res = await done;
    expect([res.code, res.stderr]).toEqual([0, '']);
  }

  it('real SIGKILLs of import and load at delays spread over their duration leave nothing after the next command', async () => {
    const big = bigTarball();
    const archive = path.join(t.dir, 'big-save.tar');
    expect(t.box(['import', big, 'big:1']).status).toBe(0);
    expect(t.box(['save', '-o', archive, 'big:1']).status).toBe(0);
    expect(t.box(['rmi', 'big:1']).status).toBe(0);
    const ops: Record<string, string[]> = { import: ['import', big, 'big:1'], load: ['load', '-i', archive] };
    for (const [name, argv] of Object.entries(ops)) {
      const t0 = Date.now();
      expect(t.box(argv).status).toBe(0);
      const duration = Date.now() - t0;
      expect(t.box(['rmi', 'big:1']).status).toBe(0);
      // Rounds whose kill left work behind: the test must not pass on kills that all came too early or late.
      let halfDone = 0;
      for (let i = 0; i < 5; i++) {
        const delay = Math.round((duration * (i + 0.5)) / 5);
        const child = t.start(argv);
        const exited = exitOf(child);
        const timer = setTimeout(() => child.kill('SIGKILL'), delay);
        await exited;
        clearTimeout(timer);
        if (storeLeftovers(t).some((l) => !l.startsWith('marker'))) halfDone++;
        const r = retag();
        expect([name, delay, r.status]).toEqual([name, delay, 0]);
        expect([name, delay, storeLeftovers(t)]).toEqual([name, delay, []]);
        const finished = t.box(['image', 'inspect', 'big:1']).status === 0; // the kill came after the end
        if (finished) expect(t.box(['rmi', 'big:1']).status).toBe(0);
      }
      expect([name, halfDone]).not.toEqual([name, 0]);
    }
    expect(storeLeftovers(t)).toEqual([]);
  }, 120_000);
});
