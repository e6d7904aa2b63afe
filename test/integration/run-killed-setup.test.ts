// A foreground `box run` killed while it sets up its container's network (between clone and exec,
// the init waiting) never ran the container's command: the next command records it as Docker
// records a failed start (created, exit code 128, the reason in State.Error), not with a made-up
// exit code, and nothing of the start is left (no veth, address, cgroup or helper).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  busyboxRoot,
  cgroupDirsOf,
  exitOf,
  inspectOne,
  leftovers,
  snapshot,
  until,
  holdLockFile,
} from '../support/box';
import { vethsOf } from '../support/network';

interface Inspected {
  Id: string;
  State: { Status: string; ExitCode: number; Error: string; Pid: number };
}

describe('box run killed during network setup', () => {
  const t = busyboxRoot();

  it('is recorded as a start that failed (created, 128, why), and leaves nothing', async () => {
    const bridge = JSON.parse(t.box(['network', 'inspect', 'bridge']).stdout)[0] as { Id: string };
    const before = snapshot(t);
    // the network's allocations locked by someone else: box waits there, in the init's hook
    const lockFile = path.join(t.root, 'run', 'locks', 'networks', `${bridge.Id}.lock`);
    const holder = holdLockFile(lockFile);
    const box = t.start(['run', '--name', 'setup-killed', 'busybox', 'sleep', '600']);
    onTestFinished(() => void box.kill('SIGKILL'));
    const done = exitOf(box);
    const record = () => {
      try {
        const dir = path.join(t.root, 'containers');
        const [id] = fs.readdirSync(dir);
        return JSON.parse(fs.readFileSync(path.join(dir, id, 'container.json'), 'utf8')) as {
          id: string;
          state: { status: string; pid?: number };
        };
      } catch {
        return undefined;
      }
    };
    const cloned = until('the init cloned', record, (r) => r?.state.status === 'running');
    // the init waits for box, which waits for the lock: the command has not run
    expect(fs.readlinkSync(`/proc/${cloned!.state.pid}/exe`)).not.toMatch(/busybox/);
    box.kill('SIGKILL');
    await done;
    holder.kill('SIGKILL');
    await exitOf(holder);
    expect(t.box(['ps', '-a']).status).toBe(0); // finds its owner gone
    const st = inspectOne<Inspected>(t, 'setup-killed').State;
    expect(st).toMatchObject({ Status: 'created', ExitCode: 128, Pid: 0 });
    expect(st.Error).toMatch(
      /^box run \(pid \d+\), which owned the container, was killed before the container's command started: it never ran$/,
    );
    expect(cgroupDirsOf(cloned!.id)).toEqual([]);
    until(
      'its veth gone',
      () => vethsOf(cloned!.id),
      (v) => v.length === 0,
    );
    const allocated = JSON.parse(t.box(['network', 'inspect', 'bridge']).stdout)[0].Containers;
    expect(allocated).toEqual({});
    expect(leftovers(t, before)).toEqual([]);
    // a created container: it starts as any other
    expect(t.box(['start', 'setup-killed']).status).toBe(0);
    expect(t.box(['rm', '-f', 'setup-killed']).status).toBe(0);
  }, 60_000);
});
