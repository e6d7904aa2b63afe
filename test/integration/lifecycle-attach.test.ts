// Interacting with detached containers: exec -d, a terminal held by the monitor (run -dit, attach,
// detach keys), and standard input for containers created with -i (start -ai, attach).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  BOX,
  busyboxRoot,
  exitOf,
  inspectOne,
  nsProcesses,
  REPO,
  runDetached,
  TestRoot,
  until,
  waitForOutput,
} from '../support/box';

interface State {
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number };
}

const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');

/** Runs box on a real pseudo-terminal (test/support/pty-driver.py) with the given driver options. */
function onTerminal(t: TestRoot, driverArgs: string[], boxArgs: string[]) {
  const r = spawnSync('python3', [driver, '--timeout', '20', ...driverArgs, '--', BOX, ...t.args(boxArgs)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { output: string; status: number; termiosRestored: boolean; steps: number };
}

const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('interacting with detached containers', () => {
  const t = busyboxRoot();
  const state = (name: string) => inspectOne<State>(t, name).State;
  const logsOf = (name: string) => t.box(['logs', name]).stdout;
  /** A failed test must not leave its container running (it may be waiting for input). */
  const removeAfter = (name: string) => onTestFinished(() => void t.box(['rm', '-f', name]));

  it('exec -d starts a process and returns; it shows in top, exits, leaves no zombie, and its exit is an event', () => {
    removeAfter('bg');
    runDetached(t, '--name', 'bg', 'busybox', 'sh', '-c', 'echo up; exec sleep 1000'); // a PID 1 that never reaps
    until(
      'the container is up',
      () => logsOf('bg'),
      (o) => o.includes('up'),
    );
    const since = new Date().toISOString();
    const r = t.box([
      'exec',
      '-d',
      'bg',
      'sh',
      '-c',
      'echo discarded; while [ ! -f /tmp/go ]; do sleep 0.05; done; exit 3',
    ]);
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
    // box returned while the process waits for /tmp/go: it runs detached, in the container
    expect(t.box(['top', 'bg']).stdout).toMatch(/sh -c echo discarded; while/);
    expect(t.box(['exec', 'bg', 'touch', '/tmp/go']).status).toBe(0);
    until(
      'the detached process exits',
      () => t.box(['top', 'bg']).stdout,
      (o) => !o.includes('discarded'),
    );
    const ps = t.box(['exec', 'bg', 'ps', '-o', 'stat,comm']).stdout;
    expect(ps.split('\n').filter((l) => l.startsWith('Z'))).toEqual([]);
    const events = () =>
      t
        .box([
          'events',
          '--since',
          since,
          '--until',
          new Date(Date.now() + 1).toISOString(),
          '--format',
          'json',
          '--filter',
          'event=exec_die',
        ])
        .stdout.trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { Actor: { Attributes: Record<string, string> } });
    const died = until('the exec_die event', events, (e) =>
      e.some((x) => x.Actor.Attributes.execCommand.includes('discarded')),
    );
    expect(died.find((x) => x.Actor.Attributes.execCommand.includes('discarded'))!.Actor.Attributes).toMatchObject({
      name: 'bg',
      exitCode: '3',
    });
    expect(logsOf('bg')).toBe('up\n'); // exec's output is not the container's
    const bad = t.box(['exec', '-d', '-t', 'bg', 'true']);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/-d cannot be combined with -t or -i/);
    expect(t.box(['exec', '-d', 'bg', 'nope']).status).toBe(127);
  });

  it("exec: the orphans of exec'd processes are reaped although PID 1 never reaps; exit codes pass through", () => {
    removeAfter('orphans');
    runDetached(t, '--name', 'orphans', 'busybox', 'sleep', '1000'); // a PID 1 that never reaps
    const pid = state('orphans').Pid;
    for (let i = 0; i < 4; i++)
      expect(t.box(['exec', 'orphans', 'sh', '-c', 'sleep 0.1 & exit 0'])).toMatchObject({ status: 0, stderr: '' });
    expect(t.box(['exec', '-d', 'orphans', 'sh', '-c', 'sleep 0.1 & exit 0']).status).toBe(0);
    expect(t.box(['exec', 'orphans', 'sh', '-c', 'sleep 0.1 & exit 7']).status).toBe(7);
    expect(t.box(['exec', 'orphans', 'sh', '-c', 'kill -TERM $$']).status).toBe(143);
    // box returns when a command ends, not when its orphans do: the short sleeps end on their own
    until(
      'the short orphans gone',
      () => nsProcesses(pid).filter((p) => p.comm === 'sleep'),
      (ps) => ps.length === 0,
    );
    // ... and output is the command's
    const started = Date.now();
    const r = t.box([
      'exec',
      'orphans',
      'sh',
      '-c',
      'sleep 1000 >/dev/null 2>&1 & echo $! >/tmp/orphan; echo out; exit 5',
    ]);
    expect(r).toMatchObject({ status: 5, stdout: 'out\n', stderr: '' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(nsProcesses(pid).filter((p) => p.comm === 'sleep')).toHaveLength(1);
    expect(t.box(['exec', 'orphans', 'sh', '-c', 'kill -KILL $(cat /tmp/orphan)']).status).toBe(0);
    // every sleep ends, and with it its reaper: only PID 1 is left. A reaper is a zombie for a
    // moment until its helper, outside the container, collects it; one left under a PID 1 that
    // never reaps would stay for good, and this wait would run out showing it.
    const left = until(
      'the orphans and their reapers gone',
      () => nsProcesses(pid),
      (ps) => ps.length === 0,
    );
    expect(left).toEqual([]);
  });

  it('exec -it runs on a terminal of its own in the container: input, window size, exit code, terminal restored', () => {
    removeAfter('shell');
    runDetached(t, '--name', 'shell', 'busybox', 'sleep', '1000');
    const r = onTerminal(
      t,
      [
        '--rows',
        '33',
        '--cols',
        '77',
        '--step',
        '@raw',
        'tty; stty size; read x; echo got-$x; exit 4\r',
        '--step',
        '33 77',
        'typed\r',
      ],
      ['exec', '-it', 'shell', 'sh'],
    );
    expect(r.steps).toBe(2);
    expect(r.output).toMatch(/\/dev\/pts\/\d+\r\n33 77\r\n/);
    expect(r.output).toContain('got-typed\r\n');
    expect(r.status).toBe(4);
    expect(r.termiosRestored).toBe(true);
    const pid = state('shell').Pid;
    until(
      'the exec and its reaper gone',
      () => nsProcesses(pid),
      (ps) => ps.length === 0,
    );
  });

  it('run -dit: the monitor holds the terminal; attach types into it, Ctrl-P Ctrl-Q detaches and the container keeps running', () => {
    removeAfter('term');
    runDetached(t, '-dit', '--name', 'term', 'busybox', 'sh');
    const monitor = parentOf(state('term').Pid);
    expect(fs.readlinkSync(`/proc/${monitor}/exe`)).toMatch(/box-helper/);
    expect(rssKiB(monitor)).toBeLessThan(1024);
    // '@raw': attach has connected and put the terminal in raw mode; the window size is attach's
    const first = onTerminal(
      t,
      [
        '--rows',
        '30',
        '--cols',
        '90',
        '--step',
        '@raw',
        'echo mark-$((6*7)); stty size\r',
        '--step',
        '30 90',
        '\x10\x11',
      ],
      ['attach', 'term'],
    );
    expect(first.steps).toBe(2);
    expect(first.output).toContain('mark-42\r\n30 90\r\n');
    expect(first.output).toContain('read escape sequence');
    expect(first.status).toBe(1); // as Docker
    expect(first.termiosRestored).toBe(true);
    expect(state('term')).toMatchObject({ Status: 'running', Running: true });
    expect(logsOf('term')).toContain('mark-42\r\n');
    // again, with other detach keys, then end the shell: attach passes its exit code
    const second = onTerminal(
      t,
      ['--step', '@raw', 'echo again\r', '--step', 'again\r\n', 'exit 3\r'],
      ['attach', '--detach-keys', 'ctrl-a,x', 'term'],
    );
    expect(second.status).toBe(3);
    expect(second.termiosRestored).toBe(true);
    expect(state('term')).toMatchObject({ Status: 'exited', ExitCode: 3 });
    expect(t.box(['attach', '--detach-keys', 'ctrl-', 'term']).status).toBe(125);
  });

  it('start -ai of a container created with -it attaches before it runs: its first output is not missed', () => {
    removeAfter('later-tty');
    expect(
      t.box([
        'create',
        '-it',
        '--name',
        'later-tty',
        'busybox',
        'sh',
        '-c',
        'echo hello-first; read x; echo got=$x; exit 7',
      ]).status,
    ).toBe(0);
    const r = onTerminal(t, ['--step', 'hello-first', 'abc\r'], ['start', '-ai', 'later-tty']);
    expect(r.output).toContain('hello-first');
    expect(r.output).toContain('got=abc');
    expect(r.status).toBe(7);
    expect(r.termiosRestored).toBe(true);
    expect(logsOf('later-tty')).toContain('got=abc\r\n');
  });

  it("start -ai of a container created with -i gives it box's stdin, and its end (Docker's StdinOnce)", () => {
    removeAfter('upper');
    expect(
      t.box(['create', '-i', '--name', 'upper', 'busybox', 'sh', '-c', 'echo start; tr a-z A-Z; echo end >&2; exit 4'])
        .status,
    ).toBe(0);
    const r = t.box(['start', '-ai', 'upper'], { input: 'hello\nworld\n' });
    expect(r).toMatchObject({ status: 4, stdout: 'start\nHELLO\nWORLD\n', stderr: 'end\n' });
    // started again without -a: the container waits for input that only an attach can give
    expect(t.box(['start', 'upper']).status).toBe(0);
    until(
      'it runs again',
      () => logsOf('upper'),
      (o) => o === 'start\nHELLO\nWORLD\nstart\n',
    );
    expect(state('upper').Status).toBe('running');
    const again = t.box(['attach', 'upper'], { input: 'again\n' });
    expect(again).toMatchObject({ status: 4, stdout: 'AGAIN\n', stderr: 'end\n' });
  });

  it('attach to a run -di container: input reaches it, and its stdin stays open for the next attach', async () => {
    removeAfter('reader');
    runDetached(t, '-di', '--name', 'reader', 'busybox', 'sh', '-c', 'while read l; do echo got-$l; done; echo eof');
    for (const word of ['one', 'two']) {
      const att = spawn(BOX, t.args(['attach', 'reader']), { stdio: ['pipe', 'pipe', 'pipe'] });
      const done = exitOf(att);
      att.stdin!.end(`${word}\n`);
      await waitForOutput(att.stdout!, `got-${word}`);
      // attach's input ended, the container's did not (no StdinOnce for run -d): it still runs
      expect(state('reader').Status).toBe('running');
      att.kill('SIGKILL');
      await done;
    }
    expect(logsOf('reader')).toBe('got-one\ngot-two\n');
    expect(t.box(['stop', '-t', '1', 'reader']).status).toBe(0);
  });
});
