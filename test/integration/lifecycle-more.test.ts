// create/start/restart/attach, events, ps filters, and many containers at once.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BOX, busyboxRoot, cgroupDirsOf, exitOf, mountsUnder, waitForOutput } from '../support/box';

describe('container lifecycle commands', () => {
  const t = busyboxRoot();
  const json = (args: string[]) =>
    t
      .box(args)
      .stdout.trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('create makes a container that start runs, restart runs again, and start -a waits for', () => {
    const created = t.box([
      'create',
      '--name',
      'later',
      'busybox',
      'sh',
      '-c',
      'echo run-$(cat /count 2>/dev/null || echo 0); echo $(( $(cat /count 2>/dev/null || echo 0) + 1 )) > /count',
    ]);
    expect(created.status).toBe(0);
    expect(json(['ps', '-a', '--format', 'json']).find((c) => c.Names === 'later')).toMatchObject({ State: 'created' });
    const attached = t.box(['start', '-a', 'later']);
    expect(attached.stdout).toBe('run-0\n');
    expect(attached.status).toBe(0);
    // The container's writable layer survives between runs, as in Docker.
    expect(t.box(['start', '-a', 'later']).stdout).toBe('run-1\n');
    expect(t.box(['restart', 'later']).status).toBe(0);
    expect(t.box(['wait', 'later']).stdout).toBe('0\n');
    expect(t.box(['logs', 'later']).stdout).toBe('run-0\nrun-1\nrun-2\n');
    t.box(['rm', 'later']);
  });

  it('attach streams new output until the container stops and passes its exit code', async () => {
    expect(
      t.box([
        'run',
        '-d',
        '--name',
        'chatty',
        'busybox',
        'sh',
        '-c',
        'trap "echo bye; exit 4" TERM; while :; do echo tick; sleep 0.05; done',
      ]).status,
    ).toBe(0);
    const att = spawn(BOX, t.args(['attach', 'chatty']), { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exitOf(att);
    // attach shows only output written after it attached: a tick proves it is following before
    // the stop's TERM makes the last words.
    await waitForOutput(att.stdout!, 'tick');
    let stopped = false;
    for (let i = 0; i < 200 && !stopped; i++) stopped = t.box(['stop', 'chatty']).status === 0;
    const r = await done;
    expect(r.stdout).toContain('bye');
    expect(r.code).toBe(4);
    t.box(['rm', 'chatty']);
  });

  it('events records create, start, die with the exit code, and destroy, with filters', () => {
    const since = new Date().toISOString();
    expect(t.box(['run', '--rm', '--name', 'evented', 'busybox', 'sh', '-c', 'exit 3']).status).toBe(3);
    const until = new Date(Date.now() + 1).toISOString();
    const events = json(['events', '--since', since, '--until', until, '--format', 'json', '--filter', 'name=evented']);
    expect(events.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(events[2].Actor.Attributes).toMatchObject({ exitCode: '3', name: 'evented', image: 'busybox' });
    const dies = json(['events', '--since', since, '--until', until, '--format', 'json', '--filter', 'event=die']);
    expect(dies.every((e) => e.Action === 'die')).toBe(true);
    const human = t.box(['events', '--since', since, '--until', until, '--filter', 'event=start']).stdout;
    expect(human).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container start [0-9a-f]{64} \(image=busybox, name=evented\)$/m,
    );
  });

  it('ps filters by status, name, exit code and label', () => {
    t.box(['run', '--name', 'f-ok', '--label', 'tier=web', 'busybox', 'true']);
    t.box(['run', '--name', 'f-bad', 'busybox', 'sh', '-c', 'exit 2']);
    const names = (f: string[]) =>
      json(['ps', '--format', 'json', ...f.flatMap((x) => ['--filter', x])])
        .map((c) => c.Names)
        .sort();
    expect(names(['exited=2'])).toEqual(['f-bad']);
    expect(names(['label=tier=web'])).toEqual(['f-ok']);
    expect(names(['status=exited', 'name=f-'])).toEqual(['f-bad', 'f-ok']);
    expect(t.box(['ps', '--filter', 'colour=red']).status).toBe(125);
    t.box(['rm', 'f-ok', 'f-bad']);
  });
});

describe('after a reboot', () => {
  const t = busyboxRoot();
  const state = (name: string) =>
    JSON.parse(t.box(['inspect', name]).stdout)[0].State as { Status: string; Pid: number };
  const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);

  it('system boot starts always and unless-stopped containers, but not stopped or no-policy ones', () => {
    const run = (name: string, policy: string) =>
      expect(t.box(['run', '-d', '--name', name, '--restart', policy, 'busybox', 'sleep', '1000']).status).toBe(0);
    run('b-always', 'always');
    run('b-unless', 'unless-stopped');
    run('b-unless-stopped', 'unless-stopped');
    run('b-no', 'no');
    expect(t.box(['stop', '-t', '0', 'b-unless-stopped']).status).toBe(0);
    // A reboot: every monitor (and so every container) gone, the runtime root wiped.
    for (const n of ['b-always', 'b-unless', 'b-no']) process.kill(parentOf(state(n).Pid), 'SIGKILL');
    fs.rmSync(path.join(t.root, 'run'), { recursive: true, force: true });
    const boot = t.box(['system', 'boot']);
    expect(boot.status).toBe(0);
    expect(boot.stdout.trim().split('\n').sort()).toEqual(['b-always', 'b-unless']);
    expect(state('b-always').Status).toBe('running');
    expect(state('b-unless').Status).toBe('running');
    expect(state('b-unless-stopped').Status).toBe('exited');
    expect(state('b-no').Status).toBe('exited');
    expect(t.box(['rm', '-f', 'b-always', 'b-unless', 'b-unless-stopped', 'b-no']).status).toBe(0);
  });

  it('install-unit writes a systemd unit that runs box system boot', () => {
    const out = path.join(t.dir, 'box.service');
    expect(t.box(['system', 'install-unit', '-o', out]).status).toBe(0);
    const unit = fs.readFileSync(out, 'utf8');
    expect(unit).toContain(`ExecStart=${BOX} --root ${t.root} --runroot ${path.join(t.root, 'run')} system boot`);
    expect(unit).toMatch(/WantedBy=multi-user.target/);
  });

  it('stop sends --stop-signal first', () => {
    expect(
      t.box([
        'run',
        '-d',
        '--name',
        'sig',
        '--stop-signal',
        'USR1',
        'busybox',
        'sh',
        '-c',
        'trap "echo got-usr1; exit 0" USR1; echo up; while :; do sleep 0.05; done',
      ]).status,
    ).toBe(0);
    for (let i = 0; i < 200 && !t.box(['logs', 'sig']).stdout.includes('up'); i++);
    expect(t.box(['stop', '-t', '5', 'sig']).status).toBe(0);
    expect(t.box(['logs', 'sig']).stdout).toBe('up\ngot-usr1\n');
    expect(t.box(['run', '--stop-signal', 'NOPE', 'busybox', 'true']).status).toBe(125);
    t.box(['rm', 'sig']);
  });
});

describe('many containers at once', () => {
  const t = busyboxRoot();

  it('200 concurrent run -d all succeed, as do concurrent ps, stop and rm, and nothing is left', async () => {
    const n = Number(process.env.BOX_TEST_CONCURRENT ?? 200);
    const names = Array.from({ length: n }, (_, i) => `many-${i}`);
    // Whatever happens below, no container of this test may outlive it.
    onTestFinished(async () => {
      await Promise.all(
        names.map((name) => exitOf(spawn(BOX, t.args(['rm', '-f', name]), { stdio: ['ignore', 'pipe', 'pipe'] }))),
      );
    });
    const runs = await Promise.all(
      names.map((name) =>
        exitOf(
          spawn(BOX, t.args(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']), {
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        ),
      ),
    );
    expect(runs.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const ids = runs.map((r) => r.stdout.trim());
    expect(new Set(ids).size).toBe(n);
    const ps = JSON.parse(`[${t.box(['ps', '--format', 'json']).stdout.trim().split('\n').join(',')}]`) as {
      Names: string;
      State: string;
    }[];
    expect(ps.filter((c) => c.State === 'running')).toHaveLength(n);
    const half = names.slice(0, n / 2);
    const stops = await Promise.all([
      ...half.map((name) =>
        exitOf(spawn(BOX, t.args(['stop', '-t', '1', name]), { stdio: ['ignore', 'pipe', 'pipe'] })),
      ),
      ...Array.from({ length: 5 }, () =>
        exitOf(spawn(BOX, t.args(['ps', '-a']), { stdio: ['ignore', 'pipe', 'pipe'] })),
      ),
    ]);
    expect(stops.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const rms = await Promise.all(
      names.map((name) => exitOf(spawn(BOX, t.args(['rm', '-f', name]), { stdio: ['ignore', 'pipe', 'pipe'] }))),
    );
    expect(rms.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(t.containerIds()).toEqual([]);
    expect(ids.flatMap(cgroupDirsOf)).toEqual([]);
    expect(mountsUnder(t.dir)).toEqual([]);
    expect(fs.readdirSync(path.join(t.root, 'names'))).toEqual([]);
  }, 300_000);
});
