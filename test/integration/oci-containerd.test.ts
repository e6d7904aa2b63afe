// box under a real containerd (Debian's containerd 1.6): the test starts its own containerd on a
// private root, state and socket (never the host's daemon), and `ctr` runs containers through the
// runc shim with box-runc as its runc binary (the shim's BinaryName option, `--runc-binary`).
// After each test nothing of box's is left: box-runc state, cgroups, mounts, processes.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTarball, installBoxRunc, mountsUnder, REPO, TestRoot, until } from '../support/box';

const t = new TestRoot('box-ctrd-');
let containerd: ChildProcess | undefined;
let address: string;
let rootfs: string;
let runcRoot: string;
let runc: string;

function ctr(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  // ctr's own stdio are files: a container given them holds them open until it ends
  const files = ['stdout', 'stderr'].map((n) => path.join(t.dir, `ctr-${n}`));
  const fds = files.map((f) => fs.openSync(f, 'w'));
  const r = spawnSync('ctr', ['--address', address, ...args], { stdio: ['ignore', fds[0], fds[1]], timeout: 60_000 });
  for (const fd of fds) fs.closeSync(fd);
  const [stdout, stderr] = files.map((f) => fs.readFileSync(f, 'utf8'));
  return { status: r.status, stdout, stderr };
}

/** box-runc as the shim's runc, its state and ctr's FIFOs under the test's directory */
const RUNC_FLAGS = () => ['--runc-binary', runc, '--runc-root', runcRoot, '--fifo-dir', path.join(t.dir, 'fifo')];

/** `ctr run` of the busybox root filesystem through box-runc: flags, then the id and command. */
const ctrRun = (flags: string[], id: string, ...command: string[]) =>
  ctr('run', ...RUNC_FLAGS(), ...flags, '--rootfs', rootfs, id, ...command);

/** Processes running something under this test's directory (box's helper, containerd's shims). */
function processesOfTest(): string[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== containerd?.pid)
    .flatMap((p) => {
      try {
        const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmd.includes(t.dir) ? [`${p} ${cmd}`] : [];
      } catch {
        return [];
      }
    });
}

function leftovers(id: string): string[] {
  const cgroups = fs
    .readdirSync('/sys/fs/cgroup')
    .map((h) => path.join('/sys/fs/cgroup', h, 'default', id))
    .filter((d) => fs.existsSync(d));
  const namespace = path.join(runcRoot, 'default'); // the shim's runc root is per containerd namespace
  const state = fs.existsSync(namespace) ? fs.readdirSync(namespace) : [];
  return [
    ...cgroups.map((c) => `cgroup ${c}`),
    ...state.map((s) => `box-runc state ${s}`),
    ...mountsUnder(t.dir).map((m) => `mount ${m}`),
    ...processesOfTest().map((p) => `process ${p}`),
  ];
}

beforeAll(async () => {
  const dir = t.dir;
  address = path.join(dir, 'containerd.sock');
  runcRoot = path.join(dir, 'runc-root');
  rootfs = path.join(dir, 'rootfs');
  runc = installBoxRunc(dir);
  fs.mkdirSync(rootfs);
  expect(spawnSync('tar', ['-xf', busyboxTarball(dir), '-C', rootfs]).status).toBe(0);
  const config = [
    'version = 2',
    `root = "${dir}/containerd-root"`,
    `state = "${dir}/containerd-state"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${address}"`,
    '[ttrpc]',
    `  address = "${address}.ttrpc"`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'containerd.toml'), config);
  // The shim, and so box-runc, inherit containerd's environment: box's storage root is the test's.
  containerd = spawn('containerd', ['--config', path.join(dir, 'containerd.toml')], {
    stdio: ['ignore', fs.openSync(path.join(dir, 'containerd.log'), 'w'), 'inherit'],
    env: { ...process.env, BOX_ROOT: t.root, BOX_POLICY: '' },
  });
  until('containerd answers', () => fs.existsSync(address) && ctr('version').status === 0, Boolean, 30_000);
});

afterAll(async () => {
  for (const line of processesOfTest()) {
    if (line.includes('containerd-shim')) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
  }
  if (containerd?.pid) {
    const exited = new Promise((r) => containerd!.once('exit', r));
    containerd.kill('SIGTERM');
    await exited;
  }
  t.cleanup();
});

describe('containerd with box-runc as its runc', () => {
  it('runs a container to its end: its output, its exit code, nothing left', () => {
    const r = ctrRun(['--rm'], 'k1', 'sh', '-c', 'echo hello from box; echo to stderr >&2; exit 3');
    expect(r.stdout).toBe('hello from box\n');
    expect(r.stderr).toBe('to stderr\n');
    expect(r.status).toBe(3);
    expect(leftovers('k1')).toEqual([]);
  });

  it('runs a container on a terminal (ctr run --tty: the pty master comes through the console socket)', () => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const args = ['run', ...RUNC_FLAGS(), '--rm', '--tty', '--rootfs', rootfs, 'k5'];
    const command = ['sh', '-c', 'tty; exit 6'];
    const r = spawnSync(
      'python3',
      [driver, '--rows', '30', '--cols', '100', '--', 'ctr', '--address', address, ...args, ...command],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const result = JSON.parse(r.stdout);
    expect(result.output).toMatch(/^\/dev\/pts\/0\r+\n$/); // through the container's pty, then ctr's
    expect(result.status).toBe(6);
    expect(leftovers('k5')).toEqual([]);
  });

  it('runs a detached task, lists it, kills and deletes it', () => {
    expect(ctrRun(['-d'], 'k2', 'sleep', '1000').status).toBe(0);
    const listed = () => ctr('task', 'ls').stdout;
    expect(listed()).toMatch(/k2\s+\d+\s+RUNNING/);
    const pid = Number(/k2\s+(\d+)/.exec(listed())![1]);
    expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain('/default/k2');
    const exec = ctr(
      'task',
      'exec',
      '--fifo-dir',
      path.join(t.dir, 'fifo'),
      '--exec-id',
      'e1',
      'k2',
      'sh',
      '-c',
      'echo exec in $(cat /proc/1/comm); exit 2',
    );
    expect([exec.status, exec.stdout]).toEqual([2, 'exec in sleep\n']);
    // on a terminal (kubectl exec -it's path): the exec's pty master goes through the console socket
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const fifo = ['--fifo-dir', path.join(t.dir, 'fifo')];
    const ttyExec = ['ctr', '--address', address, 'task', 'exec', ...fifo, '--tty', '--exec-id', 'e2', 'k2'];
    const r = spawnSync('python3', [driver, '--', ...ttyExec, 'sh', '-c', 'tty; exit 7'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(r.stdout);
    // (ctr may add its own complaint after: it resizes the terminal of an exec that has ended)
    expect(result.output).toMatch(/^\/dev\/pts\/\d+\r+\n/);
    expect(result.status).toBe(7);
    expect(ctr('task', 'kill', '-s', 'SIGKILL', 'k2').status).toBe(0);
    until('the task stopped', listed, (l) => /k2\s+\d+\s+STOPPED/.test(l));
    expect(ctr('task', 'delete', 'k2').status).toBe(0);
    expect(ctr('container', 'delete', 'k2').status).toBe(0);
    expect(leftovers('k2')).toEqual([]);
  });

  it('joins a network namespace the test made (ctr --with-ns), as a CNI plugin would have it', () => {
    const netns = `box-ctrd-${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', netns]).status).toBe(0);
    try {
      expect(spawnSync('ip', ['-n', netns, 'link', 'add', 'cni0', 'type', 'veth', 'peer', 'name', 'cni1']).status).toBe(
        0,
      );
      const r = ctrRun(['--rm', '--with-ns', `network:/var/run/netns/${netns}`], 'k4', 'ls', '/sys/class/net');
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['cni0', 'cni1', 'lo']);
    } finally {
      spawnSync('ip', ['netns', 'delete', netns]);
    }
    expect(leftovers('k4')).toEqual([]);
  });

  it("shows a policy's denial as ctr's error, and creates nothing", () => {
    const dir = path.join(t.root, 'policies.d');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'strict.json'), JSON.stringify({ policy: 'strict' }));
    try {
      const r = ctrRun(['--rm'], 'k3', 'true');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('denied by policy strict: containers must not run as root');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    ctr('container', 'delete', 'k3');
    expect(leftovers('k3')).toEqual([]);
  });
});
