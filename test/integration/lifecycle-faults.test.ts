// Killed at any moment, box loses nothing (issue 19, items 1-3): a container whose foreground
// `box run` or whose helper was killed is finalised or fully managed by the next command, and no
// command waits without a bound. Every box command here runs with a spawnSync timeout, so a hang
// fails the test instead of the suite.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  BOX,
  busyboxRoot,
  cgroupDirsOf,
  exitOf,
  inspectOne,
  leftovers,
  REPO,
  Result,
  runDetached,
  snapshot,
  TestRoot,
  until,
  holdLockFile,
} from '../support/box';
import { vethsOf } from '../support/network';

interface RecordState {
  status: string;
  pid?: number;
  monitorPid?: number;
  ownerPid?: number;
  exitCode?: number;
  error?: string;
}

interface Inspected {
  State: { Status: string; ExitCode: number; Error: string };
}

/** The record of the container called `name`, read from disk (not through box, which would refresh it). */
function recordOf(t: TestRoot, name: string): { id: string; state: RecordState } | undefined {
  for (const id of t.containerIds()) {
    try {
      const file = path.join(t.root, 'containers', id, 'container.json');
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; state: RecordState };
      if (r.name === name) return { id, state: r.state };
    } catch {
      /* being written or removed */
    }
  }
  return undefined;
}

/** A box command that must return within `ms` (a hang is a failure, not a stuck test run). */
function boxWithin(t: TestRoot, args: string[], ms = 25_000): Result {
  const r = t.box(args, { timeout: ms });
  if (r.signal) throw new Error(`box ${args.join(' ')} did not return within ${ms} ms: ${r.stderr}`);
  return r;
}

function alive(pid: number): boolean {
  try {
    return !/^[ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]);
  } catch {
    return false;
  }
}

/** Children of a process, from every one of its threads. */
function childrenOf(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** Processes whose command line contains all of `words` as whole arguments. */
function processesWith(...words: string[]): number[] {
  const needle = `\0${words.join('\0')}\0`;
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return `\0${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')}`.includes(needle);
      } catch {
        return false;
      }
    });
}

/**
 * Waits until the helper that box (pid) spawned has forked the monitor (it has read the whole spec
 * then) and returns the helper's pid; undefined if the start went by before it was seen.
 */
function monitorForked(pid: number): number | undefined {
  const [helper] = until(
    'the helper',
    () => childrenOf(pid),
    (c) => c.length > 0 || !alive(pid),
    30_000,
  );
  if (helper === undefined) return undefined;
  const [monitor] = until(
    'the monitor',
    () => childrenOf(helper),
    (c) => c.length > 0 || !alive(helper),
    30_000,
  );
  return monitor !== undefined && alive(helper) ? helper : undefined;
}

/** The monitor's state file of a detached container ('' until it is written). */
function monitorState(t: TestRoot, id: string): string {
  try {
    return fs.readFileSync(path.join(t.root, 'run', 'containers', `${id}.state`), 'utf8');
  } catch {
    return '';
  }
}

function kill(pid: number, sig: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

// These tests are about the helper, monitor and owner protocol. With a network, box itself holds
// the start between clone and exec (it attaches the network in the helper's onInitReady hook), so
// a box stopped or killed there aborts the start instead; network.test.ts covers that case.
const NO_NETWORK = ['--network', 'none'];

describe('a foreground box run killed after the start', () => {
  const t = busyboxRoot();

  /** Starts `box run ARGS` in the foreground and waits until its container is recorded as running. */
  function runningForeground(name: string, ...args: string[]) {
    const box = t.start(['run', '--name', name, ...NO_NETWORK, ...args]);
    // its exit, not the end of its output: the container holds box's stdout and stderr
    const done = new Promise<number | null>((resolve) => box.on('exit', (code) => resolve(code)));
    const rec = until(
      `${name} running`,
      () => recordOf(t, name),
      (r) => r?.state.status === 'running',
    );
    // its start event comes right after the record says running
    const events = () => fs.readFileSync(path.join(t.root, 'run', 'events.jsonl'), 'utf8');
    until(`${name}'s start event`, events, (s) => s.includes(`"status":"start","id":"${rec!.id}"`));
    return { box, done, id: rec!.id, state: rec!.state };
  }

  it('with --rm: the next command stops the container and removes it, its cgroups, its name and its anonymous volume', async () => {
    const before = snapshot(t);
    const since = new Date().toISOString();
    const mounts = ['-v', '/anon', '-v', 'fgkept:/kept'];
    const { box, done, id, state } = runningForeground('fg-rm', '--rm', ...mounts, 'busybox', 'sleep', '1000');
    const volumes = () => boxWithin(t, ['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean).sort();
    expect(volumes()).toHaveLength(2);
    expect(state.ownerPid).toBe(box.pid);
    box.kill('SIGKILL');
    await done;
    // The container outlives box (its helper is in a process group of its own) until a command looks.
    expect(alive(state.pid!)).toBe(true);
    const ps = boxWithin(t, ['ps', '-a']);
    expect(ps.status).toBe(0);
    expect(ps.stdout).not.toContain('fg-rm');
    expect(recordOf(t, 'fg-rm')).toBeUndefined();
    expect(alive(state.pid!)).toBe(false);
    expect(alive(state.monitorPid!)).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
    // its anonymous volume went with it; the named one stays, used by nobody
    expect(volumes()).toEqual(['fgkept']);
    expect(fs.readdirSync(path.join(t.root, 'volumes', 'fgkept', 'uses'))).toEqual([]);
    expect(boxWithin(t, ['volume', 'rm', 'fgkept']).status).toBe(0);
    const rm = boxWithin(t, ['rm', '-f', 'fg-rm']);
    expect(rm.stderr).toContain('no such container');
    // the name is free again
    expect(boxWithin(t, ['run', '--rm', '--name', 'fg-rm', 'busybox', 'true']).status).toBe(0);
    const until = new Date(Date.now() + 1).toISOString();
    const events = boxWithin(t, [
      'events',
      '--since',
      since,
      '--until',
      until,
      '--format',
      'json',
      '--filter',
      `container=${id}`,
    ]).stdout;
    expect(
      events
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).Action),
    ).toEqual(['create', 'start', 'die', 'destroy']);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('without --rm: the end is recorded as 137 and says why; rm -f returns at once', async () => {
    const { box, done, state } = runningForeground('fg-keep', 'busybox', 'sleep', '1000');
    box.kill('SIGKILL');
    await done;
    const st = inspectOne<Inspected>(t, 'fg-keep').State;
    expect(st).toMatchObject({ Status: 'exited', ExitCode: 137 });
    expect(st.Error).toBe(`box run (pid ${box.pid}), which owned the container, was killed: the container was stopped`);
    expect(alive(state.pid!)).toBe(false);
    expect(boxWithin(t, ['rm', '-f', 'fg-keep'], 10_000).status).toBe(0);
  });

  it('whose container ended before the next command: the exit code is recorded as unknown (255)', async () => {
    const { box, done, state } = runningForeground('fg-ended', 'busybox', 'sleep', '1000');
    box.kill('SIGKILL');
    await done;
    kill(state.pid!); // the helper reaps it and exits: nobody is left to tell the exit code
    until(
      'the helper gone',
      () => alive(state.monitorPid!),
      (a) => !a,
    );
    const st = inspectOne<Inspected>(t, 'fg-ended').State;
    expect(st).toMatchObject({ Status: 'exited', ExitCode: 255 });
    expect(st.Error).toContain('was killed before it recorded the exit: the exit code is unknown');
    expect(boxWithin(t, ['rm', 'fg-ended']).status).toBe(0);
  });

  it('with --rm, killed before its container started: the next command leaves nothing of it', async () => {
    const before = snapshot(t);
    for (let round = 0; round < 3; round++) {
      const name = `fg-early-${round}`;
      const box = t.start(['run', '--rm', '--name', name, 'busybox', 'sleep', '1000']);
      const done = new Promise((resolve) => box.on('exit', resolve));
      // the helper has just been spawned: the container is not started yet, or only just
      until(
        'the helper',
        () => childrenOf(box.pid!),
        (c) => c.length > 0,
        30_000,
      );
      box.kill('SIGKILL');
      await done;
      expect(boxWithin(t, ['ps', '-a']).stdout).not.toContain(name);
      expect(recordOf(t, name)).toBeUndefined();
      // a helper that was setting the container up fails once its cgroup is gone
      until(
        'nothing left',
        () => leftovers(t, before),
        (l) => l.length === 0,
      );
    }
  });

  it('with -it: the container is stopped through its cgroup, so its helper restores the terminal', async () => {
    const flag = path.join(t.dir, 'tty-done');
    // the terminal's modes are compared once box is gone and the next command has run (the flag)
    const script = `"$0" "$@"; while [ ! -e ${flag} ]; do sleep 0.05; done`;
    const boxArgs = t.args(['run', '--rm', '-it', '--name', 'fg-tty', 'busybox', 'sh', '-c', 'echo ready; sleep 1000']);
    const ptyDriver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const driverArgs = [ptyDriver, '--timeout', '60', '--', 'sh', '-c', script, BOX, ...boxArgs];
    const driver = spawn('python3', driverArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const report = exitOf(driver);
    const rec = until(
      'fg-tty running',
      () => recordOf(t, 'fg-tty'),
      (r) => r?.state.status === 'running',
      30_000,
    );
    kill(rec!.state.ownerPid!);
    until(
      'box gone',
      () => alive(rec!.state.ownerPid!),
      (a) => !a,
    );
    expect(boxWithin(t, ['ps', '-a']).stdout).not.toContain('fg-tty');
    expect(alive(rec!.state.monitorPid!)).toBe(false);
    fs.writeFileSync(flag, '');
    const out = JSON.parse((await report).stdout) as { termiosRestored: boolean };
    expect(out.termiosRestored).toBe(true);
  });

  it('box stop of a foreground container stops it, and its box run records the end', async () => {
    const { done } = runningForeground('fg-stop', 'busybox', 'sleep', '1000');
    const stop = boxWithin(t, ['stop', '-t', '1', 'fg-stop']);
    expect(stop.status).toBe(0);
    expect(await done).toBe(137); // sleep as PID 1 ignores SIGTERM
    expect(inspectOne<Inspected>(t, 'fg-stop').State).toMatchObject({ Status: 'exited', ExitCode: 137, Error: '' });
    expect(boxWithin(t, ['rm', 'fg-stop']).status).toBe(0);
  });
});

describe('a helper or monitor killed while a detached container starts or runs', () => {
  const t = busyboxRoot();

  /**
   * After `box run -d` returned: a container that runs is fully managed (its monitor recorded, stop
   * and rm return), one that does not has left nothing behind and its start said why.
   */
  const HELPER_KILLED = 'cannot start the container: box-helper was killed by SIGKILL before it started';

  function expectManageable(
    name: string,
    r: { code: number | null; stderr: string },
    why = HELPER_KILLED,
  ): 'managed' | 'failed' {
    if (r.code === 0) {
      const rec = recordOf(t, name)!;
      expect(rec.state.status).toBe('running');
      expect(alive(rec.state.monitorPid!)).toBe(true);
      expect(boxWithin(t, ['stop', '-t', '1', name]).status).toBe(0);
      expect(recordOf(t, name)!.state.status).toBe('exited');
      expect(cgroupDirsOf(rec.id)).toEqual([]);
      expect(boxWithin(t, ['rm', name]).status).toBe(0);
      return 'managed';
    }
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(`box: ${why}\n`);
    expect(recordOf(t, name)!.state.status).toBe('created');
    expect(boxWithin(t, ['rm', name]).status).toBe(0);
    return 'failed';
  }

  // on --network none box reads the helper's events once it exited (eventsAtExit): killed before the
  // start was decided, its monitor still holds their fd and says the rest later
  it.each([
    ['the default network', []],
    ['--network none', NO_NETWORK],
  ])(
    'the helper killed after it forked the monitor (%s): box learns the monitor from its state file',
    async (_net, net) => {
      const before = snapshot(t);
      let hit = 0;
      for (let round = 0; round < 5 && hit < 2; round++) {
        const name = `helper-killed-${net.length}-${round}`;
        const box = t.start(['run', '-d', '--name', name, ...net, 'busybox', 'sleep', '1000']);
        const done = exitOf(box);
        // killed once it forked the monitor, the helper never reports the monitor's pid
        const helper = monitorForked(box.pid!);
        const killed = helper !== undefined && kill(helper);
        const r = await done;
        if (killed && r.code === 0) hit++;
        expect(expectManageable(name, r)).toBe('managed');
      }
      expect(hit).toBeGreaterThan(0);
      expect(leftovers(t, before)).toEqual([]);
    },
  );

  it('the helper killed at once, or once the container started: the start fails cleanly or is managed', async () => {
    const before = snapshot(t);
    for (const when of ['at once', 'once started']) {
      const name = `helper-${when.replace(' ', '-')}`;
      const box = t.start(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']);
      const done = exitOf(box);
      // (on a loaded machine the whole start may go by between two looks: then nothing is killed)
      const [helper] = until(
        'the helper',
        () => childrenOf(box.pid!),
        (c) => c.length > 0 || !alive(box.pid!),
        30_000,
      );
      if (helper !== undefined && when === 'once started') {
        const { id } = recordOf(t, name)!;
        until(
          'the container started',
          () => monitorState(t, id),
          (st) => st.includes('started') || !alive(helper),
          30_000,
        );
      }
      if (helper !== undefined) kill(helper);
      expectManageable(name, await done);
    }
    expect(leftovers(t, before)).toEqual([]);
  });

  it('the monitor killed while it starts the container: the start fails cleanly, saying so', async () => {
    const before = snapshot(t);
    let hit = 0;
    for (let round = 0; round < 5 && hit === 0; round++) {
      const name = `monitor-early-${round}`;
      const box = t.start(['run', '-d', '--name', name, ...NO_NETWORK, 'busybox', 'sleep', '1000']);
      const done = exitOf(box);
      const helper = monitorForked(box.pid!);
      const [monitor] = helper === undefined ? [] : childrenOf(helper);
      const killed = monitor !== undefined && kill(monitor);
      const r = await done;
      if (killed && r.code !== 0) {
        hit++;
        expectManageable(name, r, 'cannot start the container (monitor): the monitor was killed by signal 9 (EINTR)');
      } else {
        // too late (it had started the container): the record is finalised by the next command
        expect(boxWithin(t, ['rm', '-f', name]).status).toBe(0);
      }
    }
    expect(hit).toBe(1);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('box run -d killed after its helper started the container: the next command records the start', async () => {
    // a loaded machine may run a whole start between two looks at /proc: then another round
    for (let round = 0; ; round++) {
      const name = `box-killed-${round}`;
      const box = t.start(['run', '-d', '--name', name, ...NO_NETWORK, 'busybox', 'sleep', '1000']);
      const done = exitOf(box);
      if (monitorForked(box.pid!) === undefined) {
        expect((await done).code).toBe(0);
        expect(boxWithin(t, ['rm', '-f', name]).status).toBe(0);
        expect(round).toBeLessThan(5);
        continue;
      }
      // stopped before it learns how the start went, killed once the monitor started the container
      // (and killed whatever happens: a stopped box left behind holds the container's lock)
      onTestFinished(() => void box.kill('SIGKILL'));
      box.kill('SIGSTOP');
      const { id } = recordOf(t, name)!;
      until(
        'the container started',
        () => monitorState(t, id),
        (st) => st.includes('started'),
      );
      box.kill('SIGKILL');
      await done;
      expect(recordOf(t, name)!.state.status).toBe('created'); // box was killed before it recorded the start
      expect(boxWithin(t, ['ps']).stdout).toContain(name);
      expect(recordOf(t, name)!.state).toMatchObject({ status: 'running' });
      expect(expectManageable(name, { code: 0, stderr: '' })).toBe('managed');
      return;
    }
  });

  it('the box of a restart attempt killed after the monitor started the container: the attempt is recorded, not repeated', () => {
    const before = snapshot(t);
    const script = 'trap "exit 1" TERM; sleep 1000 & wait';
    const id = runDetached(
      t,
      '--name',
      'restarted',
      ...NO_NETWORK,
      '--restart',
      'always',
      '--restart-delay',
      '300ms,300ms',
      'busybox',
      'sh',
      '-c',
      script,
    );
    // a TERM (not a stop) ends it and the policy restarts it; an attempt that runs past the looks at
    // /proc (a loaded machine) is followed by another one
    let attempt: number | undefined;
    for (let tries = 0; attempt === undefined; tries++) {
      expect(tries).toBeLessThan(5);
      until(
        'running',
        () => recordOf(t, 'restarted')!.state.status,
        (s) => s === 'running',
      );
      expect(boxWithin(t, ['kill', '-s', 'TERM', 'restarted']).status).toBe(0);
      const [pid] = until(
        'a restart attempt',
        () => processesWith('internal', 'restart', id),
        (p) => p.length > 0,
      );
      if (monitorForked(pid) !== undefined) attempt = pid;
    }
    // stopped before it learns how the start went, killed once the monitor started the container;
    // killed whatever happens: a stopped attempt left behind, continued once the root is gone,
    // would make the root's bridge and table again
    const stopped = attempt;
    onTestFinished(() => void kill(stopped));
    kill(attempt, 'SIGSTOP');
    until(
      'the container started',
      () => monitorState(t, id),
      (st) => st.includes('started'),
    );
    kill(attempt);
    const ps = boxWithin(t, ['ps']);
    expect(ps.stdout).toContain('restarted');
    const rec = recordOf(t, 'restarted')!;
    expect(rec.state).toMatchObject({ status: 'running' });
    expect(alive(rec.state.monitorPid!)).toBe(true);
    const restarts = inspectOne<{ RestartCount: number }>(t, 'restarted').RestartCount;
    // one container (its sh and sleep): a repeated attempt would have started another one in the same cgroup
    const procs = cgroupDirsOf(id).map(
      (d) => fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').trim().split('\n').length,
    );
    expect(new Set(procs)).toEqual(new Set([2]));
    expect(boxWithin(t, ['inspect', 'restarted']).stdout).toContain(`"RestartCount": ${restarts}`);
    expect(boxWithin(t, ['rm', '-f', 'restarted']).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('a monitor that never says how the start went: run -d gives up after 30 s, naming it, and leaves nothing', async () => {
    const before = snapshot(t);
    for (let round = 0; ; round++) {
      expect(round).toBeLessThan(5);
      const name = `mute-${round}`;
      const box = t.start(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']);
      const done = exitOf(box);
      const helper = monitorForked(box.pid!);
      const [monitor] = helper === undefined ? [] : childrenOf(helper);
      if (monitor !== undefined) onTestFinished(() => void kill(monitor));
      if (monitor === undefined || !kill(monitor, 'SIGSTOP')) {
        await done; // the start went by before the monitor was seen: another round
        expect(boxWithin(t, ['rm', '-f', name]).status).toBe(0);
        continue;
      }
      const started = Date.now();
      const hang = new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 45_000));
      const r = await Promise.race([done, hang]);
      if (r === 'hang') {
        kill(monitor);
        throw new Error('box run -d never returned');
      }
      if (r.code === 0) {
        // stopped too late: it had said the container started; another round
        kill(monitor, 'SIGCONT');
        expect(boxWithin(t, ['rm', '-f', name]).status).toBe(0);
        continue;
      }
      expect(Date.now() - started).toBeLessThan(40_000);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(
        'box: cannot start the container (monitor): box-helper did not say within 30 s whether the container started (ETIMEDOUT)\n',
      );
      until(
        'the monitor gone',
        () => alive(monitor),
        (a) => !a,
      );
      expect(recordOf(t, name)!.state.status).toBe('created');
      expect(boxWithin(t, ['rm', name]).status).toBe(0);
      break;
    }
    expect(leftovers(t, before)).toEqual([]);
  });

  it('a stuck (stopped) monitor: stop says so within bounds, rm -f removes the container all the same', () => {
    const before = snapshot(t);
    const id = runDetached(t, '--name', 'stuck', 'busybox', 'sleep', '1000');
    const rec = recordOf(t, 'stuck')!;
    kill(rec.state.monitorPid!, 'SIGSTOP');
    const stopStarted = Date.now();
    const stop = boxWithin(t, ['stop', '-t', '0', 'stuck']);
    expect(Date.now() - stopStarted).toBeLessThan(15_000);
    expect(stop.status).toBe(125);
    const who = `its monitor (box-helper, pid ${rec.state.monitorPid})`;
    expect(stop.stderr).toBe(
      `box: container stuck was killed, but ${who} has not recorded its end within 10 s: box rm -f stuck removes it all the same\n`,
    );
    const rmStarted = Date.now();
    expect(boxWithin(t, ['rm', '-f', 'stuck']).status).toBe(0);
    expect(Date.now() - rmStarted).toBeLessThan(15_000);
    expect(recordOf(t, 'stuck')).toBeUndefined();
    expect(cgroupDirsOf(id)).toEqual([]);
    until(
      'the monitor gone',
      () => alive(rec.state.monitorPid!),
      (a) => !a,
    );
    expect(leftovers(t, before)).toEqual([]);
  });

  it('the monitor killed: every command returns, and rm -f releases everything', () => {
    const before = snapshot(t);
    const id = runDetached(t, '--name', 'monitor-killed', 'busybox', 'sleep', '1000');
    const rec = recordOf(t, 'monitor-killed')!;
    kill(rec.state.monitorPid!);
    until(
      'the container gone',
      () => alive(rec.state.pid!),
      (a) => !a,
    );
    expect(boxWithin(t, ['stop', 'monitor-killed'], 15_000).status).toBe(0);
    expect(inspectOne<Inspected>(t, 'monitor-killed').State).toMatchObject({
      Status: 'exited',
      ExitCode: 137,
      Error: "the container's monitor died",
    });
    expect(boxWithin(t, ['rm', '-f', 'monitor-killed']).status).toBe(0);
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('a container lock held by a stuck process: commands give up after 10 s naming it; a killed exit callback is made up for', async () => {
    const before = snapshot(t);
    const id = runDetached(t, '--name', 'locked', 'busybox', 'sleep', '1000');
    const lockFile = path.join(t.root, 'containers', id); // the container's directory is its lock
    const holder = holdLockFile(lockFile);
    const started = Date.now();
    const stop = boxWithin(t, ['stop', '-t', '0', 'locked'], 30_000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(stop.status).toBe(125);
    const busy = `box: container ${id.slice(0, 12)} is busy: process ${holder.pid} \\(flock -o .*\\)`;
    const advice = `wait for it or end it \\(kill ${holder.pid}\\), then try again`;
    expect(stop.stderr).toMatch(new RegExp(`^${busy} has held its lock for more than 10 s; ${advice}\n$`));
    // the container ends; its monitor's callback waits for the lock, and is killed there
    const rec = recordOf(t, 'locked')!;
    kill(rec.state.pid!);
    const [callback] = until(
      'the exit callback',
      () => processesWith('internal', 'exited', id),
      (p) => p.length > 0,
    );
    kill(callback);
    until(
      'the monitor gone',
      () => alive(rec.state.monitorPid!),
      (a) => !a,
    );
    kill(holder.pid!);
    await exitOf(holder);
    const st = inspectOne<Inspected>(t, 'locked').State;
    expect(st).toMatchObject({ Status: 'exited', ExitCode: 137 });
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(boxWithin(t, ['rm', 'locked']).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });
});

describe('box run -d or box start killed (SIGKILL) after it made the cgroup, before the container ran', () => {
  const t = busyboxRoot();
  /** The containers' addresses on the root's networks (ipam.json), by container id. */
  const allocated = () =>
    fs.readdirSync(path.join(t.root, 'networks')).flatMap((n) => {
      try {
        const f = JSON.parse(fs.readFileSync(path.join(t.root, 'networks', n, 'ipam.json'), 'utf8')) as {
          allocations: Record<string, unknown>;
        };
        return Object.keys(f.allocations);
      } catch {
        return [];
      }
    });
  const ready = { net: false };

  /** Starts `box run -d ARGS` on a network and kills it once `reached` holds for its new container. */
  async function killedAt(reached: (id: string) => boolean, ...args: string[]): Promise<string> {
    if (!ready.net) ready.net = boxWithin(t, ['network', 'create', 'killnet']).status === 0;
    const known = new Set(t.containerIds());
    const fresh = () => t.containerIds().filter((id) => !known.has(id) && /^[0-9a-f]{64}$/.test(id));
    await killWhen(['run', '-d', '--network', 'killnet', ...args, 'busybox', 'sleep', '1000'], () =>
      fresh().some(reached),
    );
    return fresh()[0];
  }

  /** Runs `box ARGS` and SIGKILLs it as soon as `reached` holds (failing if box ended first). */
  async function killWhen(args: string[], reached: () => boolean): Promise<void> {
    const box = t.start(args);
    const exited = new Promise((resolve) => box.on('exit', resolve));
    let done = false;
    void exited.then(() => (done = true));
    const deadline = Date.now() + 30_000;
    while (!done && !reached() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(done, `box ${args[0]} ended before the point: nothing was cut`).toBe(false);
    box.kill('SIGKILL');
    await exited;
  }

  const points: Record<string, (id: string) => boolean> = {
    cgroup: (id) => cgroupDirsOf(id).length > 0,
    address: (id) => allocated().includes(id),
    veth: (id) => vethsOf(id).length > 0,
  };

  for (const [point, reached] of Object.entries(points)) {
    it(`at its ${point}: box ps -a releases its cgroups, address and veth, keeps it created, and box start runs it`, async () => {
      const before = snapshot(t);
      let id = '';
      for (let tries = 0; ; tries++) {
        expect(tries, 'every kill came after box let its container go on').toBeLessThan(5);
        id = await killedAt(reached, '--name', `killed-${point}`);
        // A loaded machine may see the point late, once box has said go: then the container runs
        // and the kill cut nothing. Decided by the monitor (started, or it ended): try again.
        const state = until(
          'the start decided',
          () => monitorState(t, id),
          (st) => /^(started|exited) /m.test(st) || !alive(Number(/^monitor (\d+)$/m.exec(st)?.[1] ?? 0)),
        );
        if (!/^started /m.test(state)) break;
        expect(boxWithin(t, ['rm', '-f', `killed-${point}`]).status).toBe(0);
      }
      expect(cgroupDirsOf(id).length, 'the kill left its cgroup').toBeGreaterThan(0);
      expect(boxWithin(t, ['ps', '-a']).stdout).toContain(`killed-${point}`);
      expect(cgroupDirsOf(id)).toEqual([]);
      expect(allocated()).not.toContain(id);
      // the kernel dismantles the namespace of the killed init, and its veth, a moment later
      until(
        'its veth gone',
        () => vethsOf(id),
        (v) => v.length === 0,
      );
      expect(recordOf(t, `killed-${point}`)?.state.status).toBe('created');
      expect(fs.existsSync(path.join(t.root, 'run', 'containers', id))).toBe(false);
      expect(boxWithin(t, ['start', `killed-${point}`]).status).toBe(0);
      expect(inspectOne<Inspected>(t, `killed-${point}`).State.Status).toBe('running');
      expect(boxWithin(t, ['rm', '-f', `killed-${point}`]).status).toBe(0);
      expect(leftovers(t, before)).toEqual([]);
    });
  }

  it('box start killed at the cgroup of a container that ran before: ps releases it, it stays exited', async () => {
    const before = snapshot(t);
    const id = runDetached(t, '--name', 'restarted', '--network', 'killnet', 'busybox', 'true');
    until(
      'it to exit',
      () => recordOf(t, 'restarted')?.state.status,
      (s) => s === 'exited',
    );
    await killWhen(['start', 'restarted'], () => cgroupDirsOf(id).length > 0);
    expect(boxWithin(t, ['ps', '-a']).stdout).toContain('restarted');
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(allocated()).not.toContain(id);
    expect(recordOf(t, 'restarted')?.state.status).toBe('exited');
    expect(boxWithin(t, ['rm', 'restarted']).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('with --rm: the next command removes the record with the rest', async () => {
    const before = snapshot(t);
    const id = await killedAt(points.cgroup, '--rm', '--name', 'killed-rm');
    expect(boxWithin(t, ['ps', '-a']).stdout).not.toContain('killed-rm');
    expect(recordOf(t, 'killed-rm')).toBeUndefined();
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('while a command holds its lock (a start in flight), ps leaves its cgroup alone', async () => {
    const before = snapshot(t);
    const id = await killedAt(points.cgroup, '--name', 'killed-locked');
    const lockFile = path.join(t.root, 'containers', id); // the container's directory is its lock
    // one process holds it (flock(1) would pass its descriptor on to the command it runs)
    const hold = 'exec 9<"$0" && flock -x 9 && exec sleep 1000';
    const holder = spawn('sh', ['-c', hold, lockFile], { stdio: 'ignore' });
    try {
      until(
        'flock to hold the lock',
        () => spawnSync('flock', ['-n', '-s', lockFile, 'true']).status,
        (s) => s !== 0,
      );
      expect(boxWithin(t, ['ps', '-a']).stdout).toContain('killed-locked');
      expect(cgroupDirsOf(id).length).toBeGreaterThan(0);
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((resolve) => (holder.exitCode !== null ? resolve(0) : holder.on('exit', resolve)));
    boxWithin(t, ['ps', '-a']);
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(boxWithin(t, ['rm', 'killed-locked']).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });
});
