// box under dockerd (Debian's docker.io 20.10): the test starts its own dockerd on private data and
// exec roots and socket (no iptables, no bridge), with box-runc added as a runtime
// (`--add-runtime box=...`), and `docker run --runtime box` runs containers of an image imported
// from the busybox root filesystem. Nothing of box's is left afterwards.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTarball, installBoxRunc, TestRoot, until } from '../support/box';

const t = new TestRoot('box-docker-');
let dockerd: ChildProcess | undefined;
let host: string;

function docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker', ['-H', host, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** box-runc's state dirs (dockerd's runtime root for it) and box's processes under this test. */
function leftovers(): string[] {
  const state = path.join(t.dir, 'exec', 'runtime-runc', 'moby'); // dockerd's root for every runc-like runtime
  const dirs = fs.existsSync(state) ? fs.readdirSync(state).map((d) => `state ${d}`) : [];
  const processes = fs.readdirSync('/proc').filter((p) => {
    try {
      return /^\d+$/.test(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path.join(t.root, 'cache'));
    } catch {
      return false;
    }
  });
  return [...dirs, ...processes.map((p) => `process ${p}`)];
}

beforeAll(() => {
  const d = t.dir;
  host = `unix://${d}/docker.sock`;
  installBoxRunc(d);
  const args = ['--data-root', `${d}/data`, '--exec-root', `${d}/exec`, '-H', host, '--pidfile', `${d}/docker.pid`];
  args.push('--iptables=false', '--ip6tables=false', '--bridge=none', '--add-runtime', `box=${d}/box-runc`);
  dockerd = spawn('dockerd', args, {
    stdio: ['ignore', fs.openSync(path.join(d, 'dockerd.log'), 'w'), fs.openSync(path.join(d, 'dockerd.err'), 'w')],
    env: { ...process.env, BOX_ROOT: t.root, BOX_POLICY: '' },
  });
  until('dockerd answers', () => docker('version').status === 0, Boolean, 60_000);
  expect(docker('import', busyboxTarball(d), 'bb').status).toBe(0);
});

afterAll(async () => {
  docker('rm', '--force', 'd1');
  if (dockerd?.pid) {
    const exited = new Promise((r) => dockerd!.once('exit', r));
    dockerd.kill('SIGTERM');
    await exited;
  }
  t.cleanup();
});

describe('docker run --runtime box', () => {
  it('runs a container to its end: its output and exit code', () => {
    const r = docker('run', '--rm', '--runtime', 'box', '--network', 'none', 'bb', 'sh', '-c', 'echo hello; exit 3');
    expect([r.status, r.stdout]).toEqual([3, 'hello\n']);
    expect(leftovers()).toEqual([]);
  });

  it('runs one detached, execs in it, removes it', () => {
    expect(
      docker('run', '-d', '--name', 'd1', '--runtime', 'box', '--network', 'none', 'bb', 'sleep', '1000').status,
    ).toBe(0);
    const exec = docker('exec', 'd1', 'sh', '-c', 'echo in exec; exit 2');
    expect([exec.status, exec.stdout]).toEqual([2, 'in exec\n']);
    expect(docker('inspect', '--format', '{{.HostConfig.Runtime}}', 'd1').stdout.trim()).toBe('box');
    expect(docker('rm', '--force', 'd1').status).toBe(0);
    expect(leftovers()).toEqual([]);
  });
});
