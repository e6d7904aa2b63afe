// box under podman (Debian's podman 4.3, through conmon): `podman --runtime box-runc` on private
// storage, run and tmp roots, the busybox root filesystem as --rootfs. run, run -d, exec, logs,
// stop and rm, and nothing of box's left afterwards: box-runc state, cgroups, mounts, processes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxTarball, installBoxRunc, mountsUnder, REPO, TestRoot } from '../support/box';

const t = new TestRoot('box-podman-');
let rootfs: string;
let env: NodeJS.ProcessEnv;

function podman(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const d = t.dir;
  const global = ['--root', `${d}/storage`, '--runroot', `${d}/run`, '--tmpdir', `${d}/tmp`];
  // box-runc's default --root (/run/box-runc): podman 4.3 drops --runtime-flag from the exit
  // command that cleans a container up, so a private root would leave that cleanup without it
  const runtime = ['--runtime', path.join(d, 'box-runc'), '--runtime-flag', `box-root=${t.root}`];
  const host = ['--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const r = spawnSync('podman', [...global, ...runtime, ...host, ...args], { encoding: 'utf8', timeout: 60_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BOX_RUNC_ROOT = '/run/box-runc';

/** What is left of box-runc's containers `ids`: their state dirs, cgroups, mounts, processes. */
function leftovers(ids: string[]): string[] {
  const stateDirs = ids.filter((id) => fs.existsSync(path.join(BOX_RUNC_ROOT, id))).map((id) => `state ${id}`);
  const cgroups = fs
    .readdirSync('/sys/fs/cgroup')
    .flatMap((h) => ids.map((id) => path.join('/sys/fs/cgroup', h, 'libpod_parent', `libpod-${id}`)))
    .filter((d) => fs.existsSync(d));
  const processes = fs.readdirSync('/proc').filter((p) => {
    try {
      return /^\d+$/.test(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(t.root);
    } catch {
      return false;
    }
  });
  return [
    ...stateDirs,
    ...cgroups.map((c) => `cgroup ${c}`),
    ...mountsUnder(rootfs),
    ...processes.map((p) => `process ${p}`),
  ];
}

beforeAll(() => {
  rootfs = path.join(t.dir, 'rootfs');
  fs.mkdirSync(rootfs);
  expect(spawnSync('tar', ['-xf', busyboxTarball(t.dir), '-C', rootfs]).status).toBe(0);
  installBoxRunc(t.dir);
  // This VM's bounding set lacks CAP_SYS_RESOURCE: podman's default rlimits must stay within the
  // hard ones (/work/shared/ARCHITECTURE.md, fact 9).
  const hard = (flag: string) => spawnSync('sh', ['-c', `ulimit -H${flag}`], { encoding: 'utf8' }).stdout.trim();
  const nofile = hard('n');
  const nproc = Math.min(Number(hard('u')) || 32768, 32768);
  const conf = path.join(t.dir, 'containers.conf');
  const ulimits = `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`;
  fs.writeFileSync(conf, `[containers]\n${ulimits}\n`);
  env = { ...process.env, CONTAINERS_CONF: conf, BOX_ROOT: t.root };
});

afterAll(() => {
  podman('rm', '--force', '--all');
  t.cleanup();
});

describe('podman --runtime box-runc', () => {
  it('runs a container to its end: its output and exit code', () => {
    const cidFile = path.join(t.dir, 'cid');
    const command = ['sh', '-c', 'echo hello from box; exit 3'];
    const r = podman('run', '--rm', '--cidfile', cidFile, '--network', 'none', '--rootfs', rootfs, ...command);
    expect([r.status, r.stdout]).toEqual([3, 'hello from box\n']);
    expect(leftovers([fs.readFileSync(cidFile, 'utf8').trim()])).toEqual([]);
  });

  it('runs one on a terminal (podman run -t: conmon takes the pty master from the console socket)', () => {
    const d = t.dir;
    const argv = ['podman', '--root', `${d}/storage`, '--runroot', `${d}/run`, '--tmpdir', `${d}/tmp`];
    argv.push('--runtime', path.join(d, 'box-runc'), '--runtime-flag', `box-root=${t.root}`);
    argv.push('--cgroup-manager', 'cgroupfs', '--events-backend', 'file');
    argv.push('run', '--rm', '-t', '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'tty; exit 5');
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const r = spawnSync('python3', [driver, '--', ...argv], { encoding: 'utf8', timeout: 60_000, env });
    const result = JSON.parse(r.stdout);
    expect(result.output).toMatch(/^\/dev\/pts\/0\r+\n/);
    expect(result.status).toBe(5);
  });

  it('runs one detached: exec, logs, stop, rm', () => {
    const loop = 'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done';
    const run = podman('run', '-d', '--network', 'none', '--name', 'p1', '--rootfs', rootfs, 'sh', '-c', loop);
    expect(run.status).toBe(0);
    const id = run.stdout.trim();
    expect(JSON.parse(fs.readFileSync(path.join(BOX_RUNC_ROOT, id, 'record.json'), 'utf8')).id).toBe(id); // box-runc's
    const exec = podman('exec', 'p1', 'sh', '-c', 'echo in exec; exit 4');
    expect([exec.status, exec.stdout]).toEqual([4, 'in exec\n']);
    expect(podman('ps', '--format', '{{.Names}} {{.Status}}').stdout).toMatch(/^p1 Up/);
    expect(podman('stop', '-t', '10', 'p1').status).toBe(0);
    expect(podman('logs', 'p1').stdout).toBe('started\nbye\n');
    expect(podman('rm', 'p1').status).toBe(0);
    expect(podman('ps', '-a', '--format', '{{.Names}}').stdout).toBe('');
    expect(leftovers([id])).toEqual([]);
  });
});
