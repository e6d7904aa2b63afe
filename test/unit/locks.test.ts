// Bounded lock waits and the probes box uses to tell a live owner from a dead one (image/locks.ts),
// on real flock(2) locks: two descriptions of one file conflict even inside one process.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLockHeld, lockFileWithin, lockHolder, tryLockFile } from '../../src/image/locks';

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
