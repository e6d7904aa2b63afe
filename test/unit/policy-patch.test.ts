// A policy's patch is re-validated with the checks box makes of the same values given as flags:
// a patch that fails one is refused with a message naming the policy and the problem.
import { describe, expect, it } from 'vitest';
import { detectCgroups } from '../../src/linux/cgroups';
import { applyPatch } from '../../src/policy/patch';
import type { LimitsPatch, PolicyPatch } from '../../src/policy/types';
import { resolveContainerConfig } from '../../src/runtime/run-options';

const config = resolveContainerConfig(
  { env: [], envFile: [], tty: false, interactive: false, readOnly: false, init: false, privileged: false, capAdd: [], capDrop: [], securityOpt: [], ulimit: [], label: [], rm: false },
  { ref: 'img', id: 'sha256:x', lowerDirs: [], config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [] } } },
  [],
  'a'.repeat(64),
);
const patch = (over: Partial<PolicyPatch>): PolicyPatch => ({ dropCapabilities: [], readOnlyMounts: [], readOnlyRootfs: false, noNewPrivileges: false, addEnv: [], addLabels: [], ...over });
const limits = (l: Partial<LimitsPatch>): Partial<PolicyPatch> => ({ limits: { ulimits: [], ...l } });

describe('patch re-validation', () => {
  const host = detectCgroups();

  it.each([
    ['a memory limit below the minimum', limits({ memory: 1n << 20n }), 'memory: the minimum memory limit is 6m'],
    ['swap below memory', limits({ memory: 64n << 20n, memorySwap: 32n << 20n }), 'memory-swap must be at least as large as --memory (it is memory plus swap)'],
    ['a cpu period out of range', limits({ cpuPeriod: 10n }), 'cpu-period must be between 1000 and 1000000 microseconds'],
    ['a malformed cpu list', limits({ cpusetCpus: '3-1' }), 'invalid value "3-1" for cpuset-cpus: expected a CPU list like 0-2,4'],
    ['an unknown ulimit', limits({ ulimits: [{ name: 'bogus', soft: 1n, hard: 1n }] }), 'unknown ulimit "bogus"'],
    ['a ulimit named after an Object property', limits({ ulimits: [{ name: 'constructor', soft: 1n, hard: 1n }] }), 'unknown ulimit "constructor"'],
    ['an unknown capability', { dropCapabilities: ['NOT_A_CAP'] }, 'unknown capability "NOT_A_CAP"'],
    ['an invalid environment variable', { addEnv: [['A=B', 'x']] as Array<[string, string]> }, 'invalid environment variable name "A=B"'],
  ])('refuses %s', (_what, over, why) => {
    expect(() => applyPatch(config, patch(over), 'p', host)).toThrow(`policy p returned an invalid patch: ${why}`);
  });

  it('applies a valid patch without touching the input', () => {
    const r = applyPatch(config, patch({ ...limits({ memory: 64n << 20n, cpusetCpus: '0' }), dropCapabilities: ['net_raw'], readOnlyRootfs: true }), 'p', host);
    expect(r.changes).toEqual([`memory=${64 << 20}`, 'cpuset-cpus=0', 'drop NET_RAW', 'read-only root filesystem']);
    expect(r.config.limits).toEqual({ memory: 64 << 20, cpusetCpus: '0' });
    expect(config.limits).toEqual({});
  });
});
