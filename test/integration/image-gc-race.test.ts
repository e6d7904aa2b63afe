// Garbage collection against a container being created: `image prune -a` (and rmi) must not take
// an image or its layers away between `box run` resolving the image and recording the container,
// nor `volume prune -a` a volume the container is about to mount.
// The window is held open deterministically: the test holds the admission lock, so a run with the
// capacity policy (which reads committed resources) stops right there (after resolving the image,
// before its record) until the test lets go.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args';
import { requestFrom, runCommand } from '../../src/cli/container/run';
import { pullFirst } from '../../src/runtime/pull-first';
import { tryLockFile } from '../../src/image/locks';
import { exitOf, importBusybox, leftovers, TestRoot } from '../support/box';

const t = new TestRoot('box-gcrace-');
const runroot = () => path.join(t.root, 'run');
const storeLockFile = () => path.join(runroot(), 'locks', 'store.lock');
const layerDirs = () => fs.readdirSync(path.join(t.root, 'layers')).filter((d) => /^[0-9a-f]{64}$/.test(d));

afterAll(() => {
  try {
    expect(leftovers(t)).toEqual([]);
  } finally {
    t.cleanup();
  }
});

/** /proc/locks lines about `file` (by inode), as [pid, waiting]. */
function flocksOn(file: string): { pid: number; waiting: boolean }[] {
  const ino = fs.statSync(file).ino;
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .map((l) => /^\d+: (->)? ?FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[3]) === ino)
    .map((m) => ({ pid: Number(m[2]), waiting: m[1] === '->' }));
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Holds runroot/locks/admission.lock (flock(1)) until release() closes its stdin. */
async function holdAdmissionLock(): Promise<{ release: () => Promise<unknown> }> {
  const file = path.join(runroot(), 'locks', 'admission.lock');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const holder = spawn('flock', ['--exclusive', file, 'cat'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = exitOf(holder);
  await until(
    'flock to hold the admission lock',
    () => fs.existsSync(file) && flocksOn(file).some((l) => l.pid === holder.pid && !l.waiting),
  );
  return {
    release: () => {
      holder.stdin!.end();
      return exited;
    },
  };
}

describe('garbage collection during a container start', () => {
  // --pull never: createRecord takes the lock itself; missing: run --pull's lock is handed over.
  it.each(['never', 'missing'])(
    'image prune -a waits for a run (--pull %s) that resolved the image; the container starts; prune after its removal removes the image',
    async (pull) => {
      const id = importBusybox(t, 'victim:1');
      const layers = layerDirs();
      expect(layers).toHaveLength(1);
      const holder = await holdAdmissionLock();
      const admissionFile = path.join(runroot(), 'locks', 'admission.lock');
      const runner = t.start([
        'run',
        '--pull',
        pull,
        '--name',
        `racer-${pull}`,
        '--policy',
        'capacity:audit', // capacity reads committed resources: its start takes the admission lock
        'victim:1',
        'echo',
        'started',
      ]);
      const ran = exitOf(runner);
      try {
        // The run resolved the image and now waits for the admission lock.
        await until('the run to wait for the admission lock', () =>
          flocksOn(admissionFile).some((l) => l.pid === runner.pid && l.waiting),
        );
        const pruner = t.start(['image', 'prune', '-a']);
        const pruned = exitOf(pruner);
        let pruneDone = false;
        void pruned.then(() => (pruneDone = true));
        // Either the prune finished (the image would be gone) or it waits for the store's lock.
        await until(
          'the prune to finish or wait',
          () => pruneDone || flocksOn(storeLockFile()).some((l) => l.pid === pruner.pid && l.waiting),
        );
        expect(pruneDone).toBe(false);
        await holder.release();
        const r = await ran;
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('started\n');
        expect(r.code).toBe(0);
        const p = await pruned;
        expect(p.code).toBe(0);
        expect(p.stdout).toBe('Total reclaimed space: 0B\n');
      } finally {
        await holder.release();
      }
      expect(t.box(['images', '-q', '--no-trunc']).stdout).toBe(id + '\n');
      expect(layerDirs()).toEqual(layers);
      // Once the container is gone, the image is unused and prune -a removes it and its layer.
      expect(t.box(['rm', `racer-${pull}`]).status).toBe(0);
      const p = t.box(['image', 'prune', '-a']);
      expect(p.stdout).toContain(`deleted: ${id}`);
      expect(t.box(['images', '-q']).stdout).toBe('');
      expect(layerDirs()).toEqual([]);
    },
  );

  it('run --pull hands the store lock it took before pulling to the creation of the record', async () => {
    const id = importBusybox(t, 'held:1');
    const req = requestFrom(parseArgs(runCommand, ['held:1', 'true'], 'run'));
    req.roots = { root: t.root, runroot: runroot() };
    const noPull = async () => {
      throw new Error('the image is in the store: nothing to pull');
    };
    expect(await pullFirst(req, 'missing', noPull)).toBe(0);
    // Held shared: an exclusive (garbage-collection) lock cannot be had.
    expect(req.storeLock).toBeDefined();
    expect(tryLockFile(storeLockFile())).toBeUndefined();
    req.storeLock!.release();
    const free = tryLockFile(storeLockFile());
    expect(free).toBeDefined();
    free!.release();
    expect(t.box(['rmi', id]).status).toBe(0);
  });

  it('volume prune -a waits for a run that resolved its mounts; the volume it mounts keeps its data', async () => {
    importBusybox(t, 'vol:1');
    expect(t.box(['volume', 'create', 'precious']).status).toBe(0);
    fs.writeFileSync(path.join(t.root, 'volumes', 'precious', '_data', 'keep'), 'kept\n');
    const holder = await holdAdmissionLock();
    const admissionFile = path.join(runroot(), 'locks', 'admission.lock');
    const runner = t.start([
      'run',
      '--rm',
      '-v',
      'precious:/d',
      '--policy',
      'capacity:audit', // capacity reads committed resources: its start takes the admission lock
      'vol:1',
      'cat',
      '/d/keep',
    ]);
    const ran = exitOf(runner);
    try {
      await until('the run to wait for the admission lock', () =>
        flocksOn(admissionFile).some((l) => l.pid === runner.pid && l.waiting),
      );
      const pruner = t.start(['volume', 'prune', '-a']);
      const pruned = exitOf(pruner);
      let pruneDone = false;
      void pruned.then(() => (pruneDone = true));
      await until(
        'the prune to finish or wait',
        () => pruneDone || flocksOn(storeLockFile()).some((l) => l.pid === pruner.pid && l.waiting),
      );
      expect(pruneDone).toBe(false);
      await holder.release();
      const r = await ran;
      expect(r.stdout).toBe('kept\n');
      expect(r.code).toBe(0);
      expect((await pruned).code).toBe(0);
    } finally {
      await holder.release();
    }
    // the prune ran while the container used the volume, or after it was gone: never before the mount
    expect(t.box(['volume', 'ls', '-q']).stdout).toMatch(/^(precious\n)?$/);
    t.box(['volume', 'rm', '-f', 'precious']);
    t.box(['rmi', 'vol:1']);
  });
});
