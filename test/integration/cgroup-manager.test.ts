// The cgroup manager on the real kernel, both versions: the host's own hierarchies as detected, and
// the cgroup v2 code path on a real cgroup2 mount (BOX_CGROUP_V2_MOUNT). A process joins through
// the files the manager names, is counted, frozen, thawed and killed, and nothing is left behind;
// a limit the kernel refuses leaves no cgroup either.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CgroupHost, containerCgroup, detectCgroups } from '../../src/linux/cgroups';
import { freeze, thaw } from '../../src/linux/freezer';
import { cgroupDirsOf, exitOf } from '../support/box';

const unified = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((m) =>
  fs.existsSync(path.join(m, 'cgroup.controllers')),
)!;
const hosts: [string, CgroupHost][] = [
  [`the host's cgroups (v${detectCgroups({}).version})`, detectCgroups({})],
  [`cgroup v2 at ${unified}`, detectCgroups({ BOX_CGROUP_V2_MOUNT: unified })],
];

let serial = 0;
const testId = () => `manager-test-${process.pid}-${serial++}`;

describe.each(hosts)('cgroup manager on %s', (_, host) => {
  it('a process joins through joinFiles, is counted, frozen, thawed, and killed by remove', async () => {
    const id = testId();
    const cg = containerCgroup(host, id);
    onTestFinished(() => cg.remove());
    cg.create(host.mounts.has('pids') ? { pidsLimit: 50 } : {}, false);
    expect(cgroupDirsOf(id).length).toBeGreaterThan(0);

    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const exited = exitOf(child);
    for (const f of cg.joinFiles()) fs.writeFileSync(f, String(child.pid));
    expect(cg.pids()).toEqual([child.pid]);
    expect(cg.stats().pids).toBe(1);
    expect(cg.oomKilled()).toBe(false);

    expect(cg.freezerState()).toBe('thawed');
    await freeze(cg);
    expect(cg.freezerState()).toBe('frozen');
    expect(fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')).toContain(`/box/${id}`);
    thaw(cg);
    expect(cg.freezerState()).toBe('thawed');

    cg.remove();
    expect((await exited).signal).toBe('SIGKILL');
    expect(cgroupDirsOf(id)).toEqual([]);
  });

  it('a limit the kernel refuses is a one-line error, and the cgroup is gone again', () => {
    const id = testId();
    const cg = containerCgroup(host, id);
    // below the kernel's 1 ms minimum (or, on a cgroup2 mount without the cpu controller, no cpu.max to write)
    expect(() => cg.create({ cpuQuota: 500, cpuPeriod: 100000 }, false)).toThrow(
      /^cannot set up the container's cgroup: the kernel refused cpu\.\S+ = .* \(E[A-Z]+\)$/,
    );
    expect(cgroupDirsOf(id)).toEqual([]);
  });
});
