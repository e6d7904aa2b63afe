// A policy's patch is re-validated with the checks box makes of the same values given as flags:
// a patch that fails one is refused with a message naming the policy and the problem.
import { describe, expect, it } from 'vitest';
import { detectCgroups } from '../../src/linux/cgroups';
import { applyPatch } from '../../src/policy/patch';
import type { LimitsPatch, PolicyPatch } from '../../src/policy/types';
import { runFlagsFrom } from '../../src/runtime/run-flags';
import { resolveContainerConfig } from '../../src/runtime/run-options';

const config = resolveContainerConfig(
  runFlagsFrom({}),
  {
    ref: 'img',
    id: 'sha256:x',
    lowerDirs: [],
    config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [] } },
  },
  [],
  'a'.repeat(64),
);
const patch = (over: Partial<PolicyPatch>): PolicyPatch => ({
  dropCapabilities: [],
  readOnlyMounts: [],
  readOnlyRootfs: false,
  noNewPrivileges: false,
  addEnv: [],
  addLabels: [],
  ...over,
});
const limits = (l: Partial<LimitsPatch>): Partial<PolicyPatch> => ({ limits: { ulimits: [], ...l } });

describe('patch re-validation', () => {
  const host = detectCgroups();

  it.each([
    ['a memory limit below the minimum', limits({ memory: 1n << 20n }), 'memory: the minimum memory limit is 6m'],
    [
      'swap below memory',
      limits({ memory: 64n << 20n, memorySwap: 32n << 20n }),
      'memory-swap must be at least as large as --memory (it is memory plus swap)',
    ],
    [
      'a cpu period out of range',
      limits({ cpuPeriod: 10n }),
      'cpu-period must be between 1000 and 1000000 microseconds',
    ],
    [
      'a malformed cpu list',
      limits({ cpusetCpus: '3-1' }),
      'invalid value "3-1" for cpuset-cpus: expected a CPU list like 0-2,4',
    ],
    ['an unknown ulimit', limits({ ulimits: [{ name: 'bogus', soft: 1n, hard: 1n }] }), 'unknown ulimit "bogus"'],
    [
      'a ulimit named after an Object property',
      limits({ ulimits: [{ name: 'constructor', soft: 1n, hard: 1n }] }),
      'unknown ulimit "constructor"',
    ],
    ['an unknown capability', { dropCapabilities: ['NOT_A_CAP'] }, 'unknown capability "NOT_A_CAP"'],
    [
      'an invalid environment variable',
      { addEnv: [['A=B', 'x']] as Array<[string, string]> },
      'invalid environment variable name "A=B"',
    ],
  ])('refuses %s', (_what, over, why) => {
    expect(() => applyPatch(config, patch(over), 'p', host)).toThrow(`policy p returned an invalid patch: ${why}`);
  });

  it('applies a valid patch without touching the input', () => {
    const r = applyPatch(
      config,
      patch({
        ...limits({ memory: 64n << 20n, cpusetCpus: '0' }),
        dropCapabilities: ['net_raw'],
        readOnlyRootfs: true,
      }),
      'p',
      host,
    );
    expect(r.changes).toEqual([`memory=${64 << 20}`, 'cpuset-cpus=0', 'drop NET_RAW', 'read-only root filesystem']);
    expect(r.config.limits).toEqual({ memory: 64 << 20, cpusetCpus: '0' });
    expect(config.limits).toEqual({});
  });

  it('leaves every part of the input as it was, whatever the patch changes', () => {
    const bind = { type: 'bind' as const, source: '/srv', target: '/data', readOnly: false, origin: 'v' as const };
    const input = {
      ...config,
      env: ['A=1'],
      labels: { team: 'a' },
      capAdd: ['NET_ADMIN'],
      capDrop: ['MKNOD'],
      ulimits: [{ name: 'nofile', soft: 10, hard: 20 }],
      mounts: [bind],
      network: 'bridge',
      ports: [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }],
    };
    const before = structuredClone(input);
    const r = applyPatch(
      input,
      patch({
        ...limits({ memory: 64n << 20n, pidsLimit: 50n, ulimits: [{ name: 'nofile', soft: 5n, hard: 10n }] }),
        dropCapabilities: ['net_admin', 'net_raw'],
        readOnlyMounts: ['/data'],
        readOnlyRootfs: true,
        noNewPrivileges: true,
        addEnv: [['B', '2']],
        addLabels: [['team', 'b']],
        network: 'disconnect',
      }),
      'p',
      host,
    );
    expect(r.config.limits).toMatchObject({ memory: 64 << 20, pidsLimit: 50 });
    expect(r.config.env).toEqual(['A=1', 'B=2']);
    expect(input).toEqual(before);
  });

  it('makes the named mounts read-only, leaving others and destinations nothing mounts alone', () => {
    const bind = { type: 'bind' as const, source: '/srv', target: '/data', readOnly: false, origin: 'v' as const };
    const vol = { type: 'volume' as const, source: 'v', target: '/cache', readOnly: false, origin: 'v' as const };
    const mounted = { ...config, mounts: [bind, vol] };
    const r = applyPatch(mounted, patch({ readOnlyMounts: ['/data/', '/nothing-here'] }), 'p', host);
    expect(r.changes).toEqual(['read-only mount /data']);
    expect(r.config.mounts).toEqual([{ ...bind, readOnly: true }, vol]);
    expect(bind.readOnly).toBe(false);
    // already read-only: no change to report
    expect(applyPatch(r.config, patch({ readOnlyMounts: ['/data'] }), 'p', host).changes).toEqual([]);
  });
});

// A patch only tightens: each limit it can set, raised above what was asked (or, where nothing
// was asked, above the kernel's default), refuses the start naming the policy.
describe('a patch only tightens', () => {
  const host = detectCgroups();
  const requested = (flags: Record<string, string | string[]>) =>
    resolveContainerConfig(
      runFlagsFrom(flags),
      {
        ref: 'img',
        id: 'sha256:x',
        lowerDirs: [],
        config: {
          architecture: 'amd64',
          os: 'linux',
          config: { Cmd: ['sh'], Env: ['IMAGE_VAR=image'] },
          rootfs: { type: 'layers', diff_ids: [] },
        },
      },
      [],
      'a'.repeat(64),
    );
  const ulimit = (name: string, soft: bigint, hard: bigint) => limits({ ulimits: [{ name, soft, hard }] });
  const M = 1n << 20n;
  const nofileHard = BigInt(
    /Max open files\s+\S+\s+(\d+)/.exec(require('node:fs').readFileSync('/proc/self/limits', 'utf8'))![1],
  );

  it.each([
    [
      'memory above the requested',
      { memory: '256m' },
      limits({ memory: 4n << 60n }),
      `memory from ${256n * M} to ${4n << 60n}, memory-swap from ${512n * M} to ${8n << 60n}`,
    ],
    [
      'memory-swap above the requested',
      { memory: '64m', memorySwap: '128m' },
      limits({ memorySwap: 512n * M }),
      `memory-swap from ${128n * M} to ${512n * M}`,
    ],
    [
      'memory-swap above the default (twice memory)',
      { memory: '64m' },
      limits({ memorySwap: 256n * M }),
      `memory-swap from ${128n * M} to ${256n * M}`,
    ],
    [
      'memory-reservation above the requested',
      { memory: '64m', memoryReservation: '16m' },
      limits({ memoryReservation: 32n * M }),
      `memory-reservation from ${16n * M} to ${32n * M}`,
    ],
    [
      'memory-reservation where none was asked (a protection on v2)',
      {},
      limits({ memoryReservation: 32n * M }),
      `memory-reservation from 0 to ${32n * M}`,
    ],
    [
      'cpus: no quota',
      { cpus: '0.5' },
      limits({ cpuQuota: -1n }),
      'the CPU quota from 50000/100000 (0.5 CPUs) to unlimited',
    ],
    [
      'cpus: a larger quota',
      { cpus: '0.5' },
      limits({ cpuQuota: 200000n }),
      'the CPU quota from 50000/100000 (0.5 CPUs) to 200000/100000 (2 CPUs)',
    ],
    [
      'cpus: a shorter period for the same quota',
      { cpuQuota: '50000', cpuPeriod: '100000' },
      limits({ cpuPeriod: 25000n }),
      'the CPU quota from 50000/100000 (0.5 CPUs) to 50000/25000 (2 CPUs)',
    ],
    [
      'cpu-shares above the requested',
      { cpuShares: '512' },
      limits({ cpuShares: 4096n }),
      'cpu-shares from 512 to 4096',
    ],
    [
      'cpu-shares above the default where none was asked',
      {},
      limits({ cpuShares: 2048n }),
      'cpu-shares from 1024 to 2048',
    ],
    [
      'cpuset-cpus with a CPU not asked for',
      { cpusetCpus: '0' },
      limits({ cpusetCpus: '0-1' }),
      'cpuset-cpus from 0 to 0-1 (adds CPUs 1)',
    ],
    [
      'pids-limit to unlimited (-1)',
      { pidsLimit: '100' },
      limits({ pidsLimit: -1n }),
      'pids-limit from 100 to unlimited',
    ],
    [
      'pids-limit to unlimited (0)',
      { pidsLimit: '100' },
      limits({ pidsLimit: 0n }),
      'pids-limit from 100 to unlimited',
    ],
    ['pids-limit above the requested', { pidsLimit: '100' }, limits({ pidsLimit: 101n }), 'pids-limit from 100 to 101'],
    [
      'a ulimit soft limit above the requested',
      { ulimit: ['nofile=64:128'] },
      ulimit('nofile', 100n, 128n),
      'ulimit nofile (soft) from 64 to 100',
    ],
    [
      'a ulimit hard limit above the requested',
      { ulimit: ['nofile=64'] },
      ulimit('nofile', 64n, 20000n),
      'ulimit nofile (hard) from 64 to 20000',
    ],
    [
      'a ulimit to unlimited',
      { ulimit: ['core=0'] },
      ulimit('core', -1n, -1n),
      'ulimit core (soft) from 0 to unlimited, ulimit core (hard) from 0 to unlimited',
    ],
    [
      'a ulimit above the inherited one where none was asked',
      {},
      ulimit('nofile', 64n, nofileHard + 1n),
      `ulimit nofile (hard) from ${nofileHard} to ${nofileHard + 1n}`,
    ],
  ])('refuses %s', (_what, flags, over, why) => {
    expect(() => applyPatch(requested(flags), patch(over), 'p', host)).toThrow(
      `policy p returned an invalid patch: it raises ${why} (a patch may only tighten limits)`,
    );
  });

  it.each([
    ['memory where none was asked', {}, limits({ memory: 64n * M })],
    [
      'a lower memory and swap',
      { memory: '256m', memorySwap: '512m' },
      limits({ memory: 64n * M, memorySwap: 64n * M }),
    ],
    ['a lower memory (the default swap follows it)', { memory: '256m' }, limits({ memory: 64n * M })],
    ['a lower memory-reservation', { memory: '64m', memoryReservation: '32m' }, limits({ memoryReservation: 16n * M })],
    ['cpus where none was asked', {}, limits({ cpuQuota: 50000n, cpuPeriod: 100000n })],
    ['a longer period for the same quota', { cpus: '1' }, limits({ cpuPeriod: 200000n })],
    ['lower cpu-shares', { cpuShares: '512' }, limits({ cpuShares: 256n })],
    ['a cpuset subset', {}, limits({ cpusetCpus: '0' })],
    ['pids-limit where none was asked', {}, limits({ pidsLimit: 50n })],
    ['a lower pids-limit', { pidsLimit: '100' }, limits({ pidsLimit: 10n })],
    ['a lower ulimit', { ulimit: ['nofile=64'] }, ulimit('nofile', 32n, 64n)],
    ['a ulimit under the inherited one where none was asked', {}, ulimit('nofile', 16n, 16n)],
  ])('accepts %s', (_what, flags, over) => {
    expect(() => applyPatch(requested(flags), patch(over), 'p', host)).not.toThrow();
  });

  it("compares with the previous policy's result: a second patch cannot undo the first", () => {
    const first = applyPatch(requested({}), patch(limits({ pidsLimit: 50n })), 'first', host).config;
    expect(() => applyPatch(first, patch(limits({ pidsLimit: 1000n })), 'second', host)).toThrow(
      'policy second returned an invalid patch: it raises pids-limit from 50 to 1000',
    );
  });

  it.each(['PATH', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'BASH_ENV', 'NODE_OPTIONS', 'GLIBC_TUNABLES', 'BASH_FUNC_x%%'])(
    'refuses env %s (it changes what runs or loads)',
    (name) => {
      expect(() => applyPatch(requested({}), patch({ addEnv: [[name, '/tmp/x']] }), 'p', host)).toThrow(
        `policy p returned an invalid patch: it sets ${name}, which changes what programs run or load (a patch may not set it)`,
      );
    },
  );

  it("adds env the container lacks, and never replaces the user's or the image's", () => {
    const r = applyPatch(
      requested({ env: ['USER_VAR=user'] }),
      patch({
        addEnv: [
          ['USER_VAR', 'policy'],
          ['IMAGE_VAR', 'policy'],
          ['NEW_VAR', 'policy'],
        ],
      }),
      'p',
      host,
    );
    expect(r.config.env).toContain('USER_VAR=user');
    expect(r.config.env).toContain('IMAGE_VAR=image');
    expect(r.config.env).toContain('NEW_VAR=policy');
    expect(r.changes).toEqual(['env USER_VAR kept (already set)', 'env IMAGE_VAR kept (already set)', 'env NEW_VAR']);
  });

  it("sets labels, replacing the user's only with the replacement reported", () => {
    const labelled = { ...config, labels: { team: 'user', same: 'v' } };
    const r = applyPatch(
      labelled,
      patch({
        addLabels: [
          ['team', 'policy'],
          ['same', 'v'],
          ['new', 'policy'],
        ],
      }),
      'p',
      host,
    );
    expect(r.config.labels).toEqual({ team: 'policy', same: 'v', new: 'policy' });
    expect(r.changes).toEqual(['label team replaced (was "user")', 'label same', 'label new']);
    expect(r.replaced).toEqual(['label team replaced (was "user")']);
    expect(labelled.labels.team).toBe('user');
  });
});
