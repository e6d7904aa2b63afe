// What Docker users and tools expect of a detached container's life: the events each command
// appends (and following them), inspect and ps states, restart counts, an OOM kill, health
// actions, and selecting containers by id prefix.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { busyboxRoot, exitOf, inspectOne, runDetached, TestRoot, until, waitForOutput } from '../support/box';

interface Inspect {
  Id: string;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    ExitCode: number;
  };
  RestartCount: number;
}
interface Event {
  Action: string;
  id: string;
  Actor: { Attributes: Record<string, string> };
}

describe('a detached container as Docker users see it', () => {
  const t = busyboxRoot();
  const inspect = (name: string) => inspectOne<Inspect>(t, name);
  const removeAfter = (name: string) => onTestFinished(() => void t.box(['rm', '-f', name]));
  /** The events of container `id` since `since`, as JSON. */
  const eventsOf = (t: TestRoot, id: string, since: string, ...filters: string[]) =>
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
        `container=${id}`,
        ...filters.flatMap((f) => ['--filter', f]),
      ])
      .stdout.trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Event);
  const actions = (id: string, since: string, ...filters: string[]) =>
    eventsOf(t, id, since, ...filters).map((e) => e.Action);

  it('stop, kill, restart, start and exec append their events; a manual start resets the restart count', () => {
    removeAfter('evts');
    const since = new Date().toISOString();
    const id = runDetached(
      t,
      '--name',
      'evts',
      '--label',
      'tier=web',
      '--restart',
      'on-failure',
      '--restart-delay',
      '50ms',
      'busybox',
      'sh',
      '-c',
      'trap "exit 0" TERM; trap "exit 3" USR1; [ -f /tmp/crashed ] || { touch /tmp/crashed; exit 1; }; sleep 1000 & wait',
    );
    until(
      'the restart after the crash',
      () => inspect('evts'),
      (i) => i.RestartCount === 1 && i.State.Running,
    );
    expect(t.box(['exec', 'evts', 'true']).status).toBe(0);
    expect(t.box(['kill', '-s', 'USR1', 'evts']).status).toBe(0); // it exits 3 on it: a failure
    until(
      'the second restart',
      () => inspect('evts'),
      (i) => i.RestartCount === 2 && i.State.Running,
    );
    expect(t.box(['stop', 'evts']).status).toBe(0);
    expect(t.box(['start', 'evts']).status).toBe(0);
    expect(inspect('evts').RestartCount).toBe(0); // as Docker: a start by the user begins anew
    expect(t.box(['restart', '-t', '5', 'evts']).status).toBe(0);
    expect(inspect('evts')).toMatchObject({ RestartCount: 0, State: { Running: true } });
    expect(actions(id, since)).toEqual([
      'create',
      'start',
      'die',
      'restart',
      'start', // the crash and the policy's restart
      'exec_start',
      'exec_die',
      'kill',
      'die',
      'restart',
      'start',
      'kill',
      'die',
      'stop', // stop: SIGTERM handled
      'start', // a manual start: no restart event
      'kill',
      'die',
      'stop',
      'start',
      'restart', // box restart
    ]);
    const kills = eventsOf(t, id, since, 'event=kill').map((e) => e.Actor.Attributes.signal);
    expect(kills).toEqual(['10', '15', '15']); // numbers, as Docker's
    // the container's labels are event attributes, and label= filters on them
    expect(eventsOf(t, id, since, 'event=start')[0].Actor.Attributes).toMatchObject({
      tier: 'web',
      name: 'evts',
      image: 'busybox',
    });
    expect(actions(id, since, 'label=tier=web', 'event=stop')).toEqual(['stop', 'stop']);
    expect(actions(id, since, 'label=tier')).toHaveLength(20);
    expect(actions(id, since, 'label=tier=db')).toEqual([]);
    expect(t.box(['rm', '-f', '-v', 'evts']).status).toBe(0);
    expect(actions(id, since).slice(-1)).toEqual(['destroy']);
  });

  it('events -f follows new events until it is ended', async () => {
    removeAfter('followed');
    // without --until it follows; --since makes it start from before the container's creation
    const follower = t.start([
      'events',
      '--since',
      new Date().toISOString(),
      '--format',
      'json',
      '--filter',
      'name=followed',
    ]);
    const ended = exitOf(follower);
    runDetached(t, '--name', 'followed', 'busybox', 'sleep', '1000');
    await waitForOutput(follower.stdout!, '"Action":"start"');
    expect(t.box(['kill', 'followed']).status).toBe(0);
    await waitForOutput(follower.stdout!, '"Action":"die"'); // appended after it was following
    process.kill(follower.pid!, 'SIGTERM');
    const r = await ended;
    const seen = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as Event).Action);
    expect(seen.slice(0, 2)).toEqual(['create', 'start']);
    expect(seen).toContain('kill');
    expect(seen[seen.length - 1]).toBe('die');
  });

  it('inspect and ps say paused and restarting as Docker does; plain ps lists restarting containers', () => {
    removeAfter('frozen');
    removeAfter('looping');
    runDetached(t, '--name', 'frozen', 'busybox', 'sleep', '1000');
    expect(t.box(['pause', 'frozen']).status).toBe(0);
    expect(inspect('frozen').State).toMatchObject({ Status: 'paused', Running: true, Paused: true });
    const row = (name: string) =>
      t
        .box(['ps', '--format', 'json'])
        .stdout.trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r.Names === name);
    expect(row('frozen')).toMatchObject({ State: 'paused', Status: expect.stringMatching(/^Up .* \(Paused\)$/) });
    expect(t.box(['unpause', 'frozen']).status).toBe(0);
    expect(inspect('frozen').State).toMatchObject({ Status: 'running', Paused: false });
    expect(row('frozen')).toMatchObject({ State: 'running', Status: expect.stringMatching(/^Up /) });

    runDetached(
      t,
      '--name',
      'looping',
      '--restart',
      'always',
      '--restart-delay',
      '10s',
      'busybox',
      'sh',
      '-c',
      'exit 4',
    );
    const waiting = until(
      'the back-off',
      () => inspect('looping'),
      (i) => i.State.Restarting,
    );
    expect(waiting.State).toMatchObject({ Status: 'restarting', Running: false, ExitCode: 4 });
    expect(t.box(['ps']).stdout).toMatch(/Restarting \(4\) .* looping\n/);
    expect(row('looping')).toMatchObject({ State: 'restarting', Status: expect.stringMatching(/^Restarting \(4\)/) });
    // stopping it while it waits ends the back-off: it stays stopped, and says so in events
    const since = new Date(Date.now() - 1).toISOString();
    expect(t.box(['stop', 'looping']).status).toBe(0);
    expect(inspect('looping').State).toMatchObject({ Status: 'exited', Restarting: false });
    expect(actions(inspect('looping').Id, since)).toEqual(['stop']);
  });

  it('a detached container killed for memory: OOMKilled, an oom event and exit 137', () => {
    removeAfter('hog');
    const since = new Date().toISOString();
    const id = runDetached(
      t,
      '--name',
      'hog',
      '--memory',
      '16m',
      '--memory-swap',
      '16m',
      'busybox',
      'sh',
      '-c',
      'x=aaaaaaaa; i=0; while [ $i -lt 26 ]; do x=$x$x; i=$((i+1)); done; echo survived',
    );
    expect(t.box(['wait', 'hog']).stdout).toBe('137\n');
    expect(inspect('hog').State).toMatchObject({ Status: 'exited', OOMKilled: true, ExitCode: 137 });
    expect(actions(id, since)).toEqual(['create', 'start', 'oom', 'die']);
    expect(eventsOf(t, id, since, 'event=die')[0].Actor.Attributes.exitCode).toBe('137');
    expect(t.box(['logs', 'hog']).stdout).not.toContain('survived');
  });

  it('--health-on-failure restart restarts an unhealthy container; stop leaves it stopped', () => {
    removeAfter('healer');
    removeAfter('quitter');
    runDetached(
      t,
      '--name',
      'healer',
      '--health-cmd',
      'false',
      '--health-interval',
      '50ms',
      '--health-retries',
      '2',
      '--health-on-failure',
      'restart',
      'busybox',
      'sleep',
      '1000',
    );
    until(
      'restarted after it became unhealthy',
      () => inspect('healer'),
      (i) => i.RestartCount >= 1 && i.State.Running,
    );
    // with a restart policy always, stop still wins: the health action stop is a stop
    runDetached(
      t,
      '--name',
      'quitter',
      '--restart',
      'always',
      '--restart-delay',
      '50ms',
      '--health-cmd',
      'false',
      '--health-interval',
      '50ms',
      '--health-retries',
      '2',
      '--health-on-failure',
      'stop',
      'busybox',
      'sh',
      '-c',
      'trap "exit 0" TERM; sleep 1000 & wait',
    );
    const stopped = until(
      'stopped once unhealthy',
      () => inspect('quitter'),
      (i) => i.State.Status === 'exited',
    );
    expect(stopped.State.ExitCode).toBe(0); // its stop signal, handled
    const deadline = Date.now() + 500; // several times its restart delay: no attempt follows
    while (Date.now() < deadline)
      expect(inspect('quitter')).toMatchObject({ RestartCount: 0, State: { Status: 'exited' } });
  });

  it('selects a container by a unique id prefix; an ambiguous prefix is a one-line error', () => {
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) ids.push(runDetached(t, '--name', `many-${i}`, 'busybox', 'true'));
    onTestFinished(() => void t.box(['rm', '-f', ...ids]));
    const id = ids[0];
    const unique = [6, 8, 12, 64]
      .map((n) => id.slice(0, n))
      .find((p) => ids.filter((x) => x.startsWith(p)).length === 1)!;
    expect(inspect(unique).Id).toBe(id);
    expect(t.box(['logs', unique]).status).toBe(0);
    // 17 ids: two share a first hex digit
    const shared = '0123456789abcdef'.split('').find((d) => ids.filter((x) => x.startsWith(d)).length > 1)!;
    const r = t.box(['inspect', shared]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`box: container id prefix "${shared}" is ambiguous: give more digits or the name\n`);
    const missing = t.box(['stop', 'no-such-container']);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toBe('box: no such container: no-such-container\n');
  });

  it('rm -v is accepted and removes the container (there are no volumes yet)', () => {
    const id = runDetached(t, '--name', 'vol', 'busybox', 'true');
    expect(t.box(['wait', 'vol']).stdout).toBe('0\n');
    expect(t.box(['rm', '-v', 'vol'])).toMatchObject({ status: 0, stdout: 'vol\n', stderr: '' });
    expect(fs.existsSync(path.join(t.root, 'containers', id))).toBe(false);
  });
});
