// TestRoot's cleanup (test/support/box.ts) ends every box process of its root, stopped ones too: a
// box left stopped (SIGSTOP) by a failed test held its root's locks and, continued after the root
// was deleted, made that root's bridge and nftables table again.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { expect, it } from 'vitest';
import { BOX, boxProcessesOf, TestRoot, until } from '../support/box';

/** The process's state letter (R, S, T, Z...), '' once it is gone. */
function stateOf(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return '';
  }
}

it('cleanup kills the root box processes, stopped or not, by --root and by BOX_ROOT', () => {
  const t = new TestRoot();
  const other = new TestRoot();
  // `events` streams until killed; each one stopped once it is running
  const byFlag = t.start(['events']);
  const byEnv = spawn(BOX, ['events'], { stdio: 'ignore', env: { ...process.env, BOX_ROOT: t.root } });
  const running = t.start(['events']);
  const elsewhere = other.start(['events']);
  try {
    const pids = [byFlag.pid!, byEnv.pid!, running.pid!];
    until(
      'the box processes of the root',
      () => boxProcessesOf(t.root).sort(),
      (p) => p.length === 3,
    );
    expect(boxProcessesOf(t.root).sort()).toEqual([...pids].sort());
    expect(boxProcessesOf(other.root)).toEqual([elsewhere.pid]);
    byFlag.kill('SIGSTOP');
    byEnv.kill('SIGSTOP');
    until(
      'stopped',
      () => [byFlag.pid!, byEnv.pid!].map(stateOf).join(''),
      (s) => s === 'TT',
    );
    t.cleanup();
    // reaped by this process: dead is a zombie (Z) until then, or gone
    for (const pid of pids)
      until(
        `box ${pid} dead`,
        () => stateOf(pid),
        (s) => s === 'Z' || s === '',
      );
    expect(fs.existsSync(t.dir)).toBe(false);
    expect(stateOf(elsewhere.pid!)).toMatch(/[RS]/); // another root's box is left alone
  } finally {
    for (const c of [byFlag, byEnv, running, elsewhere]) c.kill('SIGKILL');
    other.cleanup();
  }
}, 60_000);
