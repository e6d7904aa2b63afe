// Detached containers: the native monitor, logs, stop/kill/wait/rm, and recovery when the
// monitor or the runtime state is lost.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, cgroupDirsOf, exitOf, inspectOne, runDetached, TestRoot, waitForOutput } from '../support/box';

interface Inspect {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number; OOMKilled: boolean };
}

const inspect = (t: TestRoot, name: string) => inspectOne<Inspect>(t, name);

/** Polls a box command until its output satisfies `done` (bounded; no fixed sleeps). */
function until(t: TestRoot, args: string[], done: (out: string) => boolean, tries = 500): string {
  let out = '';
  for (let i = 0; i < tries; i++) {
    out = t.box(args).stdout;
    if (done(out)) return out;
  }
  throw new Error(`box ${args.join(' ')} never satisfied the condition; last output: ${out}`);
}

const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('detached containers', () => {
  const t = busyboxRoot();

  it('run -d returns the id while the container runs under a small native monitor', () => {
    const id = runDetached(t, '--name', 'svc', 'busybox', 'sh', '-c', 'echo started; while :; do sleep 0.1; done');
    const info = inspect(t, 'svc');
    expect(info).toMatchObject({ Id: id, Name: '/svc', State: { Status: 'running', Running: true } });
    const monitor = parentOf(info.State.Pid);
    expect(fs.readlinkSync(`/proc/${monitor}/exe`)).toMatch(/box-helper/);
    expect(rssKiB(monitor)).toBeLessThan(4096);
    const ps = t.box(['ps']).stdout;
    expect(ps).toMatch(/svc/);
    expect(ps).toMatch(/Up /);
    expect(until(t, ['logs', 'svc'], (o) => o.includes('started'))).toBe('started\n');
    expect(t.box(['rm', '-f', 'svc']).status).toBe(0);
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(t.containerIds()).not.toContain(id);
  });

  it('logs keep stdout and stderr apart and in order, and -f ends when the container stops', () => {
    runDetached(t, '--name', 'talker', 'busybox', 'sh', '-c', 'echo out1; echo err1 >&2; echo out2; printf partial');
    const waited = t.box(['wait', 'talker']);
    expect(waited.stdout).toBe('0\n');
    const logs = t.box(['logs', 'talker']);
    expect(logs.stdout).toBe('out1\nout2\npartial');
    expect(logs.stderr).toBe('err1\n');
    expect(t.box(['logs', '--tail', '1', 'talker']).stdout).toBe('partial');
    expect(t.box(['logs', '-t', 'talker']).stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z out1\n/);
    const follow = t.box(['logs', '-f', 'talker']);
    expect(follow.stdout).toBe('out1\nout2\npartial');
    t.box(['rm', 'talker']);
  });

  it('stop kills a shell PID 1 that ignores SIGTERM after the timeout (exit 137)', () => {
    runDetached(t, '--name', 'stubborn', 'busybox', 'sh', '-c', 'echo up; while :; do sleep 0.1; done');
    until(t, ['logs', 'stubborn'], (o) => o.includes('up'));
    const start = Date.now();
    expect(t.box(['stop', '-t', '1', 'stubborn']).status).toBe(0);
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000);
    expect(inspect(t, 'stubborn').State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    t.box(['rm', 'stubborn']);
  });

  it('stop lets a container that handles SIGTERM clean up, and its output is in the logs', () => {
    runDetached(
      t,
      '--name',
      'polite',
      'busybox',
      'sh',
      '-c',
      'trap "echo cleaning up; exit 0" TERM; echo up; while :; do sleep 0.1; done',
    );
    until(t, ['logs', 'polite'], (o) => o.includes('up'));
    expect(t.box(['stop', '-t', '30', 'polite']).status).toBe(0);
    expect(inspect(t, 'polite').State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    expect(t.box(['logs', 'polite']).stdout).toBe('up\ncleaning up\n');
    t.box(['rm', 'polite']);
  });

  it('kill sends a signal, wait prints the exit code, rm refuses a running container', () => {
    runDetached(
      t,
      '--name',
      'target',
      'busybox',
      'sh',
      '-c',
      'trap "echo usr1; exit 3" USR1; echo up; while :; do sleep 0.1; done',
    );
    until(t, ['logs', 'target'], (o) => o.includes('up'));
    const rm = t.box(['rm', 'target']);
    expect(rm.status).toBe(125);
    expect(rm.stderr).toMatch(/is running/);
    expect(t.box(['kill', '-s', 'USR1', 'target']).status).toBe(0);
    expect(t.box(['wait', 'target']).stdout).toBe('3\n');
    expect(t.box(['logs', 'target']).stdout).toBe('up\nusr1\n');
    t.box(['rm', 'target']);
  });

  it('--rm removes a detached container when it exits', () => {
    const id = runDetached(t, '--rm', 'busybox', 'true');
    until(t, ['ps', '-a', '-q'], (o) => !o.includes(id.slice(0, 12)));
    expect(t.containerIds()).not.toContain(id);
    expect(cgroupDirsOf(id)).toEqual([]);
  });

  it('a monitor killed with SIGKILL takes its container down, and box accounts for it', () => {
    const id = runDetached(
      t,
      '--name',
      'orphan',
      '--memory',
      '32m',
      'busybox',
      'sh',
      '-c',
      'while :; do sleep 0.1; done',
    );
    const pid = inspect(t, 'orphan').State.Pid;
    process.kill(parentOf(pid), 'SIGKILL');
    const info = JSON.parse(until(t, ['inspect', 'orphan'], (o) => o.includes('"exited"')))[0] as Inspect;
    expect(info.State.ExitCode).toBe(137);
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(
      fs.existsSync(`/proc/${pid}`) && !/^Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]),
    ).toBe(false);
    expect(t.box(['rm', 'orphan']).status).toBe(0);
  });

  it('after the runtime state is lost (monitors killed, runroot wiped) ps shows the truth and rm works', () => {
    const id = runDetached(t, '--name', 'lost', 'busybox', 'sh', '-c', 'while :; do sleep 0.1; done');
    const pid = inspect(t, 'lost').State.Pid;
    process.kill(parentOf(pid), 'SIGKILL');
    fs.rmSync(path.join(t.root, 'run'), { recursive: true, force: true });
    const ps = until(t, ['ps', '-a', '--format', 'json'], (o) => o.includes('"exited"'));
    expect(
      JSON.parse(
        ps
          .trim()
          .split('\n')
          .find((l) => l.includes('lost'))!,
      ),
    ).toMatchObject({ State: 'exited' });
    expect(t.box(['rm', 'lost']).status).toBe(0);
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(t.containerIds()).not.toContain(id);
  });

  it('refuses bad log options before creating anything', () => {
    const before = t.containerIds();
    expect(t.box(['run', '-d', '--log-opt', 'max-size=lots', 'busybox', 'true']).status).toBe(125);
    expect(t.containerIds()).toEqual(before);
  });

  it('exec joins the container: namespaces, cgroup, security, user, env; exit codes pass through', () => {
    runDetached(
      t,
      '--name',
      'host',
      '--hostname',
      'inside',
      'busybox',
      'sh',
      '-c',
      'echo up; while :; do sleep 0.1; done',
    );
    until(t, ['logs', 'host'], (o) => o.includes('up'));
    const ex = (...args: string[]) => t.box(['exec', ...args]);
    expect(ex('host', 'hostname').stdout).toBe('inside\n');
    expect(ex('host', 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline').stdout).toMatch(/^sh -c echo up/);
    const status = ex('host', 'grep', '-E', '^(CapEff|NoNewPrivs|Seccomp):', '/proc/self/status').stdout;
    expect(status).toMatch(/CapEff:\s+00000000a80425fb/);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    expect(status).toMatch(/Seccomp:\s+2/);
    expect(ex('-u', 'app', '-e', 'X=1', '-w', '/tmp', 'host', 'sh', '-c', 'echo $(id -u) $X $(pwd)').stdout).toBe(
      '1000 1 /tmp\n',
    );
    expect(ex('host', 'sh', '-c', 'exit 5').status).toBe(5);
    const missing = ex('host', 'nope');
    expect(missing.status).toBe(127);
    expect(missing.stderr).toMatch(/nope.*not found/);
    expect(ex('-i', 'host', 'cat').status).toBe(0);
    expect(t.box(['exec', '-i', 'host', 'tr', 'a-z', 'A-Z'], { input: 'piped\n' }).stdout).toBe('PIPED\n');
    t.box(['rm', '-f', 'host']);
  });

  it('processes run by exec are reaped even when PID 1 never reaps', () => {
    runDetached(t, '--name', 'noreap', 'busybox', 'sh', '-c', 'echo up; exec sleep 1000');
    until(t, ['logs', 'noreap'], (o) => o.includes('up'));
    for (let i = 0; i < 5; i++) expect(t.box(['exec', 'noreap', 'true']).status).toBe(0);
    const ps = t.box(['exec', 'noreap', 'ps', '-o', 'stat,comm']).stdout;
    expect(ps.split('\n').filter((l) => l.startsWith('Z'))).toEqual([]);
    t.box(['rm', '-f', 'noreap']);
  });

  it('exec into a stopped or unknown container is a one-line error', () => {
    runDetached(t, '--name', 'gone', 'busybox', 'true');
    t.box(['wait', 'gone']);
    const r = t.box(['exec', 'gone', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/not running/);
    expect(t.box(['exec', 'nosuch', 'true']).stderr).toMatch(/no such container/);
    t.box(['rm', 'gone']);
  });

  interface Restarts {
    State: { Status: string; Running: boolean; Restarting: boolean; ExitCode: number };
    RestartCount: number;
  }
  const restarts = (name: string) => (JSON.parse(t.box(['inspect', name]).stdout) as Restarts[])[0];

  it('on-failure:3 restarts exactly 3 times, with growing delays, then gives up', () => {
    runDetached(
      t,
      '--name',
      'flaky',
      '--restart',
      'on-failure:3',
      '--restart-delay',
      '200ms,10s,10s',
      'busybox',
      'sh',
      '-c',
      'echo start; exit 1',
    );
    until(
      t,
      ['inspect', 'flaky'],
      (o) => {
        const r = (JSON.parse(o) as Restarts[])[0];
        return r.RestartCount === 3 && r.State.Status === 'exited' && !r.State.Restarting;
      },
      3000,
    );
    expect(restarts('flaky').State.ExitCode).toBe(1);
    const starts = t
      .box(['logs', '-t', 'flaky'])
      .stdout.trim()
      .split('\n')
      .map((l) => Date.parse(l.split(' ')[0]));
    expect(starts).toHaveLength(4);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(200); // 200 ms, then 400 ms, then 800 ms
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    expect(gaps[2]).toBeGreaterThan(gaps[1]);
    t.box(['rm', 'flaky']);
  });

  it('always restarts after a crash but not after stop', () => {
    runDetached(
      t,
      '--name',
      'phoenix',
      '--restart',
      'always',
      '--restart-delay',
      '100ms',
      'busybox',
      'sh',
      '-c',
      'echo start; sleep 0.3; exit 2',
    );
    until(t, ['inspect', 'phoenix'], (o) => (JSON.parse(o) as Restarts[])[0].RestartCount >= 1, 3000);
    expect(t.box(['stop', '-t', '1', 'phoenix']).status).toBe(0);
    const after = restarts('phoenix');
    expect(after.State).toMatchObject({ Status: 'exited', Restarting: false });
    // Longer than the back-off it would have used (100 ms doubling): no attempt may follow a stop.
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) expect(restarts('phoenix').RestartCount).toBe(after.RestartCount);
    expect(t.box(['ps', '-a']).stdout).toMatch(/phoenix/);
    t.box(['rm', 'phoenix']);
  });

  /** The container's record as box stores it (the back-off's pid is its monitorPid while restarting). */
  const record = (id: string) =>
    JSON.parse(fs.readFileSync(path.join(t.root, 'containers', id, 'container.json'), 'utf8')) as {
      state: { status?: string; monitorPid?: number; nextRestartAt?: string; restarting?: boolean };
    };
  const alive = (pid: number) =>
    fs.existsSync(`/proc/${pid}`) && !/^[ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]);

  it('a killed back-off is resumed by the next box command for the time that was left; the count is kept', () => {
    const id = runDetached(
      t,
      '--name',
      'resume',
      '--restart',
      'always',
      '--restart-delay',
      '2s',
      'busybox',
      'sh',
      '-c',
      'exit 3',
    );
    until(t, ['inspect', 'resume'], (o) => (JSON.parse(o) as Restarts[])[0].State.Restarting);
    const waiting = record(id).state;
    expect(waiting.restarting).toBe(true);
    const due = Date.parse(waiting.nextRestartAt!);
    process.kill(waiting.monitorPid!, 'SIGKILL');
    let tries = 0;
    while (alive(waiting.monitorPid!) && tries++ < 1000) fs.readdirSync('/proc'); // reaped by the host's init
    expect(t.box(['ps', '-a']).status).toBe(0);
    const resumed = record(id).state;
    expect(resumed.restarting).toBe(true);
    expect(resumed.monitorPid).not.toBe(waiting.monitorPid);
    expect(alive(resumed.monitorPid!)).toBe(true);
    const r = until(t, ['inspect', 'resume'], (o) => (JSON.parse(o) as Restarts[])[0].RestartCount >= 1, 5000);
    const after = (JSON.parse(r) as (Restarts & { State: { StartedAt: string } })[])[0];
    expect(after.RestartCount).toBe(1);
    // not before it was due (the time left, not a new full delay or none)
    expect(Date.parse(after.State.StartedAt)).toBeGreaterThanOrEqual(due - 5);
    expect(Date.parse(after.State.StartedAt)).toBeLessThan(due + 1500);
    expect(t.box(['rm', '-f', 'resume']).status).toBe(0);
  });

  /** What holds the container's lock: its directory (runtime/container-lock.ts). */
  const lockPathOf = (id: string) => path.join(t.root, 'containers', id);

  /** Holds a container's lock until the returned function is called. */
  const holdLock = async (lockPath: string) => {
    const holder = spawn(
      'python3',
      [
        '-c',
        'import fcntl, os, sys; f = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); sys.stdin.read()',
        lockPath,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const released = exitOf(holder);
    await waitForOutput(holder.stdout!, 'locked');
    return () => {
      holder.stdin!.end();
      return released;
    };
  };

  /** True if process PID has FILE open. */
  const hasOpen = (pid: number, file: string) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file);
    } catch {
      return false;
    }
  };

  const childrenOf = (pid: number) =>
    fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);

  it('a stop that comes while a restart attempt is starting the container leaves it stopped', async () => {
    const id = runDetached(
      t,
      '--name',
      'racer',
      '--restart',
      'always',
      '--restart-delay',
      '1s,1s',
      'busybox',
      'sh',
      '-c',
      'trap "exit 1" TERM; sleep 1000 & wait',
    );
    const lockPath = lockPathOf(id);
    // Hold the lock while the container waits out its back-off, so that the attempt, once the
    // back-off is over, waits for it (if the attempt won the race to the lock, once more).
    let release: (() => Promise<unknown>) | undefined;
    for (let attempt = 0; attempt < 5 && !release; attempt++) {
      until(t, ['inspect', 'racer'], (o) => (JSON.parse(o) as Restarts[])[0].State.Running);
      expect(t.box(['kill', '-s', 'TERM', 'racer']).status).toBe(0); // not a stop by the user: it restarts
      until(t, ['inspect', 'racer'], (o) => (JSON.parse(o) as Restarts[])[0].State.Restarting);
      const unlock = await holdLock(lockPath);
      if (record(id).state.restarting) release = unlock;
      else await unlock();
    }
    try {
      const backoff = record(id).state.monitorPid!;
      // the attempt (the back-off became box) has the lock file open while it waits for the lock
      const waitingForLock = () => hasOpen(backoff, lockPath);
      const deadline = Date.now() + 10_000;
      while (!waitingForLock() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(waitingForLock()).toBe(true);
    } finally {
      await release?.();
    }
    // the attempt gets the lock first and starts the container; stop then stops that one
    expect(t.box(['stop', '-t', '1', 'racer']).status).toBe(0);
    const after = restarts('racer');
    expect(after.State).toMatchObject({ Status: 'exited', Restarting: false });
    expect(after.RestartCount).toBeGreaterThanOrEqual(1);
    expect(record(id).state.restarting).toBeFalsy();
    t.box(['rm', 'racer']);
  });

  /** A running `sleep` whose policy restarts it after 30 s: its id, its monitor's and its init's pids. */
  const restartingSleeper = (name: string) => {
    const id = runDetached(
      t,
      '--name',
      name,
      '--restart',
      'always',
      '--restart-delay',
      '30s',
      'busybox',
      'sleep',
      '1000',
    );
    const { monitorPid, pid } = record(id).state as { monitorPid: number; pid: number };
    return { id, monitor: monitorPid, init: pid };
  };

  /** Waits (bounded) for process PID to be gone, and says so. */
  const expectGone = (pid: number) => {
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) fs.readdirSync('/proc');
    expect(alive(pid)).toBe(false);
  };

  it('a stop or rm while the monitor is becoming the back-off ends it, and no second back-off starts', async () => {
    // The monitor's exit callback records the restart (the monitor's pid as the back-off's), then
    // the monitor becomes the delay. Here the monitor is held stopped in between.
    const { id, monitor, init } = restartingSleeper('turning');
    const lockPath = lockPathOf(id);
    const unlock = await holdLock(lockPath);
    let stopped = false;
    try {
      process.kill(init, 'SIGKILL'); // not a stop by the user: the policy restarts it
      // the callback (a child of the monitor) waits for the lock we hold: stop the monitor now
      const deadline = Date.now() + 10_000;
      const callbackWaits = () => childrenOf(monitor).some((p) => hasOpen(p, lockPath));
      while (!callbackWaits() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(callbackWaits()).toBe(true);
      process.kill(monitor, 'SIGSTOP');
      stopped = true;
    } finally {
      await unlock();
    }
    try {
      for (let i = 0; i < 2000 && !record(id).state.restarting; i++) fs.readdirSync('/proc');
      expect(record(id).state).toMatchObject({ restarting: true, monitorPid: monitor });
      // the monitor is not the delay yet: it is not taken for a dead back-off to be replaced
      expect(t.box(['ps', '-a']).status).toBe(0);
      expect(record(id).state.monitorPid).toBe(monitor);
      expect(t.box(['rm', '-f', 'turning']).status).toBe(0);
    } finally {
      if (stopped && alive(monitor)) process.kill(monitor, 'SIGCONT');
    }
    // left alone it would become a 30 s delay: rm ended it instead
    expectGone(monitor);
  });

  it('rm -f that read the exit before the monitor recorded the restart still ends the back-off', async () => {
    const { id, monitor, init } = restartingSleeper('between');
    const bridge = (JSON.parse(t.box(['network', 'inspect', 'bridge']).stdout) as { Id: string }[])[0].Id;
    // The exit callback releases the container's address under the network's lock, after it has
    // recorded the exit and before it records the restart: held here, it stops in between.
    const unlockNetwork = await holdLock(path.join(t.root, 'run', 'locks', 'networks', `${bridge}.lock`));
    let rm: ReturnType<typeof exitOf> | undefined;
    try {
      process.kill(init, 'SIGKILL'); // not a stop by the user: the policy restarts it
      for (let i = 0; i < 5000 && record(id).state.status !== 'exited'; i++) fs.readdirSync('/proc');
      expect(record(id).state).toMatchObject({ status: 'exited' });
      expect(record(id).state.restarting).toBeFalsy();
      const remover = t.start(['rm', '-f', 'between']);
      rm = exitOf(remover);
      // rm has read the exit and waits for the container's lock, which the callback holds
      const deadline = Date.now() + 10_000;
      while (!hasOpen(remover.pid!, lockPathOf(id)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      expect(hasOpen(remover.pid!, lockPathOf(id))).toBe(true);
    } finally {
      await unlockNetwork();
    }
    const removed = await rm!;
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(fs.existsSync(path.join(t.root, 'containers', id))).toBe(false);
    // the monitor had become (or was becoming) a 30 s back-off: rm ended it
    expectGone(monitor);
  });

  it('of two concurrent run -d with the same name one wins, the other gets a one-line error', async () => {
    const runs = [0, 1].map(() => t.start(['run', '-d', '--name', 'same', 'busybox', 'sleep', '1000']));
    const results = await Promise.all(runs.map(exitOf));
    const won = results.filter((r) => r.code === 0);
    expect(won).toHaveLength(1);
    expect(won[0].stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const lost = results.find((r) => r.code !== 0)!;
    expect(lost.code).toBe(125);
    expect(lost.stderr).toMatch(
      /^box: the container name "same" is already in use by container "[0-9a-f]{12}": remove it or choose another name\n$/,
    );
    expect(inspect(t, 'same').State.Running).toBe(true);
    expect(t.box(['ps', '-aq']).stdout.trim().split('\n').filter(Boolean)).toHaveLength(1);
    expect(t.box(['rm', '-f', 'same']).status).toBe(0);
  });

  it('refuses --restart with --rm or without -d, and a malformed policy', () => {
    expect(t.box(['run', '-d', '--rm', '--restart', 'always', 'busybox', 'true']).stderr).toMatch(
      /conflicting options/,
    );
    expect(t.box(['run', '--restart', 'always', 'busybox', 'true']).stderr).toMatch(/add -d/);
    const bad = t.box(['run', '-d', '--restart', 'sometimes', 'busybox', 'true']);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/invalid --restart/);
  });
});
