// Health checks of detached containers, scheduled by the native monitor: status starting ->
// healthy -> unhealthy, `ps` suffix, `inspect` State.Health, timeouts, no zombies from probes,
// --health-on-failure, --no-healthcheck over an image HEALTHCHECK, health_status events.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, inspectOne, nsProcesses, runDetached, TestRoot } from '../support/box';

interface HealthLog {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}
interface Health {
  Status: string;
  FailingStreak: number;
  Log: HealthLog[];
}
interface Inspect {
  State: { Status: string; Pid: number; ExitCode: number; Health?: Health };
  RestartCount: number;
}

const inspect = (t: TestRoot, name: string) => inspectOne<Inspect>(t, name);

/** Polls until `get` returns a value satisfying `done` (bounded; no fixed sleeps). */
function until<T>(get: () => T, done: (v: T) => boolean, what: string, tries = 600): T {
  let v = get();
  for (let i = 0; i < tries && !done(v); i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // pace the polling only
    v = get();
  }
  if (!done(v)) throw new Error(`${what} never happened; last: ${JSON.stringify(v)}`);
  return v;
}

const health = (t: TestRoot, name: string) => inspect(t, name).State.Health;

/**
 * Tags a copy of the busybox image with an image HEALTHCHECK as `name`. `box import --change` does
 * not take HEALTHCHECK, so the test writes the image config into the store as box would (a
 * content-addressed blob and a tag file).
 */
function imageWithHealthcheck(t: TestRoot, name: string, healthcheck: Record<string, unknown>): void {
  const repos = path.join(t.root, 'repositories');
  const bb = fs.readdirSync(repos).find((d) => decodeURIComponent(d).includes('busybox'))!;
  const id = fs.readFileSync(path.join(repos, bb, 'latest'), 'utf8').trim();
  const blobs = path.join(t.root, 'blobs', 'sha256');
  const config = JSON.parse(fs.readFileSync(path.join(blobs, id.replace('sha256:', '')), 'utf8'));
  config.config = { ...config.config, Healthcheck: healthcheck };
  const data = Buffer.from(JSON.stringify(config));
  const hex = createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(path.join(blobs, hex), data);
  const dir = path.join(repos, bb.replace(/busybox/, name));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'latest'), `sha256:${hex}\n`);
}

describe('health checks', () => {
  const t = busyboxRoot();

  it('moves starting -> healthy -> unhealthy, with the ps suffix, the inspect log and events', () => {
    // the container makes itself healthy, then unhealthy once told to (through exec)
    runDetached(
      t,
      '--name',
      'web',
      '--health-cmd',
      'echo probe; test -f /tmp/ok',
      '--health-interval',
      '100ms',
      '--health-retries',
      '2',
      '--health-start-period',
      '60s',
      '--health-start-interval',
      '100ms',
      'busybox',
      'sh',
      '-c',
      'echo up; while [ ! -f /tmp/go ]; do sleep 0.05; done; touch /tmp/ok; while [ ! -f /tmp/stop ]; do sleep 0.05; done; rm /tmp/ok; exec sleep 1000',
    );
    expect(health(t, 'web')?.Status).toBe('starting');
    expect(t.box(['ps']).stdout).toMatch(/Up .* \(health: starting\)/);
    // failures in the start period do not count
    const early = until(
      () => health(t, 'web')!,
      (h) => h.Log.length >= 3,
      'three probes',
    );
    expect(early).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(early.Log[0]).toMatchObject({ ExitCode: 1, Output: 'probe\n' });
    expect(t.box(['exec', 'web', 'touch', '/tmp/go']).status).toBe(0);
    const healthy = until(
      () => health(t, 'web')!,
      (h) => h.Status === 'healthy',
      'healthy',
    );
    expect(healthy.FailingStreak).toBe(0);
    const last = healthy.Log[healthy.Log.length - 1];
    expect(last).toMatchObject({ ExitCode: 0, Output: 'probe\n' });
    expect(Date.parse(last.End)).toBeGreaterThanOrEqual(Date.parse(last.Start));
    expect(last.Start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(t.box(['ps']).stdout).toMatch(/Up .* \(healthy\)/);
    expect(t.box(['exec', 'web', 'touch', '/tmp/stop']).status).toBe(0);
    const bad = until(
      () => health(t, 'web')!,
      (h) => h.Status === 'unhealthy',
      'unhealthy',
    );
    expect(bad.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(bad.Log.length).toBeLessThanOrEqual(5);
    expect(bad.Log[bad.Log.length - 1].ExitCode).toBe(1);
    expect(t.box(['ps']).stdout).toMatch(/Up .* \(unhealthy\)/);
    expect(inspect(t, 'web').State.Status).toBe('running');

    const events = fs
      .readFileSync(path.join(t.root, 'run', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const hs = events.filter((e) => e.Action.startsWith('health_status'));
    const id = inspect(t, 'web') as unknown as { Id: string };
    expect(hs.map((e) => e.Action)).toEqual(['health_status: healthy', 'health_status: unhealthy']);
    expect(hs[0]).toMatchObject({
      Type: 'container',
      status: 'health_status: healthy',
      id: id.Id,
      from: 'busybox',
      scope: 'local',
      Actor: { ID: id.Id, Attributes: { name: 'web', image: 'busybox' } },
    });
    // the same shape as the events box itself appends
    const start = events.find((e) => e.Action === 'start' && e.id === id.Id);
    expect(Object.keys(hs[0])).toEqual(Object.keys(start));
    expect(Math.floor(hs[0].timeNano / 1e9)).toBe(hs[0].time);
    t.box(['rm', '-f', 'web']);
  });

  it('kills a probe that hangs after the timeout and counts it as a failure; probes leave no zombies', () => {
    // PID 1 never reaps; the probe leaves a background child and hangs
    runDetached(
      t,
      '--name',
      'hang',
      '--health-cmd',
      'sleep 1000 & sleep 1000',
      '--health-interval',
      '1s',
      '--health-timeout',
      '300ms',
      '--health-retries',
      '1',
      'busybox',
      'sh',
      '-c',
      'exec sleep 1000',
    );
    const h = until(
      () => health(t, 'hang')!,
      (x) => x.Status === 'unhealthy',
      'unhealthy',
    );
    expect(h.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (300ms)' });
    const d = Date.parse(h.Log[0].End) - Date.parse(h.Log[0].Start);
    expect(d).toBeGreaterThanOrEqual(300);
    expect(d).toBeLessThan(5000);
    const pid = inspect(t, 'hang').State.Pid;
    // the result is recorded once the probe's reaper reaped everything; the next probe is 1 s
    // away: nothing of the probe is left in the container, no zombie, no leftover sleep
    until(
      () => nsProcesses(pid),
      (ps) => ps.length === 0,
      'the probes gone from the container',
    );
    t.box(['rm', '-f', 'hang']);

    runDetached(
      t,
      '--name',
      'reaper',
      '--health-cmd',
      'sleep 0 & true',
      '--health-interval',
      '50ms',
      'busybox',
      'sh',
      '-c',
      'exec sleep 1000',
    );
    until(
      () => health(t, 'reaper')!,
      (x) => x.Log.length >= 5,
      'five probes',
    );
    const pid2 = inspect(t, 'reaper').State.Pid;
    // a zombie left by a probe would stay for good; a probe's own child is one only until reaped
    until(
      () => nsProcesses(pid2),
      (ps) => !ps.some((p) => p.state === 'Z') && ps.length <= 1,
      'no zombies',
    );
    expect(health(t, 'reaper')?.Status).toBe('healthy');
    t.box(['rm', '-f', 'reaper']);
  });

  it('--health-on-failure kill kills an unhealthy container', () => {
    runDetached(
      t,
      '--name',
      'doomed',
      '--health-cmd',
      'false',
      '--health-interval',
      '50ms',
      '--health-retries',
      '2',
      '--health-on-failure',
      'kill',
      'busybox',
      'sh',
      '-c',
      'exec sleep 1000',
    );
    const st = until(
      () => inspect(t, 'doomed').State,
      (s) => s.Status === 'exited',
      'the container killed',
    );
    expect(st.ExitCode).toBe(137);
    t.box(['rm', 'doomed']);
  });

  it('runs as the container: user, capabilities, no_new_privs, env', () => {
    runDetached(
      t,
      '--name',
      'who',
      '-u',
      'app',
      '-e',
      'MARK=yes',
      '--security-opt',
      'no-new-privileges',
      '--health-cmd',
      'id -u; echo $MARK; grep -E "^(CapEff|NoNewPrivs):" /proc/self/status',
      '--health-interval',
      '50ms',
      'busybox',
      'sh',
      '-c',
      'exec sleep 1000',
    );
    const h = until(
      () => health(t, 'who')!,
      (x) => x.Status === 'healthy',
      'healthy',
    );
    expect(h.Log[0].Output).toMatch(/^1000\nyes\nCapEff:\s+0000000000000000\nNoNewPrivs:\s+1\n$/);
    t.box(['rm', '-f', 'who']);
  });

  it("uses the image's HEALTHCHECK, and --no-healthcheck turns it off", () => {
    imageWithHealthcheck(t, 'hcimage', { Test: ['CMD', 'sh', '-c', 'echo from-image'], Interval: 50e6, Retries: 1 });
    runDetached(t, '--name', 'img', 'hcimage', 'sh', '-c', 'exec sleep 1000');
    const h = until(
      () => health(t, 'img')!,
      (x) => x.Status === 'healthy',
      'healthy',
    );
    expect(h.Log[0].Output).toBe('from-image\n');
    runDetached(t, '--name', 'nohc', '--no-healthcheck', 'hcimage', 'sh', '-c', 'exec sleep 1000');
    expect(inspect(t, 'nohc').State.Health).toBeUndefined();
    expect(t.box(['ps']).stdout).toMatch(/nohc/);
    expect(
      t
        .box(['ps'])
        .stdout.split('\n')
        .find((l) => l.includes('nohc')),
    ).not.toMatch(/health/);
    expect(
      fs.existsSync(
        path.join(t.root, 'run', 'containers', (inspect(t, 'nohc') as unknown as { Id: string }).Id, 'health'),
      ),
    ).toBe(false);
    const conflict = t.box(['run', '-d', '--no-healthcheck', '--health-interval', '1s', 'hcimage', 'true']);
    expect(conflict.status).toBe(125);
    expect(conflict.stderr).toMatch(/--no-healthcheck conflicts with --health-interval/);
    t.box(['rm', '-f', 'img', 'nohc']);
  });

  it('refuses bad health options before creating anything', () => {
    const before = t.containerIds();
    for (const bad of [
      ['--health-interval', 'soon'],
      ['--health-retries', '-1'],
      ['--health-on-failure', 'explode'],
      ['--health-timeout', '10us'],
    ]) {
      const r = t.box(['run', '-d', '--health-cmd', 'true', ...bad, 'busybox', 'true']);
      expect(r.status, bad.join(' ')).toBe(125);
    }
    expect(t.containerIds()).toEqual(before);
  });
});
