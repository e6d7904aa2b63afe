// Shared helpers of the integration tests: run the real box binary against a temporary storage
// root, build the busybox test image, and check that nothing was left behind.
import { spawn, spawnSync, SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';

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
    // A test that failed midway may have left containers running: stop and remove them (their
    // monitors by their recorded PIDs, through box) before the directory goes.
    const ids = this.containerIds();
    if (ids.length) this.box(['rm', '-f', ...ids]);
    const leftovers = mountsUnder(this.dir);
    for (const m of leftovers.reverse()) spawnSync('umount', ['-l', m]);
    fs.rmSync(this.dir, { recursive: true, force: true });
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

/** cgroup directories of a container on any hierarchy (v1 controllers and the v2 mount). */
export function cgroupDirsOf(id: string): string[] {
  const found: string[] = [];
  for (const base of ['/sys/fs/cgroup', ...fs.readdirSync('/sys/fs/cgroup').map((d) => path.join('/sys/fs/cgroup', d))]) {
    const p = path.join(base, 'box', id);
    if (fs.existsSync(p)) found.push(p);
  }
  return found;
}

/** Asserts-friendly summary of what a root leaves on the host. */
export function leftovers(t: TestRoot, ids: string[] = t.containerIds()): string[] {
  const out: string[] = [];
  for (const m of mountsUnder(t.dir)) out.push(`mount ${m}`);
  for (const id of ids) for (const c of cgroupDirsOf(id)) out.push(`cgroup ${c}`);
  return out;
}

/** A root filesystem tarball made from Debian's busybox-static, with users and groups for -u tests, in `dir`. */
export function busyboxTarball(dir: string): string {
  const out = path.join(dir, 'busybox.tar');
  if (fs.existsSync(out)) return out;
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!busybox) throw new Error('busybox-static is not installed: .ci/run installs it (apt-get install busybox-static)');
  const rootfs = path.join(dir, 'busybox-rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/app', 'proc', 'sys', 'dev', 'usr/bin', 'var']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(busybox, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nvideo:x:44:app\nextra:x:2000:app,other\nnogroup:x:65534:\n');
  fs.writeFileSync(path.join(rootfs, 'bin/not-executable'), '#!/bin/sh\necho should not run\n', { mode: 0o644 });
  fs.chmodSync(path.join(rootfs, 'bin/not-executable'), 0o644);
  const r = spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', out, '.'], { encoding: 'utf8' });
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

export function exitOf(child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
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
      expect(leftovers(t)).toEqual([]);
    } finally {
      t.cleanup();
    }
  });
  return t;
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
      out.push({ pid: Number(d), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state: stat.slice(stat.lastIndexOf(')') + 2)[0] });
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
