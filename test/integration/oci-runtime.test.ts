// box as an OCI runtime, driven through runc's command line exactly as containerd's shim drives
// runc: `box-runc` (as `box system install-runtime` installs it: the native helper, which runs
// dist/box for what it does not answer itself) with a private --root and a JSON --log, on a
// busybox bundle.
// Each test checks that nothing is left afterwards: state, cgroups, processes, mounts.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOX, busyboxTarball, installBoxRunc, mountsUnder, REPO, TestRoot, until } from '../support/box';

const t = new TestRoot('box-oci-');
let bundle: string;
let stateRoot: string;
let logFile: string;
let runc: string;

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

let policy: string | undefined; // $BOX_POLICY: a default policy for the box-runc commands of a test
let cgroupV2Mount: string | undefined; // $BOX_CGROUP_V2_MOUNT: the cgroup v2 code path on this cgroup2 mount

/**
 * Runs box-runc with its stdout and stderr in files: as with runc, `create` hands its stdio to the
 * container, so pipes would stay open (and spawnSync wait) as long as the container runs.
 */
function boxRunc(...args: string[]): Ran {
  return boxRuncWith([], ...args);
}

/** boxRunc with `extra` as its fds 3, 4, ... (what --preserve-fds passes on). */
function boxRuncWith(extra: number[], ...args: string[]): Ran {
  const files = ['stdout', 'stderr'].map((n) => path.join(t.dir, n));
  const fds = files.map((f) => fs.openSync(f, 'w'));
  const r = spawnSync(runc, ['--root', stateRoot, '--log', logFile, '--log-format', 'json', ...args], {
    stdio: ['ignore', fds[0], fds[1], ...extra],
    timeout: 60_000,
    env: { ...process.env, BOX_ROOT: t.root, BOX_POLICY: policy ?? '', BOX_CGROUP_V2_MOUNT: cgroupV2Mount },
  });
  for (const fd of fds) fs.closeSync(fd);
  const [stdout, stderr] = files.map((f) => fs.readFileSync(f, 'utf8'));
  return { status: r.status, stdout, stderr };
}

function ok(...args: string[]): string {
  const r = boxRunc(...args);
  if (r.status !== 0) throw new Error(`box-runc ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_SETUID', 'CAP_SETGID'];

// biome-ignore lint/suspicious/noExplicitAny: a JSON document written out by hand, changed freely by the tests
type Doc = Record<string, any>;

/** runc spec's example, detached (no terminal), with /out bound to a host directory for results. */
function config(args: string[], change: (c: Doc) => void = () => undefined) {
  const c: Doc = {
    ociVersion: '1.2.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/bin:/usr/bin'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 512 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'oci-box',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'ro'] },
      { destination: '/out', type: 'bind', source: path.join(bundle, 'out'), options: ['rbind', 'rw'] },
    ],
    linux: {
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: 64 * 1024 * 1024 },
        pids: { limit: 50 },
      },
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  };
  change(c);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(c));
}

function cgroupDirs(id: string): string[] {
  return fs
    .readdirSync('/sys/fs/cgroup')
    .map((h) => path.join('/sys/fs/cgroup', h, 'box-runc', id))
    .filter((d) => fs.existsSync(d));
}

/** The host's huge page sizes, as hugetlb names them (hugepages-2048kB is 2MB). */
function hugepageSizes(): string[] {
  return fs.readdirSync('/sys/kernel/mm/hugepages').map((e) => {
    const kib = Number(/^hugepages-(\d+)kB$/.exec(e)?.[1]);
    return kib >= 1 << 20 ? `${kib >> 20}GB` : kib >= 1024 ? `${kib >> 10}MB` : `${kib}KB`;
  });
}

/** hugetlb's own v1 hierarchy, if mounted; else it is in a cgroup2 tree (the host's, or a hybrid's unified). */
const hugetlbV1 = fs.existsSync('/sys/fs/cgroup/hugetlb/cgroup.procs');

function hugetlbDir(id: string): string {
  if (hugetlbV1) return path.join('/sys/fs/cgroup/hugetlb/box-runc', id);
  const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  return path.join(v2, 'box-runc', id);
}

function helperProcesses(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(path.join(t.root, 'cache', 'box-helper'));
      } catch {
        return false;
      }
    });
}

function alive(pid: number): boolean {
  try {
    return !/^[ZX]$/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0]);
  } catch {
    return false;
  }
}

const status = (id: string) => JSON.parse(ok('state', id)).status as string;

/** A left process's parent, state and what it waits on (wchan), for a failure's message. */
function waitsOn(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return `(parent ${stat[1]}, state ${stat[0]}, waits in ${fs.readFileSync(`/proc/${pid}/wchan`, 'utf8')})`;
  } catch {
    return '(gone meanwhile)';
  }
}

/** What a container leaves on the host once deleted: must be nothing. */
function leftovers(id: string): string[] {
  // The helper box started reaps its monitor (gone when delete returns) and then exits itself: on a
  // loaded machine that may take a moment after delete, so it is given one (bounded).
  const deadline = Date.now() + 5_000;
  let helpers = helperProcesses();
  while (helpers.length && Date.now() < deadline) helpers = helperProcesses();
  return [
    ...cgroupDirs(id).map((d) => `cgroup ${d}`),
    ...helpers.map((p) => `helper process ${p} ${waitsOn(p)}`),
    ...mountsUnder(t.dir).map((m) => `mount ${m}`),
    ...(fs.existsSync(path.join(stateRoot, id)) ? [`state ${id}`] : []),
  ];
}

function logLines(): { level: string; msg: string; time: string }[] {
  if (!fs.existsSync(logFile)) return [];
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

beforeAll(() => {
  bundle = path.join(t.dir, 'bundle');
  stateRoot = path.join(t.dir, 'state');
  logFile = path.join(t.dir, 'runc.log');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  fs.mkdirSync(path.join(bundle, 'out'));
  const tar = spawnSync('tar', ['-xf', busyboxTarball(t.dir), '-C', path.join(bundle, 'rootfs')]);
  expect(tar.status).toBe(0);
  fs.mkdirSync(path.join(bundle, 'rootfs', 'out'));
  runc = installBoxRunc(t.dir);
});

afterAll(() => {
  for (const id of fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot) : []) boxRunc('delete', '--force', id);
  t.cleanup();
});

describe('box-runc', () => {
  it("prints runc's three-line version and its features", () => {
    const lines = ok('--version').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^box-runc version \S+$/);
    expect(lines[2]).toBe('spec: 1.3.0');
    // the same command line as `box oci ...`
    const viaBox = spawnSync(BOX, ['oci', '--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    expect(viaBox).toMatch(/^box oci version \S+$/);
    const features = JSON.parse(ok('features'));
    expect(features.ociVersionMin).toBe('1.0.0');
    expect(features.linux.namespaces).toContain('network');
    expect(features.linux.cgroup.systemd).toBe(false);
    expect(features.hooks).toEqual([
      'prestart',
      'createRuntime',
      'poststart',
      'poststop',
      'createContainer',
      'startContainer',
    ]);
  });

  it('holds the init until start, runs the config as written, and leaves nothing after delete', () => {
    fs.rmSync(path.join(bundle, 'out', 'done'), { force: true });
    config([
      'sh',
      '-c',
      'hostname > /out/hostname; id -u > /out/uid; grep CapEff /proc/self/status > /out/caps; ' +
        'ulimit -n > /out/nofile; touch /x 2> /out/rofs; echo done > /out/done; exec sleep 1000',
    ]);
    const pidFile = path.join(t.dir, 'init.pid');
    ok('create', '--bundle', bundle, '--pid-file', pidFile, 'c1');
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    const state = JSON.parse(ok('state', 'c1'));
    expect(state).toMatchObject({ ociVersion: '1.2.0', id: 'c1', status: 'created', pid, bundle });
    // created: the init exists in its cgroup, and nothing of the command has run
    expect(alive(pid)).toBe(true);
    expect(fs.existsSync(path.join(bundle, 'out', 'done'))).toBe(false);
    expect(fs.readFileSync(path.join('/sys/fs/cgroup/memory/box-runc/c1/memory.limit_in_bytes'), 'utf8').trim()).toBe(
      String(64 * 1024 * 1024),
    );
    // in every hierarchy (on v1 the init joins them itself, and create waits until it has)
    const cgroups = cgroupDirs('c1');
    expect(cgroups.length).toBeGreaterThan(0);
    for (const dir of cgroups) expect(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')).toContain(String(pid));

    ok('start', 'c1');
    expect(status('c1')).toBe('running');
    until('the command ran', () => fs.existsSync(path.join(bundle, 'out', 'done')), Boolean);
    const out = (f: string) => fs.readFileSync(path.join(bundle, 'out', f), 'utf8').trim();
    expect(out('hostname')).toBe('oci-box');
    expect(out('uid')).toBe('0');
    expect(out('caps')).toBe('CapEff:\t00000000000000e1'); // CHOWN(0) KILL(5) SETGID(6) SETUID(7)
    expect(out('nofile')).toBe('512');
    expect(out('rofs')).toContain('Read-only file system');
    expect(JSON.parse(ok('ps', '--format', 'json', 'c1'))).toEqual([pid]);

    ok('pause', 'c1');
    expect(status('c1')).toBe('paused');
    ok('resume', 'c1');
    expect(status('c1')).toBe('running');

    const refused = boxRunc('delete', 'c1');
    expect(refused.status).not.toBe(0);
    expect(logLines().at(-1)).toMatchObject({
      level: 'error',
      msg: 'cannot delete container c1 that is not stopped: running',
    });

    ok('kill', 'c1', 'KILL');
    until(
      'the container stopped',
      () => status('c1'),
      (s) => s === 'stopped',
    );
    expect(JSON.parse(ok('state', 'c1')).pid).toBe(0);
    expect(boxRunc('kill', 'c1').stderr).toContain('container not running');
    ok('delete', 'c1');
    expect(leftovers('c1')).toEqual([]);
    expect(boxRunc('state', 'c1').stderr).toContain('container does not exist: c1');
  });

  it("gives the container the caller's stdio and, once started, the caller's subreaper as its parent (runc's model)", () => {
    config(['sh', '-c', 'echo out; echo err >&2; read line; echo "got $line"; exit 7']);
    // containerd's shim and conmon are subreapers that wait for the container's init themselves
    const subreaper = `
import ctypes, json, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
runc = sys.argv[1:]
out_r, out_w = os.pipe(); in_r, in_w = os.pipe()
subprocess.run(runc + ["create", "--bundle", ${JSON.stringify(bundle)}, "s1"], stdin=in_r, stdout=out_w, stderr=out_w, check=True)
os.close(out_w); os.close(in_r)
pid = json.loads(subprocess.run(runc + ["state", "s1"], capture_output=True, check=True).stdout)["pid"]
subprocess.run(runc + ["start", "s1"], check=True)
os.write(in_w, b"input\\n"); os.close(in_w)
_, status = os.waitpid(pid, 0)
out = b""
while chunk := os.read(out_r, 4096): out += chunk
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "out": out.decode()}))
`;
    const r = spawnSync(
      'python3',
      ['-c', subreaper, runc, '--root', stateRoot, '--log', logFile, '--log-format', 'json'],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, BOX_ROOT: t.root } },
    );
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout);
    expect(result).toEqual({ code: 7, out: 'out\nerr\ngot input\n' });
    expect(status('s1')).toBe('stopped');
    ok('delete', 's1');
    expect(leftovers('s1')).toEqual([]);
  });

  it('kills every process of the container with kill --all, and delete --force ends a running one', () => {
    config(['sh', '-c', 'sleep 1000 & sleep 1000 & exec sleep 1000']);
    ok('run', '--detach', '--bundle', bundle, 'c2');
    const pids = until(
      'three processes',
      () => JSON.parse(ok('ps', '--format', 'json', 'c2')) as number[],
      (p) => p.length === 3,
    );
    ok('kill', '--all', 'c2', 'KILL');
    until(
      'all gone',
      () => pids.filter(alive),
      (p) => p.length === 0,
    );
    ok('delete', 'c2');
    expect(leftovers('c2')).toEqual([]);

    ok('run', '-d', '--bundle', bundle, 'c3');
    ok('delete', '--force', 'c3');
    expect(leftovers('c3')).toEqual([]);
  });

  it('joins a network namespace by path, as one a CNI plugin prepared', () => {
    const netns = `box-oci-${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', netns]).status).toBe(0);
    try {
      expect(spawnSync('ip', ['-n', netns, 'link', 'add', 'cni0', 'type', 'veth', 'peer', 'name', 'cni1']).status).toBe(
        0,
      );
      fs.rmSync(path.join(bundle, 'out', 'links'), { force: true });
      config(['sh', '-c', 'ls /sys/class/net > /out/links'], (c) => {
        c.linux.namespaces[1].path = `/var/run/netns/${netns}`;
      });
      ok('run', '-d', '--bundle', bundle, 'n1');
      until(
        'the command ran',
        () => status('n1'),
        (s) => s === 'stopped',
      );
      expect(
        fs
          .readFileSync(path.join(bundle, 'out', 'links'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .sort(),
      ).toEqual(['cni0', 'cni1', 'lo']);
      ok('delete', 'n1');
      expect(leftovers('n1')).toEqual([]);
    } finally {
      spawnSync('ip', ['netns', 'delete', netns]);
    }
  });

  it('execs a process in the running container: its namespaces, its cgroup, its exit status', () => {
    config(['sleep', '1000']);
    ok('run', '-d', '--bundle', bundle, 'x1');
    const r = boxRunc('exec', '--env', 'EXTRA=1', 'x1', 'sh', '-c', 'echo pid $$ $EXTRA $(hostname); exit 4');
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/^pid ([2-9]|\d\d+) 1 oci-box\n$/); // in the container's PID namespace (its init is 1)
    const processFile = path.join(t.dir, 'process.json');
    const process = {
      args: ['sh', '-c', 'id -u; exit 5'],
      cwd: '/',
      env: ['PATH=/bin'],
      user: { uid: 1000, gid: 1000 },
    };
    fs.writeFileSync(processFile, JSON.stringify(process));
    const p = boxRunc('exec', '--process', processFile, 'x1');
    expect([p.status, p.stdout]).toEqual([5, '1000\n']);
    expect(boxRunc('exec', '--tty', 'x1', 'true').stderr).toContain(
      'exec: a terminal needs --console-socket and --detach',
    );
    // update: new limits in the running container's cgroup (runc's --resources file and flags)
    const cg = (f: string) =>
      fs.readFileSync(path.join('/sys/fs/cgroup', f.split('.')[0], 'box-runc/x1', f), 'utf8').trim();
    const resources = path.join(t.dir, 'resources.json');
    fs.writeFileSync(resources, JSON.stringify({ memory: { limit: 32 * 1024 * 1024 }, pids: { limit: 20 } }));
    ok('update', '--resources', resources, 'x1');
    expect([cg('memory.limit_in_bytes'), cg('pids.max')]).toEqual([String(32 * 1024 * 1024), '20']);
    ok('update', '--pids-limit', '30', '--memory', '48m', 'x1');
    expect([cg('memory.limit_in_bytes'), cg('pids.max')]).toEqual([String(48 * 1024 * 1024), '30']);
    fs.writeFileSync(resources, JSON.stringify({ blockIO: { weight: 10 } }));
    expect(boxRunc('update', '--resources', resources, 'x1').stderr).toContain('config.json: resources.blockIO');
    ok('delete', '--force', 'x1');
    expect(leftovers('x1')).toEqual([]);
  });

  it('sets hugepageLimits in the hugetlb controller, every size a Kubernetes pod names, and refuses a size the host lacks', () => {
    const sizes = hugepageSizes();
    expect(sizes).toContain('2MB');
    config(['sleep', '1000'], (c) => {
      // as kubelet writes them: one entry per size the node has, 0 unless the pod asked for pages
      c.linux.resources.hugepageLimits = sizes.map((pageSize) => ({
        pageSize,
        limit: pageSize === '2MB' ? 4 << 20 : 0,
      }));
    });
    ok('create', '--bundle', bundle, 'hp1');
    const pid = JSON.parse(ok('state', 'hp1')).pid as number;
    const dir = hugetlbDir('hp1');
    for (const size of sizes) {
      const file = path.join(dir, hugetlbV1 ? `hugetlb.${size}.limit_in_bytes` : `hugetlb.${size}.max`);
      expect(fs.readFileSync(file, 'utf8').trim()).toBe(size === '2MB' ? String(4 << 20) : '0');
    }
    expect(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
    ok('start', 'hp1');
    // a process exec'd into the container is held by the same limits: in the cgroup namespace's
    // root, its init's cgroup (from anywhere else it would read /../..)
    const inner = ok('exec', 'hp1', 'cat', '/proc/self/cgroup');
    expect(inner).toMatch(hugetlbV1 ? /:hugetlb:\/$/m : /^0::\/$/m);
    ok('delete', '--force', 'hp1');
    expect(leftovers('hp1')).toEqual([]);

    config(['true'], (c) => {
      c.linux.resources.hugepageLimits = [
        { pageSize: '2MB', limit: 0 },
        { pageSize: '3MB', limit: 0 },
      ];
    });
    const r = boxRunc('create', '--bundle', bundle, 'hp2');
    expect([r.status, r.stderr]).toEqual([
      125,
      `hugepageLimits: page size 3MB is not one this host has (${sizes.join(', ')})\n`,
    ]);
    expect(leftovers('hp2')).toEqual([]);

    // a create that fails once the hugetlb cgroup exists leaves none of it behind
    config(['true'], (c) => {
      c.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 0 }];
      c.hooks = { createRuntime: [{ path: '/bin/false' }] };
    });
    expect(boxRunc('create', '--bundle', bundle, 'hp3').status).toBe(125);
    expect(leftovers('hp3')).toEqual([]);

    // the cgroup v2 code path (a hybrid host's unified hierarchy): hugetlb.<size>.max
    if (!fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers')) return;
    cgroupV2Mount = '/sys/fs/cgroup/unified';
    try {
      config(['sleep', '1000'], (c) => {
        c.linux.resources = {
          devices: c.linux.resources.devices,
          hugepageLimits: [{ pageSize: '2MB', limit: 2 << 20 }],
        };
      });
      ok('create', '--bundle', bundle, 'hp4');
      const file = '/sys/fs/cgroup/unified/box-runc/hp4/hugetlb.2MB.max';
      expect(fs.readFileSync(file, 'utf8').trim()).toBe(String(2 << 20));
      ok('delete', 'hp4');
      expect(fs.existsSync(path.dirname(file))).toBe(false);
    } finally {
      cgroupV2Mount = undefined;
    }
  });

  it('sets blockIO throttles per device, changes them with update, and leaves nothing when the kernel refuses one', () => {
    const [major, minor] = fs
      .readFileSync(path.join('/sys/block', fs.readdirSync('/sys/block')[0], 'dev'), 'utf8')
      .trim()
      .split(':')
      .map(Number);
    config(['sleep', '1000'], (c) => {
      c.linux.resources.blockIO = {
        throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }],
        throttleWriteIOPSDevice: [{ major, minor, rate: 100 }],
      };
    });
    ok('create', '--bundle', bundle, 'io1');
    const v2 = !fs.existsSync('/sys/fs/cgroup/blkio/cgroup.procs');
    const throttles = () =>
      v2
        ? fs.readFileSync('/sys/fs/cgroup/box-runc/io1/io.max', 'utf8').trim()
        : ['read_bps', 'write_iops']
            .map((f) => fs.readFileSync(`/sys/fs/cgroup/blkio/box-runc/io1/blkio.throttle.${f}_device`, 'utf8').trim())
            .join(' / ');
    const dev = `${major}:${minor}`;
    expect(throttles()).toBe(
      v2 ? `${dev} rbps=${1 << 20} wbps=max riops=max wiops=100` : `${dev} ${1 << 20} / ${dev} 100`,
    );
    const resources = path.join(t.dir, 'io-resources.json');
    fs.writeFileSync(
      resources,
      JSON.stringify({ blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 2 << 20 }] } }),
    );
    ok('update', '--resources', resources, 'io1');
    expect(throttles()).toBe(
      v2 ? `${dev} rbps=${2 << 20} wbps=max riops=max wiops=100` : `${dev} ${2 << 20} / ${dev} 100`,
    );
    ok('delete', 'io1');
    expect(leftovers('io1')).toEqual([]);

    config(['true'], (c) => {
      c.linux.resources.blockIO = { throttleReadBpsDevice: [{ major: 4095, minor: 4095, rate: 1 }] };
    });
    // refused once the helper runs (create starts it first) and waits for a spec that never comes:
    // it is ended at once, not after create's 10 s wait for a helper that stays
    const started = Date.now();
    const r = boxRunc('create', '--bundle', bundle, 'io2');
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('4095:4095');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(leftovers('io2')).toEqual([]);
  });

  it('writes resources.unified into a cgroup v2 cgroup, and refuses it on a v1-managed host as runc does', () => {
    const unified = '/sys/fs/cgroup/unified';
    const v1Host = !fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    if (v1Host) {
      config(['true'], (c) => (c.linux.resources.unified = { 'pids.max': '10' }));
      const r = boxRunc('create', '--bundle', bundle, 'u1');
      expect([r.status, r.stderr]).toEqual([
        125,
        'linux.resources.unified: cannot use unified on cgroup v1 (this host manages cgroups with v1)\n',
      ]);
      expect(leftovers('u1')).toEqual([]);
    }
    // the v2 code path on the host's cgroup2 mount (a hybrid host's unified hierarchy, else the host's own)
    cgroupV2Mount = v1Host ? unified : '/sys/fs/cgroup';
    try {
      config(['sleep', '1000'], (c) => {
        c.linux.resources = { devices: c.linux.resources.devices, unified: { 'cgroup.max.descendants': '5' } };
      });
      ok('create', '--bundle', bundle, 'u2');
      const file = path.join(cgroupV2Mount, 'box-runc/u2/cgroup.max.descendants');
      expect(fs.readFileSync(file, 'utf8').trim()).toBe('5');
      ok('delete', 'u2');
      expect(fs.existsSync(path.dirname(file))).toBe(false);
      // a file the cgroup lacks fails create once the cgroup exists: it goes again
      config(['true'], (c) => {
        c.linux.resources = { devices: c.linux.resources.devices, unified: { 'nosuch.max': '1' } };
      });
      const r = boxRunc('create', '--bundle', bundle, 'u3');
      expect(r.status).toBe(125);
      expect(r.stderr).toContain("unified: nosuch.max is not a file of the container's cgroup");
      expect(fs.existsSync(path.join(cgroupV2Mount, 'box-runc/u3'))).toBe(false);
      expect(leftovers('u3')).toEqual([]);
    } finally {
      cgroupV2Mount = undefined;
    }
  });

  it('runs the hooks with the state on stdin: prestart and createRuntime at create, poststart, poststop', () => {
    const out = path.join(t.dir, 'hooks');
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out);
    const hook = (name: string) => ({
      path: '/bin/sh',
      args: [
        'sh',
        '-c',
        `cat > ${out}/${name}.json; readlink /proc/$(sed 's/.*"pid":\\([0-9]*\\).*/\\1/' ${out}/${name}.json)/ns/net > ${out}/${name}.net`,
      ],
      env: ['PATH=/bin:/usr/bin'],
      timeout: 10,
    });
    config(['sleep', '1000'], (c) => {
      c.hooks = {
        prestart: [hook('prestart')],
        createRuntime: [hook('createRuntime')],
        poststart: [hook('poststart')],
        poststop: [hook('poststop')],
      };
    });
    ok('create', '--bundle', bundle, 'h1');
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8'));
    const pid = JSON.parse(ok('state', 'h1')).pid;
    expect(read('prestart.json')).toMatchObject({ id: 'h1', status: 'creating', pid, bundle });
    expect(read('createRuntime.json')).toMatchObject({ id: 'h1', status: 'creating', pid });
    // the container's own network namespace exists when they run (what a CNI hook configures)
    expect(fs.readFileSync(path.join(out, 'prestart.net'), 'utf8').trim()).toBe(fs.readlinkSync(`/proc/${pid}/ns/net`));
    expect(fs.existsSync(path.join(out, 'poststart.json'))).toBe(false);
    ok('start', 'h1');
    expect(read('poststart.json')).toMatchObject({ id: 'h1', status: 'running' });
    ok('delete', '--force', 'h1');
    expect(read('poststop.json')).toMatchObject({ id: 'h1', status: 'stopped' });
    expect(leftovers('h1')).toEqual([]);

    config(['true'], (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no network >&2; exit 3'] }] };
    });
    const r = boxRunc('create', '--bundle', bundle, 'h2');
    expect(r.status).toBe(125);
    expect(logLines().at(-1)?.msg).toBe('hook createRuntime[0] /bin/sh failed: exit 3: no network');
    expect(leftovers('h2')).toEqual([]);
  });

  it('has the init run createContainer hooks in its namespaces before pivot, startContainer ones inside at start', () => {
    const out = path.join(t.dir, 'chooks');
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out);
    for (const f of ['ran', 'sc.json', 'sc.order']) fs.rmSync(path.join(bundle, 'out', f), { force: true });
    const env = ['PATH=/bin:/usr/bin', 'HOOKENV=from-config'];
    config(['sh', '-c', 'touch /out/ran; exec sleep 1000'], (c) => {
      c.hooks = {
        createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${out}/createRuntime`] }],
        // before pivot: the host's view of files (its /bin/sh, this directory), the container's namespaces
        createContainer: [
          {
            path: '/bin/sh',
            args: [
              'sh',
              '-c',
              `cat > ${out}/cc.json; hostname > ${out}/cc.host; readlink /proc/self/ns/mnt > ${out}/cc.mnt; ` +
                `echo $HOOKENV > ${out}/cc.env; test -e ${out}/createRuntime && echo after > ${out}/cc.order`,
            ],
            env,
            timeout: 10,
          },
        ],
        // after start, inside the container (its /bin/sh, its /out), before the command runs
        startContainer: [
          {
            path: '/bin/sh',
            args: ['sh', '-c', 'cat > /out/sc.json; test -e /out/ran || echo before > /out/sc.order'],
          },
        ],
      };
    });
    ok('create', '--bundle', bundle, 'k1');
    const pid = JSON.parse(ok('state', 'k1')).pid as number;
    const read = (f: string) => fs.readFileSync(path.join(out, f), 'utf8').trim();
    expect(JSON.parse(read('cc.json'))).toMatchObject({ id: 'k1', status: 'creating', pid: 1, bundle });
    expect([read('cc.host'), read('cc.env'), read('cc.order')]).toEqual(['oci-box', 'from-config', 'after']);
    expect(read('cc.mnt')).toBe(fs.readlinkSync(`/proc/${pid}/ns/mnt`));
    expect(fs.existsSync(path.join(bundle, 'out', 'sc.json'))).toBe(false);
    ok('start', 'k1');
    until('the command ran', () => fs.existsSync(path.join(bundle, 'out', 'ran')), Boolean);
    const sc = JSON.parse(fs.readFileSync(path.join(bundle, 'out', 'sc.json'), 'utf8'));
    expect(sc).toMatchObject({ id: 'k1', status: 'created', pid: 1 });
    expect(fs.readFileSync(path.join(bundle, 'out', 'sc.order'), 'utf8')).toBe('before\n');
    ok('delete', '--force', 'k1');
    expect(leftovers('k1')).toEqual([]);

    // a failing createContainer hook fails create with its reason; a slow one is killed at its timeout
    const failing = (hook: Doc) =>
      config(['true'], (c) => {
        c.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 0 }];
        c.hooks = { createContainer: [hook] };
      });
    failing({ path: '/bin/sh', args: ['sh', '-c', 'echo no device >&2; exit 3'] });
    const r = boxRunc('create', '--bundle', bundle, 'k2');
    expect(r.status).toBe(125);
    expect(logLines().at(-1)?.msg).toContain('hook createContainer[0] /bin/sh failed: exit 3: no device');
    expect(leftovers('k2')).toEqual([]);
    failing({ path: '/bin/sleep', args: ['sleep', '67.25'], timeout: 1 });
    const began = Date.now();
    expect(boxRunc('create', '--bundle', bundle, 'k3').status).toBe(125);
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(logLines().at(-1)?.msg).toContain('hook createContainer[0] /bin/sleep failed: timed out after 1 s');
    expect(leftovers('k3')).toEqual([]);
    const hookProcesses = fs.readdirSync('/proc').filter((p) => {
      try {
        return /^\d+$/.test(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u000067.25\u0000';
      } catch {
        return false;
      }
    });
    expect(hookProcesses).toEqual([]); // the timed-out hook was killed, not left running

    // a failing startContainer hook fails start: the command never runs
    fs.rmSync(path.join(bundle, 'out', 'ran'), { force: true });
    config(['touch', '/out/ran'], (c) => {
      c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo not ready >&2; exit 1'] }] };
    });
    ok('create', '--bundle', bundle, 'k4');
    const s = boxRunc('start', 'k4');
    expect(s.status).not.toBe(0);
    expect(logLines().at(-1)?.msg).toBe(
      'cannot start the container (hook): hook startContainer[0] /bin/sh failed: exit 1: not ready',
    );
    expect(status('k4')).toBe('stopped');
    expect(fs.existsSync(path.join(bundle, 'out', 'ran'))).toBe(false);
    ok('delete', 'k4');
    expect(leftovers('k4')).toEqual([]);

    // a foreground run: both kinds run (the init's steps come after start's go there), in order
    fs.rmSync(path.join(bundle, 'out', 'order'), { force: true });
    config(['sh', '-c', 'echo command >> /out/order'], (c) => {
      c.hooks = {
        createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `echo createContainer >> ${bundle}/out/order`] }],
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo startContainer >> /out/order'] }],
      };
    });
    expect(boxRunc('run', '--bundle', bundle, 'k5').status).toBe(0);
    expect(fs.readFileSync(path.join(bundle, 'out', 'order'), 'utf8')).toBe(
      'createContainer\nstartContainer\ncommand\n',
    );
    expect(leftovers('k5')).toEqual([]);
  });

  it('sizes the terminal as process.consoleSize says before its master goes to the console socket', () => {
    const socket = path.join(t.dir, 'console.sock');
    const report = path.join(t.dir, 'console.json');
    fs.rmSync(socket, { force: true });
    const fd = fs.openSync(report, 'w');
    const receiver = spawn('python3', [path.join(REPO, 'test/support/console-receiver.py'), socket], {
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    try {
      until('the console socket listens', () => fs.existsSync(socket), Boolean);
      config(['stty', 'size'], (c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: 33, width: 111 };
        c.mounts.push({
          destination: '/dev/pts',
          type: 'devpts',
          source: 'devpts',
          options: ['newinstance', 'ptmxmode=0666'],
        });
      });
      ok('create', '--bundle', bundle, '--console-socket', socket, 't1');
      ok('start', 't1');
      const result = until(
        'the receiver reported',
        () => fs.readFileSync(report, 'utf8'),
        (s) => s.endsWith('\n'),
      );
      // the size the master came with, and what the command saw on its terminal
      expect(JSON.parse(result)).toEqual({ rows: 33, cols: 111, output: '33 111\r\n' });
    } finally {
      receiver.kill('SIGKILL');
    }
    until(
      'the container stopped',
      () => status('t1'),
      (s) => s === 'stopped',
    );
    ok('delete', 't1');
    expect(leftovers('t1')).toEqual([]);
  });

  it('creates from its own bundle, loading neither koffi, the policy engine (no policy) nor the seccomp compiler (no filter)', () => {
    config(['sleep', '1000']);
    // box-runc runs dist/box-runc.js (src/runc-main.ts), whose code cache is named after its digest
    const digest = createHash('sha256')
      .update(fs.readFileSync(path.join(REPO, 'dist', 'box-runc.js')))
      .digest('hex')
      .slice(0, 16);
    const codeCache = `/run/box/cache/code-${digest}-create`;
    fs.rmSync(codeCache, { force: true });
    const traceFile = path.join(t.dir, 'trace');
    const fd = fs.openSync(traceFile, 'w');
    const r = spawnSync(runc, ['--root', stateRoot, 'create', '--bundle', bundle, 't1'], {
      stdio: ['ignore', 'ignore', fd],
      timeout: 60_000,
      env: { ...process.env, BOX_ROOT: t.root, BOX_POLICY: '', BOX_TRACE: '1' },
    });
    fs.closeSync(fd);
    const trace = fs.readFileSync(traceFile, 'utf8');
    expect(r.status).toBe(0);
    expect(trace).toContain('oci: recorded');
    expect(trace).not.toContain('koffi loaded');
    expect(trace).not.toContain('policy engine loaded');
    expect(trace).not.toContain('seccomp compiler loaded');
    expect(fs.existsSync(codeCache)).toBe(true);
    ok('delete', 't1');
    expect(leftovers('t1')).toEqual([]);
  });

  it('adds exec --cap capabilities to the process as runc does, refusing an unknown one', () => {
    config(['sleep', '1000']);
    ok('run', '--detach', '--bundle', bundle, 'xc');
    const effective = (...flags: string[]) =>
      BigInt(
        `0x${/CapEff:\s*([0-9a-f]+)/.exec(ok('exec', ...flags, 'xc', 'grep', 'CapEff', '/proc/self/status'))![1]}`,
      );
    const plain = effective();
    const NET_ADMIN = 1n << 12n;
    const SYS_TIME = 1n << 25n;
    expect(plain & (NET_ADMIN | SYS_TIME)).toBe(0n);
    expect(effective('--cap', 'CAP_NET_ADMIN', '--cap', 'CAP_SYS_TIME')).toBe(plain | NET_ADMIN | SYS_TIME);
    const r = boxRunc('exec', '--cap', 'CAP_FLY', 'xc', 'true');
    expect([r.status, r.stderr]).toEqual([125, 'exec: --cap CAP_FLY: unknown capability (e.g. CAP_NET_ADMIN)\n']);
    ok('delete', '--force', 'xc');
    expect(leftovers('xc')).toEqual([]);
  });

  it("passes the caller's fds 3.. on to the container and to an exec'd process with --preserve-fds", () => {
    const input = path.join(t.dir, 'preserved-in');
    const output = path.join(t.dir, 'preserved-out');
    fs.writeFileSync(input, 'from the caller\n');
    fs.writeFileSync(output, '');
    const fds = [fs.openSync(input, 'r'), fs.openSync(output, 'a')];
    try {
      config(['sh', '-c', 'cat <&3 > /out/pf3; echo via4 >&4; ls /proc/self/fd > /out/pffds; exec sleep 1000']);
      for (const f of ['pf3', 'pffds']) fs.rmSync(path.join(bundle, 'out', f), { force: true });
      const r = boxRuncWith(fds, 'create', '--preserve-fds', '2', '--bundle', bundle, 'pf1');
      expect([r.status, r.stderr]).toEqual([0, '']);
      ok('start', 'pf1');
      const pffds = path.join(bundle, 'out', 'pffds');
      const read = () => (fs.existsSync(pffds) ? fs.readFileSync(pffds, 'utf8') : '');
      // its stdio, the two passed on, and the directory ls lists: nothing else of box's or the caller's
      const listed = until('the command ran', read, Boolean).split('\n').filter(Boolean);
      expect(fs.readFileSync(path.join(bundle, 'out', 'pf3'), 'utf8')).toBe('from the caller\n');
      expect(listed.sort()).toEqual(['0', '1', '2', '3', '4', '5']);
      const e = boxRuncWith(fds.slice(1), 'exec', '--preserve-fds', '1', 'pf1', 'sh', '-c', 'echo exec3 >&3');
      expect([e.status, e.stderr]).toEqual([0, '']);
      expect(fs.readFileSync(output, 'utf8')).toBe('via4\nexec3\n');
      const bad = boxRunc('exec', '--preserve-fds', 'all', 'pf1', 'true');
      expect([bad.status, bad.stderr]).toEqual([125, '--preserve-fds all: give a number of descriptors (0 to 1024)\n']);
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
    ok('delete', '--force', 'pf1');
    expect(leftovers('pf1')).toEqual([]);
  });

  it('sets domainname, process.user.umask and linux.personality, for exec too where the process says', () => {
    for (const f of ['dom', 'umask', 'arch']) fs.rmSync(path.join(bundle, 'out', f), { force: true });
    config(
      ['sh', '-c', 'cat /proc/sys/kernel/domainname > /out/dom; umask > /out/umask; uname -m > /out/arch; sleep 1000'],
      (c) => {
        c.domainname = 'nis.example';
        c.process.user.umask = 0o027;
        c.linux.personality = { domain: 'LINUX32' };
      },
    );
    ok('run', '--detach', '--bundle', bundle, 'pe1');
    const out = (f: string) => fs.readFileSync(path.join(bundle, 'out', f), 'utf8').trim();
    until('the command ran', () => fs.existsSync(path.join(bundle, 'out', 'arch')) && out('arch'), Boolean);
    expect([out('dom'), out('umask'), out('arch')]).toEqual(['nis.example', '0027', 'i686']);
    const processFile = path.join(t.dir, 'umask-process.json');
    const proc = { args: ['sh', '-c', 'umask'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0, umask: 0o077 } };
    fs.writeFileSync(processFile, JSON.stringify(proc));
    expect(ok('exec', '--process', processFile, 'pe1')).toBe('0077\n');
    ok('delete', '--force', 'pe1');
    expect(leftovers('pe1')).toEqual([]);
  });

  it('runs a container in a user namespace with the uid and gid mappings given, its root a host uid', () => {
    const shared = path.join(t.dir, 'userns-out');
    fs.rmSync(shared, { recursive: true, force: true });
    fs.mkdirSync(shared, { mode: 0o777 });
    fs.chmodSync(shared, 0o777);
    const mappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    // its root is a host uid without rights on the test's directories: the way to the bundle must
    // be searchable, as runc wants it too
    fs.chmodSync(t.dir, 0o711);
    fs.chmodSync(bundle, 0o755);
    fs.mkdirSync(path.join(bundle, 'rootfs', 'shared'), { recursive: true }); // nor on the root file system's
    config(
      [
        'sh',
        '-c',
        'cat /proc/self/uid_map /proc/self/gid_map > /shared/maps; id -u > /shared/id; touch /shared/made; ' +
          'cat /dev/null && echo null-ok > /shared/dev',
      ],
      (c) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = mappings;
        c.linux.gidMappings = mappings;
        c.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] });
      },
    );
    const r = boxRunc('run', '--bundle', bundle, 'un1');
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', '']);
    const read = (f: string) => fs.readFileSync(path.join(shared, f), 'utf8');
    expect(
      read('maps')
        .split('\n')
        .map((l) => l.trim().split(/\s+/).join(' ')),
    ).toEqual(['0 200000 65536', '0 200000 65536', '']);
    expect(read('id')).toBe('0\n'); // root inside
    const made = fs.statSync(path.join(shared, 'made'));
    expect([made.uid, made.gid]).toEqual([200000, 200000]); // a host uid outside
    expect(read('dev')).toBe('null-ok\n');
    expect(leftovers('un1')).toEqual([]);

    // a process exec'd into it joins its user namespace too: root there, a host uid outside
    config(['sleep', '1000'], (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = mappings;
      c.linux.gidMappings = mappings;
      c.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] });
    });
    ok('run', '--detach', '--bundle', bundle, 'un3');
    const inner = ok('exec', 'un3', 'sh', '-c', 'id -u; cat /proc/self/uid_map; touch /shared/exec-made');
    expect(inner.split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual(['0', '0 200000 65536', '']);
    expect(fs.statSync(path.join(shared, 'exec-made')).uid).toBe(200000);
    ok('delete', '--force', 'un3');
    expect(leftovers('un3')).toEqual([]);

    // a map the kernel refuses (overlapping ranges) fails create, leaving nothing
    config(['true'], (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [...mappings, { containerID: 10, hostID: 300000, size: 1 }];
      c.linux.gidMappings = mappings;
    });
    const bad = boxRunc('create', '--bundle', bundle, 'un2');
    expect(bad.status).toBe(125);
    expect(bad.stderr).toContain('uid_map');
    expect(leftovers('un2')).toEqual([]);
  });

  it('deletes a created container that never started: its waiting init goes', () => {
    config(['sh', '-c', 'echo ran > /out/never']);
    ok('create', '--bundle', bundle, 'c4');
    const pid = JSON.parse(ok('state', 'c4')).pid as number;
    ok('delete', 'c4');
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(path.join(bundle, 'out', 'never'))).toBe(false);
    expect(leftovers('c4')).toEqual([]);
  });

  it('refuses a --pid-file that is a device node before anything is made (a rename would replace it)', () => {
    config(['true']);
    const node = path.join(t.dir, 'null-node'); // a null device of the test's own, not the host's
    expect(spawnSync('mknod', ['-m', '666', node, 'c', '1', '3']).status).toBe(0);
    const r = boxRunc('create', '--bundle', bundle, '--pid-file', node, 'c6');
    expect([r.status, r.stderr]).toEqual([
      125,
      `--pid-file ${node} is a device, not a regular file: give a file name (box replaces it whole)\n`,
    ]);
    expect(fs.lstatSync(node).isCharacterDevice()).toBe(true);
    expect(boxRunc('state', 'c6').status).not.toBe(0);
    expect(leftovers('c6')).toEqual([]);
    fs.rmSync(node);
  });

  it("fails create, as runc's does, when the container's set-up fails: the reason in the log, nothing left", () => {
    config(['true'], (c) => {
      c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=bogus'] });
    });
    const r = boxRunc('create', '--bundle', bundle, 'c9');
    expect(r.status).toBe(125);
    expect(logLines().at(-1)?.msg).toBe('cannot start the container (mount): mount tmpfs (tmpfs) on /tmp (EINVAL)');
    expect(boxRunc('state', 'c9').stderr).toContain('container does not exist: c9');
    expect(leftovers('c9')).toEqual([]);
  });

  it("fails start with the reason in runc's JSON log when the command is not there", () => {
    config(['no-such-command']);
    ok('create', '--bundle', bundle, 'c5');
    const r = boxRunc('start', 'c5');
    expect(r.status).toBe(125);
    expect(logLines().at(-1)).toMatchObject({
      level: 'error',
      msg: 'no-such-command: executable file not found in $PATH',
    });
    expect(status('c5')).toBe('stopped');
    ok('delete', 'c5');
    expect(leftovers('c5')).toEqual([]);
  });

  it("runs a container in the foreground: the caller's stdio, its exit status, deleted afterwards (or kept)", () => {
    config(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const r = boxRunc('run', '--bundle', bundle, 'f1');
    expect([r.status, r.stdout]).toEqual([3, 'out\n']);
    expect(r.stderr).toContain('err\n');
    expect(leftovers('f1')).toEqual([]);
    expect(boxRunc('run', '--keep', '--bundle', bundle, 'f2').status).toBe(3);
    expect(status('f2')).toBe('stopped');
    ok('delete', 'f2');
    expect(leftovers('f2')).toEqual([]);
    config(['no-such-command']);
    const failed = boxRunc('run', '--bundle', bundle, 'f3');
    expect([failed.status, failed.stderr]).toEqual([125, 'no-such-command: executable file not found in $PATH\n']);
    expect(leftovers('f3')).toEqual([]);
  });

  it('passes the signals a foreground run gets on to the container', async () => {
    fs.rmSync(path.join(bundle, 'out', 'ready'), { force: true });
    config(['sh', '-c', 'trap "exit 7" TERM; echo > /out/ready; sleep 100 & wait']);
    const out = fs.openSync(path.join(t.dir, 'fg.out'), 'w');
    const child = spawn(runc, ['--root', stateRoot, 'run', '--bundle', bundle, 'f4'], {
      stdio: ['ignore', out, out],
      env: { ...process.env, BOX_ROOT: t.root },
    });
    fs.closeSync(out);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    until('the container is ready', () => fs.existsSync(path.join(bundle, 'out', 'ready')), Boolean);
    expect(status('f4')).toBe('running');
    child.kill('SIGTERM');
    expect(await exited).toBe(7);
    expect(leftovers('f4')).toEqual([]);
  });

  it('refuses a config field it cannot honour, naming it, before anything is made', () => {
    config(['true'], (c) => {
      c.linux.namespaces[4].path = '/proc/1/ns/mnt';
    });
    const r = boxRunc('create', '--bundle', bundle, 'c6');
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(
      'config.json: linux.namespaces[4].path: box-runc can join existing network, ipc, uts, pid namespaces only\n',
    );
    expect(logLines().at(-1)?.msg).toBe(r.stderr.trim());
    expect(leftovers('c6')).toEqual([]);
    expect(boxRunc('create', '--bundle', bundle, 'bad/id').stderr).toContain('invalid container id');
    expect(boxRunc('--rootless', 'true', 'list').stderr).toContain('--rootless true: box runs containers as root only');
    expect(boxRunc('--systemd-cgroup', 'list').stderr).toContain('--systemd-cgroup');
    expect(boxRunc('checkpoint', 'c1').stderr).toContain('checkpoint: box-runc cannot checkpoint containers');
  });

  it("takes a relative --root as the working directory's, as runc does", () => {
    config(['sleep', '1000']);
    const errFile = path.join(t.dir, 'rel.err');
    const rel = (...args: string[]) => {
      const fd = fs.openSync(errFile, 'w'); // create's stdio is the container's: no pipe it would keep
      const r = spawnSync(runc, ['--root', 'rel-state', ...args], {
        cwd: t.dir,
        stdio: ['ignore', 'ignore', fd],
        timeout: 60_000,
        env: { ...process.env, BOX_ROOT: t.root, BOX_POLICY: '' },
      });
      fs.closeSync(fd);
      return { status: r.status, stderr: fs.readFileSync(errFile, 'utf8') };
    };
    const created = rel('create', '--bundle', bundle, 'r1');
    expect(created.status, created.stderr).toBe(0);
    expect(fs.existsSync(path.join(t.dir, 'rel-state', 'r1', 'state'))).toBe(true);
    expect(rel('start', 'r1').status).toBe(0);
    expect(rel('delete', '--force', 'r1').status).toBe(0);
    expect(fs.readdirSync(path.join(t.dir, 'rel-state'))).toEqual([]);
    expect(leftovers('r1')).toEqual([]);
  });

  // A create's helper outlives box: until box says the create is done it must end the container
  // itself if box ends first, at whatever stage the init is (native/PROTOCOL.md `lifeline`).
  it.each([
    ['waits for go (box runs a createRuntime hook)', 'createRuntime'],
    ['still sets up (it runs a createContainer hook)', 'createContainer'],
  ])('a create whose box is killed while the init %s leaves no helper or container', (_what, stage) => {
    const id = `killed-${stage}`;
    const marker = path.join(bundle, 'out', 'hook-ran');
    fs.rmSync(marker, { force: true });
    config(['sleep', '1000'], (c) => {
      // createRuntime runs on the host, createContainer in the init's namespaces before pivot: both see this path
      c.hooks = { [stage]: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${marker}; exec sleep 1000`] }] };
    });
    const box = spawn(runc, ['--root', stateRoot, 'create', '--bundle', bundle, id], {
      stdio: 'ignore',
      env: { ...process.env, BOX_ROOT: t.root, BOX_POLICY: '' },
    });
    const hook = until(
      `the ${stage} hook to run`,
      () => Number(fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : 0),
      (pid) => pid > 0,
    );
    expect(helperProcesses().length).toBeGreaterThan(0);
    process.kill(box.pid!, 'SIGKILL');
    if (stage === 'createRuntime') process.kill(hook, 'SIGKILL'); // box's child: nothing ends it
    // the original helper sees its lifeline end and kills the monitor's group (init and hook with it)
    until('the helper to end the container', helperProcesses, (left) => left.length === 0, 10_000);
    expect(fs.readFileSync(path.join(stateRoot, id, 'events'), 'utf8')).toContain(
      'error abort 125 box ended before the container was created',
    );
    ok('delete', '--force', id); // the half-made container's directory and cgroup
    expect(leftovers(id)).toEqual([]);
  });

  // A foreground run's helper is box's child until go: killed before it, box must not leave it
  // waiting for a go nobody sends (native/PROTOCOL.md `lifeline`, which it watches until go).
  it('a foreground run whose box is killed before the container started leaves no helper or container', () => {
    const id = 'killed-run';
    const marker = path.join(bundle, 'out', 'hook-ran');
    fs.rmSync(marker, { force: true });
    config(['sleep', '1000'], (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${marker}; exec sleep 1000`] }] };
    });
    const box = spawn(runc, ['--root', stateRoot, 'run', '--bundle', bundle, id], {
      stdio: 'ignore',
      env: { ...process.env, BOX_ROOT: t.root, BOX_POLICY: '' },
    });
    const hook = until(
      'the createRuntime hook to run',
      () => Number(fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : 0),
      (pid) => pid > 0,
    );
    expect(helperProcesses().length).toBeGreaterThan(0);
    process.kill(box.pid!, 'SIGKILL');
    process.kill(hook, 'SIGKILL'); // box's child: nothing ends it
    until('the helper to end the container', helperProcesses, (left) => left.length === 0, 10_000);
    expect(fs.readFileSync(path.join(stateRoot, id, 'events'), 'utf8')).toContain(
      'error abort 125 box ended before the container was started',
    );
    ok('delete', '--force', id); // the half-made container's directory and cgroup
    expect(leftovers(id)).toEqual([]);
  });

  it('box system check reports a helper left waiting with no container state and its cgroup, not those of a created one', () => {
    config(['sleep', '1000']);
    ok('create', '--bundle', bundle, 'w1');
    ok('create', '--bundle', bundle, 'w2');
    const w1 = JSON.parse(fs.readFileSync(path.join(stateRoot, 'w1', 'record.json'), 'utf8')).monitorPid as number;
    const check = (...flags: string[]) => {
      const r = t.box(['system', 'check', '--format', 'json', ...flags], { timeout: 60_000 });
      return {
        status: r.status,
        findings: r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      };
    };
    expect(check()).toEqual({ status: 0, findings: [] }); // both wait for start, as they should
    // w2's state removed by hand: its monitor waits for a go or abort nobody can send
    const w2 = JSON.parse(fs.readFileSync(path.join(stateRoot, 'w2', 'record.json'), 'utf8')).monitorPid as number;
    fs.rmSync(path.join(stateRoot, 'w2'), { recursive: true });
    const found = check();
    expect(found.status).toBe(1);
    expect(found.findings).toContainEqual(
      expect.objectContaining({ kind: 'process', object: expect.stringContaining(`pid ${w2} `) }),
    );
    // and its cgroup: the init in it is the child of this root's helper, which serves nothing
    expect(found.findings).toContainEqual(
      expect.objectContaining({ kind: 'cgroup', object: expect.stringMatching(/\/box-runc\/w2$/) }),
    );
    const w1Named = (f: { object: string }) => f.object.includes(`pid ${w1} `) || f.object.endsWith('/box-runc/w1');
    expect(found.findings.filter((f) => !['process', 'cgroup'].includes(f.kind) || w1Named(f))).toEqual([]);
    expect(check('--fix').status).toBe(0);
    expect(alive(w2)).toBe(false);
    expect(alive(w1)).toBe(true);
    expect(cgroupDirs('w2')).toEqual([]);
    expect(cgroupDirs('w1').length).toBeGreaterThan(0);
    ok('delete', 'w1');
    expect(leftovers('w1')).toEqual([]);
    expect(leftovers('w2')).toEqual([]);
  });

  it('refuses a second container with the same id', () => {
    config(['sleep', '1000']);
    ok('create', '--bundle', bundle, 'c7');
    expect(boxRunc('create', '--bundle', bundle, 'c7').stderr).toContain('container with id exists: c7');
    expect(status('c7')).toBe('created');
    ok('delete', 'c7');
    expect(leftovers('c7')).toEqual([]);
  });

  it('lists its containers', () => {
    config(['sleep', '1000']);
    ok('create', '--bundle', bundle, 'c8');
    const listed = JSON.parse(ok('list', '--format', 'json'));
    expect(listed.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([['c8', 'created']]);
    expect(ok('list', '-q')).toBe('c8\n');
    ok('delete', '--force', 'c8');
    expect(ok('list', '-q')).toBe('');
  });

  it("counts its running containers in a capacity policy's committed resources", () => {
    const dir = path.join(t.root, 'policies.d');
    fs.mkdirSync(dir, { recursive: true });
    // room for 1.5 of this host's 2 cpus: one container of 1 cpu fits, a second does not
    fs.writeFileSync(
      path.join(dir, 'capacity.json'),
      JSON.stringify({ policy: 'capacity', args: { 'cpu-share': '0.75' } }),
    );
    try {
      config(['sleep', '1000'], (c) => {
        c.linux.resources.cpu = { quota: 100000, period: 100000 };
      });
      ok('create', '--bundle', bundle, 'q1');
      const r = boxRunc('create', '--bundle', bundle, 'q2');
      expect(r.status).toBe(125);
      expect(logLines().at(-1)?.msg).toMatch(
        /^denied by policy capacity: not enough cpu: 1 committed \+ 1 requested > 1\.5/,
      );
      ok('delete', 'q1');
      ok('create', '--bundle', bundle, 'q2'); // q1 no longer counts
      ok('delete', 'q2');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect([...leftovers('q1'), ...leftovers('q2')]).toEqual([]);
  });

  describe('with a default policy', () => {
    beforeAll(() => {
      policy = 'strict';
    });
    afterAll(() => {
      policy = undefined;
    });
    const audit = () =>
      fs
        .readFileSync(path.join(t.root, 'policy-audit.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));

    it('refuses a create the policy denies, with every reason on one log line, and audits it', () => {
      config(['true']);
      const r = boxRunc('create', '--bundle', bundle, 'p1');
      expect(r.status).toBe(125);
      const msg = logLines().at(-1)!.msg;
      expect(msg).toMatch(
        /^denied by policy strict: a cpu limit is required .*; denied by policy strict: containers must not run as root/,
      );
      expect(audit().at(-1)).toMatchObject({ container: { id: 'p1', name: 'p1' }, outcome: 'denied' });
      expect(leftovers('p1')).toEqual([]);
    });

    it("admits a bundle within the rules, reads the image and names from containerd's annotations, applies the patch", () => {
      config(['sleep', '1000'], (c) => {
        c.process.user = { uid: 1000, gid: 1000 };
        c.process.noNewPrivileges = false;
        c.root.readonly = false;
        c.linux.resources.cpu = { quota: 50000, period: 100000 };
        c.annotations = {
          'io.kubernetes.cri.image-name': 'docker.io/library/busybox:1.36',
          'io.kubernetes.cri.container-name': 'web',
          'io.kubernetes.cri.sandbox-namespace': 'shop',
        };
      });
      ok('create', '--bundle', bundle, 'p2');
      const entry = audit().at(-1);
      expect(entry).toMatchObject({ container: { id: 'p2', name: 'web' }, outcome: 'admitted' });
      expect(entry.image.reference).toBe('docker.io/library/busybox:1.36');
      ok('start', 'p2');
      const pid = JSON.parse(ok('state', 'p2')).pid as number;
      // strict's patch: a read-only root and bind mounts, no_new_privs
      const mounts = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n');
      const optionsOf = (dir: string) =>
        mounts
          .find((l) => l.split(' ')[4] === dir)
          ?.split(' ')[5]
          .split(',');
      expect(optionsOf('/')).toContain('ro');
      expect(optionsOf('/out')).toContain('ro');
      expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/NoNewPrivs:\t1/);
      ok('delete', '--force', 'p2');
      expect(leftovers('p2')).toEqual([]);
    });
  });
});
