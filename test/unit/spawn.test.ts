// src/linux/spawn.ts and reap.ts against the real kernel: what a child started with posix_spawn
// gets (its fds at their numbers, default signals, its own session, the environment given), and
// that this process reaps it (its status, no zombie left), as child_process.spawn did for the helper.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ExitStatus, reapOnExit } from '../../src/linux/reap';
import { spawnDetached } from '../../src/linux/spawn';
import { until } from '../support/box';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-spawn-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function exitOf(pid: number): Promise<ExitStatus> {
  return new Promise((resolve) => reapOnExit(pid, resolve));
}

function readAll(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = new net.Socket({ fd, readable: true, writable: false });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

/** The fields of /proc/PID/status about signals ignored and blocked. */
const STATUS_SCRIPT = 'grep -E "^(SigIgn|SigBlk)" /proc/self/status';

describe('spawnDetached', () => {
  test('gives the child its fds at their numbers, a low fd of ours moved up, close-on-exec cleared, an ignored fd 5 closed', async () => {
    const file = path.join(dir, 'extra');
    fs.writeFileSync(file, 'extra-content');
    const extra = fs.openSync(file, 'r'); // some low number, maybe below 6: it must still land at 6
    const script =
      'for n in 0 1 2 3 4 5 6; do [ -e /proc/$$/fd/$n ] && echo "$n $(readlink /proc/$$/fd/$n)"; done;' +
      'cat <&3 >&4; cat <&6 >&4';
    const child = spawnDetached('/bin/sh', ['/bin/sh', '-c', script], {}, [
      'ignore',
      'pipe',
      'ignore',
      'pipe',
      'pipe',
      'ignore',
      extra,
    ]);
    fs.closeSync(extra);
    const [listing, echoed] = [readAll(child.fds[1]!), readAll(child.fds[4]!)];
    const input = new net.Socket({ fd: child.fds[3]!, readable: false, writable: true });
    input.end('spec-bytes|');
    const [fdText, out, status] = await Promise.all([listing, echoed, exitOf(child.pid)]);
    expect(status).toEqual({ code: 0, signal: null });
    const fds = Object.fromEntries(
      fdText
        .trim()
        .split('\n')
        .map((l) => l.split(' ')),
    );
    // an ignored fd above 2 stays closed, as child_process leaves it (no host file the helper could pass on)
    expect(Object.keys(fds)).toEqual(['0', '1', '2', '3', '4', '6']);
    for (const n of ['0', '2']) expect(fds[n]).toBe('/dev/null');
    for (const n of ['1', '3', '4']) expect(fds[n]).toMatch(/^socket:/);
    expect(fds['6']).toBe(file);
    expect(out).toBe('spec-bytes|extra-content');
  });

  test('inherits our fd 0-2 although Node marks them close-on-exec', async () => {
    // fd 2 of this test process, passed as 'inherit': the child must still have it open
    const child = spawnDetached('/bin/sh', ['/bin/sh', '-c', '[ -e /proc/self/fd/2 ] && echo yes >&1'], {}, [
      'ignore',
      'pipe',
      'inherit',
    ]);
    const [out, status] = await Promise.all([readAll(child.fds[1]!), exitOf(child.pid)]);
    expect(status.code).toBe(0);
    expect(out).toBe('yes\n');
  });

  test('resets every signal to its default, blocks none, and starts a session of its own', async () => {
    const child = spawnDetached(
      '/bin/sh',
      ['/bin/sh', '-c', `${STATUS_SCRIPT}; echo "pid $$ sid $(cut -d' ' -f6 /proc/$$/stat)"`],
      { ONLY: 'this' },
      ['ignore', 'pipe', 'ignore'],
    );
    const [out, status] = await Promise.all([readAll(child.fds[1]!), exitOf(child.pid)]);
    expect(status.code).toBe(0);
    // Node ignores SIGPIPE; the child must not (a container's `| head -1` relies on it), nor 32 and 33
    // (glibc's own, which its posix_spawn ignores in the child unless told otherwise)
    expect(out).toMatch(/^SigIgn:\s+0+$/m);
    expect(out).toMatch(/^SigBlk:\s+0+$/m);
    const ids = /pid (\d+) sid (\d+)/.exec(out)!;
    expect(ids[1]).toBe(ids[2]);
    expect(Number(ids[1])).toBe(child.pid);
  });

  test('passes exactly the environment given', async () => {
    const child = spawnDetached('/usr/bin/env', ['/usr/bin/env'], { ONLY: 'this' }, ['ignore', 'pipe', 'ignore']);
    const [out] = await Promise.all([readAll(child.fds[1]!), exitOf(child.pid)]);
    expect(out).toBe('ONLY=this\n');
  });

  test('fails as child_process does for a missing program, leaving no fd behind', () => {
    const before = fs.readdirSync('/proc/self/fd').length;
    expect(() => spawnDetached(path.join(dir, 'missing'), ['missing'], {}, ['ignore', 'pipe', 'pipe'])).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  });
});

describe('reapOnExit', () => {
  test('reports a signal death and leaves no zombie', async () => {
    const child = spawnDetached('/bin/sleep', ['/bin/sleep', '100'], {}, ['ignore', 'ignore', 'ignore']);
    const exit = exitOf(child.pid);
    process.kill(child.pid, 'SIGTERM');
    expect(await exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(fs.existsSync(`/proc/${child.pid}`)).toBe(false);
  });

  test('reaps several children whose exits share a SIGCHLD, each with its own code', async () => {
    const children = [3, 4, 5].map((code) =>
      spawnDetached('/bin/sh', ['/bin/sh', '-c', `exit ${code}`], {}, ['ignore', 'ignore', 'ignore']),
    );
    const codes = await Promise.all(children.map((c) => exitOf(c.pid)));
    expect(codes.map((s) => s.code)).toEqual([3, 4, 5]);
    until(
      'the children are gone',
      () => children.filter((c) => fs.existsSync(`/proc/${c.pid}`)),
      (l) => l.length === 0,
    );
  });
});
