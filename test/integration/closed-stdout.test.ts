// A box command whose reader went away (`box logs X | head -1`) ends quietly: no stack trace, and
// exit 141 (as a shell reports other CLIs' death by SIGPIPE) once a write failed. Each command here writes to a pipe
// whose read end this test closed before box wrote anything.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, exitOf, runDetached } from '../support/box';

describe('a closed stdout', () => {
  const t = busyboxRoot();

  /** `box ARGS` with stdout's read end closed at once; its exit and stderr. */
  function withClosedStdout(args: string[]) {
    const child = spawn(BOX, t.args(args), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone: box's next write fails with EPIPE
    return exitOf(child);
  }

  it('logs, logs -f, ps, inspect, events, stats, images: exit quietly (141 once a write failed)', async () => {
    const id = runDetached(t, '--name', 'chatty', 'busybox', 'sh', '-c', 'seq 1 20000; sleep 1000');
    const log = `${t.root}/containers/${id}/container.log`;
    for (let i = 0; fs.statSync(log).size < 100_000; i++) expect(i).toBeLessThan(1e7);
    const commands = [
      ['logs', 'chatty'],
      ['logs', '-f', 'chatty'],
      ['ps', '-a'],
      ['inspect', 'chatty'],
      ['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000))],
      ['stats', '--no-stream', 'chatty'],
      ['images'],
    ];
    for (const args of commands) {
      const r = await withClosedStdout(args);
      // 141 once a write failed; a short output may be all written (to the pipe) before it fails,
      // and box has exited 0 by the time the failure would be reported
      const code = r.code === 0 && !['logs', 'events'].includes(args[0]) ? 141 : r.code;
      expect({ args, code, signal: r.signal, stderr: r.stderr }).toEqual({ args, code: 141, signal: null, stderr: '' });
    }
    // a streaming events: quiet at its first event after the reader went
    const events = withClosedStdout(['events']);
    const trigger = t.box(['run', '--rm', '--network', 'none', 'busybox', 'true']);
    expect(trigger.status).toBe(0);
    expect(await events).toMatchObject({ code: 141, stderr: '' });
    expect(t.box(['rm', '-f', 'chatty']).status).toBe(0);
  }, 60_000);
});
