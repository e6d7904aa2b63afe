// Signals, --init and zombies, and terminals: what PID 1 problems look like and how box handles them.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, exitOf, REPO, waitForOutput } from '../support/box';

describe('box run: signals, init and terminals', () => {
  const t = busyboxRoot();

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const) {
    it(`forwards ${sig} sent to box to the container's PID 1`, async () => {
      const name = sig.slice(3);
      const child = t.start([
        'run',
        '--rm',
        'busybox',
        'sh',
        '-c',
        `trap "echo got-${name}; exit 7" ${name}; echo ready; while :; do sleep 0.05; done`,
      ]);
      const done = exitOf(child);
      await waitForOutput(child.stdout!, 'ready');
      child.kill(sig);
      const r = await done;
      expect(r.stdout).toContain(`got-${name}`);
      expect(r.code).toBe(7);
    });
  }

  it('exits 128+N when the container dies from signal N', async () => {
    const child = t.start(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'echo ready; while :; do sleep 0.05; done']);
    const done = exitOf(child);
    await waitForOutput(child.stdout!, 'ready');
    child.kill('SIGTERM');
    expect((await done).code).toBe(143);
  });

  // An orphan is re-parented to PID 1. A PID 1 that never calls wait() for it (here: xargs, which
  // waits for its own child only) leaves it <defunct>; box's --init reaps it. The orphan blocks on
  // a fifo until PID 1 has become xargs, and `ps` is polled a bounded number of times.
  const zombieScript = [
    'mkfifo /tmp/release',
    'sh -c "cat /tmp/release >/dev/null &"',
    // A zombie is one still there after 50 looks: an init reaps at once, but a loaded machine may
    // show the moment between the orphan's exit and its reaping to one look.
    "exec xargs sh -c 'echo go > /tmp/release; i=0; z=0; while [ $i -lt 400 ]; do " +
      's=$(ps -o stat,comm | grep -E "cat$" | cut -c1); [ "$s" = Z ] && z=$((z+1)); ' +
      '[ $z -ge 50 ] && echo zombie && exit 0; [ -z "$s" ] && echo reaped && exit 0; ' +
      "i=$((i+1)); done; echo undecided' </dev/null",
  ].join('; ');

  it('without --init, an orphan of a non-reaping PID 1 stays a zombie', () => {
    const r = t.box(['run', '--rm', 'busybox', 'sh', '-c', zombieScript]);
    expect(r.stdout.trim()).toBe('zombie');
  });

  it('with --init, every zombie is reaped and the command is not PID 1', () => {
    const r = t.box(['run', '--rm', '--init', 'busybox', 'sh', '-c', zombieScript]);
    expect(r.stdout.trim()).toBe('reaped');
    const ps = t.box(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'echo $$; cat /proc/1/cmdline | tr "\\0" " "']);
    expect(ps.stdout.split('\n')[0]).not.toBe('1');
  });

  it("-t gives a real terminal with the caller's size; Ctrl-C reaches the container; the terminal is restored", () => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const r = spawnSync(
      'python3',
      [
        driver,
        '--rows',
        '33',
        '--cols',
        '101',
        '--send-after',
        'ready',
        '--send',
        '\x03',
        '--',
        BOX,
        ...t.args([
          'run',
          '--rm',
          '-it',
          'busybox',
          'sh',
          '-c',
          'tty; stty size; [ /dev/console -ef "$(tty)" ] && echo console-is-tty; trap "echo got-INT; exit 5" INT; echo ready; while :; do sleep 0.05; done',
        ]),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { output: string; status: number; termiosRestored: boolean };
    expect(out.output).toMatch(/\/dev\/pts\/\d+/);
    expect(out.output).toContain('33 101');
    expect(out.output).toContain('console-is-tty');
    expect(out.output).toContain('got-INT');
    expect(out.status).toBe(5);
    expect(out.termiosRestored).toBe(true);
  });

  it("-it puts the caller's terminal in raw mode and what is typed reaches the container once", () => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    // '@raw': box has made the caller's terminal raw; only then is the line typed
    const r = spawnSync(
      'python3',
      [
        driver,
        '--step',
        '@raw',
        'hello there\r',
        '--',
        BOX,
        ...t.args(['run', '--rm', '-it', 'busybox', 'sh', '-c', 'read x; echo "got=$x"']),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as {
      output: string;
      status: number;
      termiosRestored: boolean;
      steps: number;
      rawModes: Record<string, boolean>;
    };
    expect(out.steps).toBe(1);
    // cfmakeraw's modes: no line editing, echo, signal keys or CR/LF translation on the caller's side
    expect(out.rawModes).toEqual({ icanon: false, echo: false, isig: false, icrnl: false, opost: false });
    // echoed once, by the container's terminal (the caller's no longer echoes), then read by the shell
    expect(out.output).toBe('hello there\r\ngot=hello there\r\n');
    expect(out.status).toBe(0);
    expect(out.termiosRestored).toBe(true);
  });

  // A terminal that hangs up (an ssh session dropped) ends the attach, as Docker's and podman's
  // clients end theirs: its SIGHUP reaches PID 1 as before; a foreground container lives no longer
  // than its box run, so one that ignores SIGHUP is then stopped as `box stop` would (SIGKILL after
  // 10 s) instead of waiting for a terminal that is gone. Its end is recorded; nothing is left.
  it.each([
    ['ends on its SIGHUP', 'trap "exit 3" HUP; echo ready; sleep 1000 & wait', 3],
    // a PID 1 without a handler for SIGHUP ignores it
    ['ignores SIGHUP: it is killed after the stop timeout', 'echo ready; sleep 1000', 137],
  ])('-it whose terminal hangs up: a container that %s', (_what, script, code) => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const name = `hup-${code}`;
    const r = spawnSync(
      'python3',
      [
        driver,
        '--hangup-after',
        'ready',
        '--timeout',
        '40',
        '--',
        BOX,
        ...t.args(['run', '--name', name, '-it', 'busybox', 'sh', '-c', script]),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { status: number; secondsAfterHangup: number };
    expect(out.status).toBe(code);
    if (code === 137) expect(out.secondsAfterHangup).toBeGreaterThanOrEqual(10);
    const state = JSON.parse(t.box(['inspect', '--format', '{{json .State}}', name]).stdout);
    expect([state.Status, state.ExitCode]).toEqual(['exited', code]);
    expect(t.box(['rm', name]).status).toBe(0);
  });

  it('-t propagates a window resize to the container', () => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const r = spawnSync(
      'python3',
      [
        driver,
        '--rows',
        '20',
        '--cols',
        '80',
        '--resize-after',
        'ready',
        '--resize',
        '40x120',
        '--',
        BOX,
        ...t.args([
          'run',
          '--rm',
          '-t',
          'busybox',
          'sh',
          '-c',
          'trap "stty size; exit 0" WINCH; echo ready; while :; do sleep 0.05; done',
        ]),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const out = JSON.parse(r.stdout) as { output: string; status: number };
    expect(out.output).toContain('40 120');
    expect(out.status).toBe(0);
  });
});
