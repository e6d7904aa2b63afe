// Shared helpers of the integration tests: run the real box binary against a temporary storage
// root, build the busybox test image, and check that nothing was left behind.
import { spawn, spawnSync, SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import { hostLinks, removeRootNetworkObjects, rootsUnder, vethsOf } from './network';

export const REPO = path.resolve(__dirname, '..', '..');
export const BOX = process.env.BOX_BIN ?? path.join(REPO, 'dist', 'box');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class TestRoot {
  private created: string | undefined;
  constructor(private readonly prefix = 'box-test-') {}

  /** Made on first use: a test file whose tests are all filtered out never creates (or leaks) it. */
  get dir(): string {
    this.created ??= fs.mkdtempSync(path.join(os.tmpdir(), this.prefix));
    return this.created;
  }

  get root(): string {
    return path.join(this.dir, 'root');
  }

  args(args: string[]): string[] {
    return ['--root', this.root, ...args];
  }

  box(args: string[], opts: SpawnSyncOptions & { env?: NodeJS.ProcessEnv } = {}): Result {
    const r = spawnSync(BOX, this.args(args), { encoding: 'utf8', timeout: 60_000, ...opts });
    return { status: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /** box without blocking this process, so that a server the test runs in it can answer meanwhile. */
  boxAsync(args: string[], input?: string | Buffer): Promise<Result> {
    return new Promise((resolve, reject) => {
      const p = spawn(BOX, this.args(args), { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('error', reject);
      p.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
      p.stdin.on('error', () => {}); // box may exit before reading all of it
      p.stdin.end(input);
    });
  }

  /** Starts box without waiting; for signal and streaming tests. */
  start(args: string[], env?: NodeJS.ProcessEnv) {
    return spawn(BOX, this.args(args), { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
  }

  /** Every container directory and record under this root. */
  containerIds(): string[] {
    try {
      return fs.readdirSync(path.join(this.root, 'containers'));
    } catch {
      return [];
    }
  }

  cleanup(): void {
    if (!this.created) return;
    // A box process of this root that a test stopped (SIGSTOP) or left behind would hold its locks,
    // and, continued once the root is gone, make the root's bridge and table again: killed first.
    killBoxProcessesOf(this.root);
    // A test that failed midway may have left containers running: stop and remove them (their
    // monitors by their recorded PIDs, through box) before the directory goes.
    const ids = this.containerIds();
    if (ids.length) this.box(['rm', '-f', ...ids]);
    killBoxProcessesOf(this.root); // the callbacks and back-offs that rm -f itself set off
    const leftovers = mountsUnder(this.dir);
    for (const m of leftovers.reverse()) spawnSync('umount', ['-l', m]);
    // the bridges, table and responders of every storage root the test made under its directory
    for (const root of new Set([this.root, ...rootsUnder(this.dir)])) removeRootNetworkObjects(root);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Processes of box's executable (or of its helper's back-off, which becomes box) working in the
 * storage root `root`: `--root ROOT` in their command line or BOX_ROOT=ROOT in their environment.
 * Any state, stopped (T) ones too. Not the containers' monitors (helperProcesses), which box ends.
 */
export function boxProcessesOf(root: string): number[] {
  const box = fs.realpathSync(BOX);
  const pids: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const runsBox = argv[0] === BOX || argv[0] === box || argv.slice(1).includes(BOX) || argv.includes(box);
      if (!runsBox) continue;
      const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
      const flagged = argv.some((a, i) => (a === '--root' && argv[i + 1] === root) || a === `--root=${root}`);
      if (flagged || env.includes(`BOX_ROOT=${root}`)) pids.push(Number(p));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** SIGKILLs (which ends a stopped process too) every box process of the root; see boxProcessesOf. */
export function killBoxProcessesOf(root: string): void {
  for (const pid of boxProcessesOf(root)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
}

/** Mount points on the host under dir (there must never be any: box mounts inside the container's namespace). */
export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')));
}

interface MountEntry {
  id: string;
  device: string;
  /** the directory of its file system it shows (a bind's source) */
  fsRoot: string;
  mountPoint: string;
}

function mountTable(): MountEntry[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, , device, fsRoot, mountPoint] = l.split(' ');
      return { id, device, fsRoot, mountPoint };
    });
}

const within = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(`${dir}/`);

/**
 * The host's mounts that concern dir: mounted under it, or showing part of it elsewhere (a bind
 * of one of its directories), as `ID DEVICE FSROOT MOUNTPOINT`. Unlike a count of every mount on
 * the host, other test runs' mounts never change it.
 */
export function mountsOf(dir: string): string[] {
  const table = mountTable();
  // dir as a path inside its file system: through the mount that holds it (the longest prefix)
  const holder = table
    .filter((m) => within(dir, m.mountPoint))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
  const inFs = path.join(holder.fsRoot, path.relative(holder.mountPoint, dir));
  return table
    .filter((m) => within(m.mountPoint, dir) || (m.device === holder.device && m !== holder && within(m.fsRoot, inFs)))
    .map((m) => `${m.id} ${m.device} ${m.fsRoot} ${m.mountPoint}`);
}

/** Every cgroup hierarchy on the host: each v1 controller's mount and the unified (v2) one. */
function cgroupHierarchies(): string[] {
  const base = '/sys/fs/cgroup';
  const all = [base, ...fs.readdirSync(base).map((d) => path.join(base, d))].filter((d) =>
    fs.existsSync(path.join(d, 'cgroup.procs')),
  );
  return [...new Set(all.map((d) => fs.realpathSync(d)))];
}

/** cgroup directories of a container on any hierarchy (v1 controllers and the v2 mount). */
export function cgroupDirsOf(id: string): string[] {
  return cgroupHierarchies()
    .map((h) => path.join(h, 'box', id))
    .filter((p) => fs.existsSync(p));
}

/** Every container id this root ever created, from its event log: --rm and failed starts too. */
export function idsEverCreated(t: TestRoot): string[] {
  const ids = new Set(t.containerIds());
  try {
    for (const line of fs.readFileSync(path.join(t.root, 'run', 'events.jsonl'), 'utf8').split('\n')) {
      if (line) ids.add((JSON.parse(line) as { id: string }).id);
    }
  } catch {
    /* no events yet */
  }
  return [...ids];
}

interface RecordState {
  status: string;
  pid?: number;
  monitorPid?: number;
}

function recordState(t: TestRoot, id: string): RecordState | undefined {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(t.root, 'containers', id, 'container.json'), 'utf8')) as {
        state: RecordState;
      }
    ).state;
  } catch {
    return undefined;
  }
}

/** Processes running box's helper extracted under this root (monitors and foreground helpers). */
export function helperProcesses(t: TestRoot): number[] {
  const prefix = path.join(t.root, 'cache', 'box-helper');
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(prefix);
      } catch {
        return false; // exited meanwhile
      }
    });
}

export function parentOf(pid: number): number | undefined {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * What a root holds on the host, attributed to it: mounts under its directory, cgroups (every v1
 * controller and the unified hierarchy) and host veth ends of every container it ever created, its runtime
 * container directories and its helper processes. Running containers legitimately hold their
 * cgroups, runtime directory and helper; stopped ones keep only their runtime directory.
 */
function hostState(t: TestRoot): string[] {
  const out: string[] = [];
  for (const m of mountsUnder(t.dir)) out.push(`mount ${m}`);
  const running = new Map<string, RecordState>();
  const links = hostLinks();
  for (const id of idsEverCreated(t)) {
    const state = recordState(t, id);
    if (state?.status === 'running' || state?.status === 'paused') running.set(id, state);
    else {
      for (const c of cgroupDirsOf(id)) out.push(`cgroup ${c}`);
      // a veth goes with its container's netns: one that outlives the container is a leak
      for (const v of vethsOf(id, links)) out.push(`veth ${v}`);
    }
  }
  const runContainers = path.join(t.root, 'run', 'containers');
  for (const entry of fs.existsSync(runContainers) ? fs.readdirSync(runContainers) : []) {
    // a container's runtime directory, or its monitor's state file beside it (<id>.state)
    if (!fs.existsSync(path.join(t.root, 'containers', entry.replace(/\.state(\.tmp)?$/, ''))))
      out.push(`runroot dir of a removed container ${path.join(runContainers, entry)}`);
  }
  const legitimate = new Set(
    [...running.values()].flatMap((s) => [s.monitorPid, s.pid, s.pid !== undefined ? parentOf(s.pid) : undefined]),
  );
  for (const pid of helperProcesses(t)) if (!legitimate.has(pid)) out.push(`helper process ${pid}`);
  return out;
}

/** The host state of a root now, to compare with after a test (see leftovers). */
export function snapshot(t: TestRoot): Set<string> {
  return new Set(hostState(t));
}

/**
 * What a root leaves on the host that it should not (see hostState), optionally only what
 * appeared since `before` (a snapshot taken at the start of a test).
 */
export function leftovers(t: TestRoot, before: Set<string> = new Set()): string[] {
  const found = () => hostState(t).filter((item) => !before.has(item));
  const first = found();
  if (!first.some((item) => item.startsWith('veth '))) return first;
  // The kernel dismantles a dead network namespace (and the veth in it) asynchronously, a little
  // after its last process exited: a veth is a leak only if it stays.
  const deadline = Date.now() + 5000;
  let now = first;
  while (now.some((item) => item.startsWith('veth ')) && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    now = found();
  }
  return now;
}

/**
 * box-runc in `dir` as `box system install-runtime --dir` installs it (the native helper, beside a
 * link to the box under test); returns its path.
 */
export function installBoxRunc(dir: string): string {
  const r = spawnSync(BOX, ['system', 'install-runtime', '--dir', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`box system install-runtime: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A root filesystem tarball made from Debian's busybox-static, with users and groups for -u tests, in `dir`. */
export function busyboxTarball(dir: string): string {
  const out = path.join(dir, 'busybox.tar');
  if (fs.existsSync(out)) return out;
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!busybox)
    throw new Error('busybox-static is not installed: .ci/run installs it (apt-get install busybox-static)');
  const rootfs = path.join(dir, 'busybox-rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/app', 'proc', 'sys', 'dev', 'usr/bin', 'var'])
    fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(busybox, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(
    path.join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  fs.writeFileSync(
    path.join(rootfs, 'etc/group'),
    'root:x:0:\napp:x:1000:\nvideo:x:44:app\nextra:x:2000:app,other\nnogroup:x:65534:\n',
  );
  fs.writeFileSync(path.join(rootfs, 'bin/not-executable'), '#!/bin/sh\necho should not run\n', { mode: 0o644 });
  fs.chmodSync(path.join(rootfs, 'bin/not-executable'), 0o644);
  const r = spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', out, '.'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  fs.rmSync(rootfs, { recursive: true, force: true });
  return out;
}

/** Imports the busybox image into the root as `name` and returns the image id. */
export function importBusybox(t: TestRoot, name = 'busybox:latest'): string {
  const r = t.box(['import', busyboxTarball(t.dir), name, '--change', 'CMD ["sh"]']);
  if (r.status !== 0) throw new Error(`box import failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Resolves when the stream has printed `text`. */
export function waitForOutput(stream: NodeJS.ReadableStream, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer | string) => {
      seen += d.toString();
      if (seen.includes(text)) {
        stream.off('data', onData);
        resolve(seen);
      }
    };
    stream.on('data', onData);
    stream.on('end', () => reject(new Error(`stream ended before "${text}"; saw: ${seen}`)));
  });
}

export function exitOf(
  child: ReturnType<typeof spawn>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/**
 * A temporary root for one test file with the busybox image imported, checked for leftovers
 * (mounts, cgroups) and removed after the file's tests.
 */
export function busyboxRoot(): TestRoot {
  const t = new TestRoot();
  beforeAll(() => {
    importBusybox(t);
  });
  afterAll(() => {
    try {
      const left = leftovers(t);
      if (left.length > 0) console.error(describeLeftovers(left, t).join('\n'));
      expect(left).toEqual([]);
    } finally {
      t.cleanup();
    }
  });
  return t;
}

/** Leftovers with what /proc says of each helper process, to tell which start left it. */
export function describeLeftovers(items: string[], t: TestRoot): string[] {
  return items.map((item) => {
    const pid = /^helper process (\d+)$/.exec(item)?.[1];
    if (!pid) return item;
    try {
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const parent = Number(stat[1]);
      const parentArgs = fs.readFileSync(`/proc/${parent}/cmdline`, 'utf8').split('\0').join(' ');
      const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      // a back-off names its container: what its record says now
      const id = /internal restart ([0-9a-f]{64})/.exec(args)?.[1];
      const recordFile = id && path.join(t.root, 'containers', id, 'container.json');
      const rec = recordFile && fs.existsSync(recordFile) ? fs.readFileSync(recordFile, 'utf8') : 'no record';
      return `${item}: state ${stat[0]}, ${args}; parent ${parent} (${parentArgs}); children [${children}]; ${rec}`;
    } catch (err) {
      return `${item}: ${(err as Error).message}`;
    }
  });
}

/**
 * Every path under a storage root with its mode and size (the runtime dir `run` itself, not its
 * lock files): equal snapshots mean "the store is exactly as before".
 */
export function storeSnapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[] = [];
    try {
      names = fs.readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(root, p)} ${st.mode.toString(8)} ${st.isDirectory() ? '' : st.size}`);
      if (st.isDirectory() && p !== path.join(root, 'run')) walk(p);
    }
  };
  walk(root);
  return out;
}

/** `box inspect NAME` parsed, for one container. */
export function inspectOne<T>(t: TestRoot, name: string): T {
  const r = t.box(['inspect', name]);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as T[])[0];
}

/** `box run -d ARGS`, expected to succeed; returns the container id. */
export function runDetached(t: TestRoot, ...args: string[]): string {
  const r = t.box(['run', '-d', ...args]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const id = r.stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  return id;
}

/** Host pids, names and states of the processes in PID's pid namespace other than PID itself. */
export function nsProcesses(pid: number): { pid: number; comm: string; state: string }[] {
  const ns = fs.readlinkSync(`/proc/${pid}/ns/pid`);
  const out: { pid: number; comm: string; state: string }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === pid) continue;
    try {
      if (fs.readlinkSync(`/proc/${d}/ns/pid`) !== ns) continue;
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      out.push({
        pid: Number(d),
        comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        state: stat.slice(stat.lastIndexOf(')') + 2)[0],
      });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Polls until `done` holds for what `get` returns, and returns that (bounded in time; no fixed sleeps). */
export function until<T>(what: string, get: () => T, done: (v: T) => boolean, ms = 15_000): T {
  const deadline = Date.now() + ms;
  let v = get();
  while (!done(v)) {
    if (Date.now() > deadline) throw new Error(`${what} never happened; last: ${JSON.stringify(v)}`);
    v = get();
  }
  return v;
}

/**
 * Holds LOCK_FILE's flock from another process (`flock -o`: flock itself holds it, not the sleep it
 * runs) until the test ends, and returns once the kernel lists the lock: box waits there meanwhile.
 */
export function holdLockFile(lockFile: string): ReturnType<typeof spawn> {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  const holder = spawn('flock', ['-o', lockFile, 'sleep', '60'], { stdio: 'ignore' });
  onTestFinished(() => void holder.kill('SIGKILL'));
  until(
    'the lock held',
    () => fs.readFileSync('/proc/locks', 'utf8'),
    (t) => t.includes(` ${holder.pid} `),
  );
  return holder;
}
