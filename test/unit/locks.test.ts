// Bounded lock waits and the probes box uses to tell a live owner from a dead one (image/locks.ts),
// on real flock(2) locks: two descriptions of one file conflict even inside one process.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
  deleteLockFile,
  isLockHeld,
  lockDeletableFileBlocking,
  lockFile,
  lockFileWithin,
  lockHolder,
  tryLockFile,
} from '../../src/image/locks';

describe('locks', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-locks-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a bounded wait gives up after its time while the lock is held, and gets it once released', async () => {
    const file = path.join(dir, 'a.lock');
    const held = tryLockFile(file)!;
    const started = Date.now();
    expect(await lockFileWithin(file, 150)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const waiting = lockFileWithin(file, 5000);
    held.release();
    const got = await waiting;
    expect(got).toBeDefined();
    got!.release();
  });

  it('many waits in one process for a held lock leave the thread pool to the holder, and all get it in turn', async () => {
    const file = path.join(dir, 'crowded.lock');
    const held = await lockFile(file);
    const waits = Array.from({ length: 8 }, () => lockFile(file)); // libuv has 4 threads
    // the holder's own work needs a thread-pool thread (an asynchronous fs call): it must get one
    let timer: NodeJS.Timeout | undefined;
    const starved = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('starved')), 3000)));
    await Promise.race([fs.promises.readFile(file), starved]);
    clearTimeout(timer);
    held.release();
    for (const w of waits) (await w).release();
  });

  it('a long wait for a lock calls onSlow once, past its time, and still gets the lock when released', async () => {
    const file = path.join(dir, 'slow.lock');
    const held = tryLockFile(file)!;
    let told = 0;
    const waiting = lockFile(file, undefined, () => told++, 50);
    const deadline = Date.now() + 5000;
    while (told === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(told).toBe(1);
    held.release();
    (await waiting).release();
    expect(told).toBe(1);
    // uncontended: taken at once, nobody told
    (await lockFile(file, undefined, () => told++, 0)).release();
    expect(told).toBe(1);
  });

  it('isLockHeld tells a held lock from a free or missing one, without taking it', () => {
    const file = path.join(dir, 'b.lock');
    expect(isLockHeld(file)).toBe(false);
    expect(fs.existsSync(file)).toBe(false); // the probe creates nothing
    const held = tryLockFile(file)!;
    expect(isLockHeld(file)).toBe(true);
    expect(isLockHeld(file)).toBe(true); // a probe leaves no lock of its own behind
    held.release();
    expect(isLockHeld(file)).toBe(false);
    const again = tryLockFile(file);
    expect(again).toBeDefined();
    again!.release();
  });

  it('a deletable lock file deleted by its holder while another waits: the waiter locks a new file there', async () => {
    const file = path.join(dir, 'deletable.lock');
    fs.writeFileSync(file, '');
    const ino = fs.statSync(file).ino;
    // the holder waits until a process waits for the same file (its inode in /proc/locks), then deletes it
    const waited = `until grep -Eq -- "-> FLOCK .*:${ino} " /proc/locks; do sleep 0.01; done; rm ${file}`;
    const holder = spawn('flock', ['-o', file, 'timeout', '10', 'sh', '-c', waited], { stdio: 'ignore' });
    const gone = new Promise((resolve) => holder.on('exit', resolve));
    const deadline = Date.now() + 5000;
    while (!fs.readFileSync('/proc/locks', 'utf8').includes(`:${ino} `) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const lock = lockDeletableFileBlocking(file); // waits for the holder, then finds its file gone
    // a lock on the deleted file would leave none at the path (its inode number may be reused)
    expect(fs.existsSync(file)).toBe(true);
    expect(isLockHeld(file)).toBe(true);
    lock.release();
    await gone;
    // deleteLockFile takes the lock first (free now) and deletes the file; a missing one is no error
    deleteLockFile(file);
    expect(fs.existsSync(file)).toBe(false);
    deleteLockFile(file);
  });

  it('lockHolder names the process holding the lock, from /proc/locks', () => {
    const file = path.join(dir, 'c.lock');
    expect(lockHolder(file)).toBeUndefined();
    const held = tryLockFile(file)!;
    const holder = lockHolder(file);
    expect(holder?.pid).toBe(process.pid);
    expect(holder?.command).toContain('node');
    held.release();
    expect(lockHolder(file)).toBeUndefined();
  });
});
