// The container's init (run), `box exec` and the health probe get the same process attribute ops
// for the same settings (one builder, runtime/process-ops.ts), and exec changes only what its
// flags replace.
import { describe, expect, it } from 'vitest';
import { containerCgroup } from '../../src/linux/cgroups';
import { ContainerConfig, ContainerRecord } from '../../src/model';
import { Roots } from '../../src/paths';
import { execSpec } from '../../src/runtime/exec';
import { probeSpec } from '../../src/runtime/health';
import { buildSpec } from '../../src/runtime/plan';
import { containerProcess } from '../../src/runtime/process-ops';
import { decodeSpec, HelperSpec } from '../../src/runtime/spec';

const ATTRIBUTE_OPS = new Set(['rlimit', 'no-new-privs', 'user', 'groups', 'caps', 'cwd', 'env', 'seccomp']);

/** The attribute ops of a spec: the run of them that ends right before `args`. */
function attributeOps(spec: HelperSpec): string[][] {
  const recs = decodeSpec(spec.encode());
  const args = recs.findIndex((r) => r[0] === 'args');
  const first = recs.findIndex((r) => ATTRIBUTE_OPS.has(r[0]));
  expect(args).toBe(recs.length - 1);
  expect(recs.slice(first, args).every((r) => ATTRIBUTE_OPS.has(r[0]))).toBe(true);
  expect(recs.slice(0, first).some((r) => ATTRIBUTE_OPS.has(r[0]))).toBe(false);
  return recs.slice(first, args);
}

const config: ContainerConfig = {
  image: { ref: 'i', id: 'sha256:1' },
  layers: [],
  hostname: 'h',
  args: ['sh'],
  entrypoint: [],
  cmd: ['sh'],
  env: ['PATH=/bin', 'A=1'],
  workingDir: '/work',
  user: { spec: 'app', uid: 1000, gid: 100, additionalGids: [5, 27] },
  tty: false,
  openStdin: false,
  network: 'none',
  readOnly: false,
  init: false,
  privileged: false,
  capAdd: [],
  capDrop: [],
  noNewPrivileges: true,
  seccomp: 'default',
  limits: {},
  labels: {},
  ulimits: [
    { name: 'nofile', soft: 10, hard: 20 },
    { name: 'nproc', soft: 30, hard: 40 },
  ],
  healthcheck: {
    test: ['CMD', 'true'],
    interval: 1e9,
    timeout: 1e9,
    startPeriod: 0,
    startInterval: 1e9,
    retries: 1,
    onFailure: 'none',
  },
};
const record: ContainerRecord = {
  version: 1,
  id: 'c'.repeat(64),
  name: 'web',
  created: '',
  autoRemove: false,
  config,
  state: { status: 'running', pid: 42 },
};
const security = {
  caps: { bounding: 0x3fn, effective: 0x1n, permitted: 0x3n, inheritable: 0n, ambient: 0n },
  seccomp: Buffer.from([0x20, 0, 0, 0, 4, 0, 0, 0]),
};
const cgroup = containerCgroup({ version: 2, unified: '/sys/fs/cgroup', mounts: new Map() }, record.id);
const roots: Roots = { root: '/var/lib/box', runroot: '/run/box' } as Roots;

const EXPECTED = [
  ['rlimit', '7', '10', '20'],
  ['rlimit', '6', '30', '40'],
  ['no-new-privs'],
  ['user', '1000', '100'],
  ['groups', '5', '27'],
  ['caps', '63', '1', '3', '0', '0'],
  ['cwd', '/work'],
  ['env', 'PATH=/bin', 'A=1'],
  ['seccomp', security.seccomp.toString('latin1')],
];

describe('process attribute ops', () => {
  const run = buildSpec({
    config,
    lowerDirs: ['/l'],
    upperDir: '/u',
    workDir: '/w',
    rootfsDir: '/r',
    etcFiles: { hostname: '/c/hostname', hosts: '/c/hosts', resolvConf: '/c/resolv.conf' },
    cgroup: cgroup.initCgroup(),
    security,
  });
  const exec = (detach: boolean, tty: boolean) =>
    execSpec({ roots, command: ['ls'], tty, detach }, record, containerProcess(config, security), cgroup.joinFiles());

  it('run, exec and the health probe get the same ones for the same settings', () => {
    expect(attributeOps(run)).toEqual(EXPECTED);
    expect(attributeOps(exec(false, false))).toEqual(EXPECTED);
    expect(attributeOps(exec(true, true))).toEqual(EXPECTED);
    expect(attributeOps(probeSpec(record, cgroup.joinFiles(), security))).toEqual(EXPECTED);
  });

  it('exec -u, -w and -e replace the user, the working directory and the environment, nothing else', () => {
    const attributes = {
      ...containerProcess({ ...config, user: { spec: '0', uid: 0, gid: 0, additionalGids: [] } }, security),
      cwd: '/tmp',
      env: ['PATH=/bin', 'A=2'],
    };
    const ops = attributeOps(execSpec({ roots, command: ['ls'], tty: false }, record, attributes, []));
    const replaced = new Set(['user', 'groups', 'cwd', 'env']);
    expect(ops.filter((r) => !replaced.has(r[0]))).toEqual(EXPECTED.filter((r) => !replaced.has(r[0])));
    expect(ops.filter((r) => replaced.has(r[0]))).toEqual([
      ['user', '0', '0'],
      ['groups'],
      ['cwd', '/tmp'],
      ['env', 'PATH=/bin', 'A=2'],
    ]);
  });

  it("exec's stdio: pipes the helper relays (stdin too with -i), unless it has a tty or is detached", () => {
    const stdioOps = (tty: boolean, detach: boolean, interactive: boolean) =>
      decodeSpec(
        execSpec(
          { roots, command: ['ls'], tty, detach, interactive },
          record,
          containerProcess(config, security),
          [],
        ).encode(),
      )
        .map((r) => r[0])
        .filter((op) => ['relay', 'stdin', 'tty', 'detach'].includes(op));
    expect(stdioOps(false, false, false)).toEqual(['relay']);
    expect(stdioOps(false, false, true)).toEqual(['relay', 'stdin']);
    expect(stdioOps(true, false, true)).toEqual(['tty']);
    expect(stdioOps(false, true, false)).toEqual(['detach']);
  });

  it('unconfined: no seccomp op, and no no-new-privs unless asked', () => {
    const loose = { ...containerProcess({ ...config, noNewPrivileges: false }, { ...security, seccomp: undefined }) };
    const ops = attributeOps(execSpec({ roots, command: ['ls'], tty: false }, record, loose, []));
    expect(ops.map((r) => r[0])).toEqual(['rlimit', 'rlimit', 'user', 'groups', 'caps', 'cwd', 'env']);
  });
});
