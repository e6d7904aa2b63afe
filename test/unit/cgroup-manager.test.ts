// The cgroup manager's version-specific answers: which files a process joins through, how the
// container sees the cgroup file system, and how each version's counter and freezer files read.
// The files are written here in the kernel's formats under a temporary directory standing for the
// hierarchy roots; test/integration/cgroup-manager.test.ts runs both versions on the real kernel.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import { CgroupHost, checkLimits, containerCgroup } from '../../src/linux/cgroups';

const V1: CgroupHost = {
  version: 1,
  mounts: new Map([
    ['memory', '/sys/fs/cgroup/memory'],
    ['cpu', '/sys/fs/cgroup/cpu,cpuacct'],
    ['cpuacct', '/sys/fs/cgroup/cpu,cpuacct'],
  ]),
};
const V2: CgroupHost = { version: 2, unified: '/sys/fs/cgroup', mounts: new Map([['memory', '/sys/fs/cgroup']]) };

describe('how processes enter the cgroup', () => {
  it('cgroup v1: the init and joiners write themselves into the tasks file of each distinct hierarchy', () => {
    const cg = containerCgroup(V1, 'c1');
    const tasks = ['/sys/fs/cgroup/memory/box/c1/tasks', '/sys/fs/cgroup/cpu,cpuacct/box/c1/tasks'];
    expect(cg.joinFiles()).toEqual(tasks);
    expect(cg.initCgroup()).toMatchObject({ helperWrites: [], selfWrites: tasks });
  });

  it("cgroup v2: the helper writes the init's pid to cgroup.procs; joiners write themselves into it", () => {
    const cg = containerCgroup(V2, 'c2');
    expect(cg.joinFiles()).toEqual(['/sys/fs/cgroup/box/c2/cgroup.procs']);
    expect(cg.initCgroup()).toMatchObject({ helperWrites: ['/sys/fs/cgroup/box/c2/cgroup.procs'], selfWrites: [] });
  });
});

describe("the container's view of the cgroup file system", () => {
  it('cgroup v1: a tmpfs with one read-only mount per controller, the tmpfs remounted after pivot', () => {
    const { mounts, remountTop } = containerCgroup(V1, 'c1').initCgroup();
    expect(mounts).toEqual([
      { source: 'tmpfs', target: '/sys/fs/cgroup', fstype: 'tmpfs', data: 'mode=755', readOnly: false },
      { source: 'cgroup', target: '/sys/fs/cgroup/memory', fstype: 'cgroup', data: 'memory', readOnly: true },
      { source: 'cgroup', target: '/sys/fs/cgroup/cpu', fstype: 'cgroup', data: 'cpu', readOnly: true },
      { source: 'cgroup', target: '/sys/fs/cgroup/cpuacct', fstype: 'cgroup', data: 'cpuacct', readOnly: true },
    ]);
    expect(remountTop).toBe(true);
  });

  it('cgroup v2: the cgroup2 file system itself, read-only', () => {
    const { mounts, remountTop } = containerCgroup(V2, 'c2').initCgroup();
    expect(mounts).toEqual([
      { source: 'cgroup', target: '/sys/fs/cgroup', fstype: 'cgroup2', data: '', readOnly: true },
    ]);
    expect(remountTop).toBe(false);
  });
});

describe('counters, OOM and freezer files', () => {
  let tmp: string | undefined;
  afterEach(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  /** Writes `files` (path under the root → contents) and returns the root. */
  function tree(files: Record<string, string>): string {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-cgroup-'));
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), text);
    }
    return tmp;
  }

  it('cgroup v1 reads each controller from its own hierarchy', () => {
    const root = tree({
      'cpuacct/box/x/cpuacct.usage': '5000\n',
      'memory/box/x/memory.usage_in_bytes': '1000\n',
      'memory/box/x/memory.stat': 'cache 5\ntotal_inactive_file 300\n',
      'memory/box/x/memory.limit_in_bytes': '67108864\n',
      'memory/box/x/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
      // the CFQ counters are empty with other schedulers: the throttle layer's are read instead
      'blkio/box/x/blkio.io_service_bytes_recursive': 'Total 0\n',
      'blkio/box/x/blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 512\nTotal 4608\n',
      'pids/box/x/tasks': '10\n11\n12\n',
      'freezer/box/x/freezer.state': 'FREEZING\n',
    });
    const at = (c: string) => [c, path.join(root, c)] as [string, string];
    const host: CgroupHost = { version: 1, mounts: new Map(['cpuacct', 'memory', 'blkio', 'pids', 'freezer'].map(at)) };
    const cg = containerCgroup(host, 'x');
    expect(cg.stats()).toEqual({
      cpuNs: 5000,
      memUsage: 700,
      memLimit: 64 * 2 ** 20,
      blkRead: 4096,
      blkWrite: 512,
      pids: 3,
    });
    expect(cg.oomKilled()).toBe(true);
    expect(cg.freezerState()).toBe('freezing');
    cg.requestFreeze(true);
    expect(fs.readFileSync(path.join(root, 'freezer/box/x/freezer.state'), 'utf8')).toBe('FROZEN');
    expect(cg.pids()).toEqual([]); // no cgroup.procs written here
  });

  it('cgroup v1 without a freezer hierarchy: no state, and pausing says what is missing', () => {
    const cg = containerCgroup({ version: 1, mounts: new Map([['memory', tree({})]]) }, 'x');
    expect(cg.freezerState()).toBeUndefined();
    expect(() => cg.requestFreeze(true)).toThrow(BoxError);
    expect(() => cg.requestFreeze(true)).toThrow(/needs the freezer cgroup controller/);
    expect(cg.stats()).toEqual({ cpuNs: 0, memUsage: 0, memLimit: undefined, blkRead: 0, blkWrite: 0, pids: 0 });
    expect(cg.oomKilled()).toBe(false);
  });

  it('cgroup v2 reads everything from the one directory', () => {
    const root = tree({
      'box/x/cpu.stat': 'usage_usec 7\nuser_usec 4\nsystem_usec 3\n',
      'box/x/memory.current': '2000\n',
      'box/x/memory.stat': 'anon 1\ninactive_file 500\n',
      'box/x/memory.max': 'max\n',
      'box/x/memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n',
      'box/x/io.stat': '8:0 rbytes=100 wbytes=20 rios=1 wios=1\n8:16 rbytes=1 wbytes=2 rios=1 wios=1\n',
      'box/x/cgroup.threads': '10\n11\n',
      'box/x/cgroup.events': 'populated 1\nfrozen 0\n',
      'box/x/cgroup.freeze': '1\n',
    });
    const cg = containerCgroup({ version: 2, unified: root, mounts: new Map() }, 'x');
    expect(cg.stats()).toEqual({
      cpuNs: 7000,
      memUsage: 1500,
      memLimit: undefined,
      blkRead: 101,
      blkWrite: 22,
      pids: 2,
    });
    expect(cg.oomKilled()).toBe(false);
    expect(cg.freezerState()).toBe('freezing'); // asked (cgroup.freeze 1), not settled yet
    fs.writeFileSync(path.join(root, 'box/x/cgroup.events'), 'populated 1\nfrozen 1\n');
    expect(cg.freezerState()).toBe('frozen');
    cg.requestFreeze(false);
    expect(fs.readFileSync(path.join(root, 'box/x/cgroup.freeze'), 'utf8')).toBe('0');
    fs.writeFileSync(path.join(root, 'box/x/memory.events'), 'oom 1\noom_kill 1\n');
    expect(cg.oomKilled()).toBe(true);
  });

  it('cgroup v2: a cgroup that is gone has no freezer state', () => {
    expect(containerCgroup({ version: 2, unified: tree({}), mounts: new Map() }, 'x').freezerState()).toBeUndefined();
  });

  it('--memory-swap on a kernel that does not account swap: a warning on cgroup v1, nothing to say on v2', () => {
    const memory = tree({});
    const limits = { memory: 64 * 2 ** 20, memorySwap: 128 * 2 ** 20 };
    const v1 = { version: 1 as const, mounts: new Map([['memory', memory]]) };
    expect(checkLimits(v1, limits)).toEqual(['this kernel does not account swap: --memory-swap is ignored']);
    fs.writeFileSync(path.join(memory, 'memory.memsw.limit_in_bytes'), '9223372036854771712\n');
    expect(checkLimits(v1, limits)).toEqual([]);
    expect(checkLimits({ version: 2, unified: memory, mounts: new Map([['memory', memory]]) }, limits)).toEqual([]);
  });
});
