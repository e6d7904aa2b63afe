// box's built-in `baseline` policy: refuses what breaks container isolation outright —
// privileged containers, the host's PID/IPC/network namespaces, dangerous capabilities,
// bind mounts of sensitive host paths — and sets default limits when none are given.
//
// Arguments: default-memory (size, default 1g, never more than half the host's memory),
// default-pids (default 4096), allow-capabilities (comma-separated names exempt from the list).
import type { AdmissionExports, PolicyPatch, PolicyRequest, PolicyVerdict } from '../../src/policy/types';
import { arg, bytesArg, mib, normalise, numberArg, within } from './lib';

export const DANGEROUS_CAPABILITIES = [
  'SYS_ADMIN', 'SYS_MODULE', 'SYS_PTRACE', 'SYS_RAWIO', 'SYS_BOOT', 'SYS_TIME', 'SYS_RESOURCE', 'SYSLOG',
  'NET_ADMIN', 'MAC_ADMIN', 'MAC_OVERRIDE', 'DAC_READ_SEARCH', 'LINUX_IMMUTABLE', 'BPF', 'PERFMON', 'CHECKPOINT_RESTORE',
];

const SENSITIVE_TREES = ['/etc', '/proc', '/sys', '/dev', '/boot', '/root', '/var/lib/docker', '/var/lib/containerd'];
const SOCKETS = [
  '/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock',
  '/run/podman/podman.sock', '/run/crio/crio.sock', '/run/buildkit/buildkitd.sock',
];

/** The denials baseline makes; strict reuses them. */
export function baselineReasons(req: PolicyRequest): string[] {
  const c = req.container;
  const reasons: string[] = [];
  if (c.security.privileged) reasons.push('privileged containers are not allowed');
  if (c.namespaces.pid.tag === 'host') reasons.push("the host's PID namespace is not allowed");
  if (c.namespaces.ipc.tag === 'host') reasons.push("the host's IPC namespace is not allowed");
  if (c.network.mode.tag === 'host') reasons.push("the host's network namespace is not allowed");
  const allowed = new Set((arg(req, 'allow-capabilities') ?? '').split(',').map((s) => s.trim().toUpperCase().replace(/^CAP_/, '')));
  const dangerous = c.security.privileged ? [] : c.security.capabilities.filter((cap) => DANGEROUS_CAPABILITIES.includes(cap) && !allowed.has(cap));
  if (dangerous.length) reasons.push(`dangerous capabilities are not allowed: ${dangerous.join(', ')}`);
  const protectedTrees = [...SENSITIVE_TREES, normalise(req.host.storageRoot), normalise(req.host.runtimeRoot)];
  for (const m of c.mounts) {
    if (m.kind !== 'bind') continue;
    const src = normalise(m.source);
    if (src === '/') {
      reasons.push(`bind mount of ${m.source} is not allowed (the host's root)`);
      continue;
    }
    const inside = protectedTrees.find((t) => within(src, t));
    const exposed = [...SOCKETS, ...protectedTrees].find((s) => within(s, src));
    if (inside) reasons.push(`bind mount of ${m.source} is not allowed (a sensitive host path)`);
    else if (exposed) reasons.push(`bind mount of ${m.source} is not allowed (it exposes ${exposed})`);
  }
  return reasons;
}

export function evaluateBaseline(req: PolicyRequest): PolicyVerdict {
  const reasons = baselineReasons(req);
  const argProblems: string[] = [];
  const r = req.container.resources;
  const half = req.host.memoryTotal / 2n;
  let memory = bytesArg(req, 'default-memory', 1024n ** 3n, argProblems);
  if (half > 0n && memory > half) memory = half;
  const pids = BigInt(Math.floor(numberArg(req, 'default-pids', 4096, argProblems)));
  if (argProblems.length) return { decision: 'deny', reasons: [...reasons, ...argProblems], warnings: [] };
  if (reasons.length) return { decision: 'deny', reasons, warnings: [] };
  const warnings: string[] = [];
  let patch: PolicyPatch | undefined;
  if (r.memory === undefined || (r.pidsLimit === undefined || r.pidsLimit < 0n)) {
    patch = { limits: { ulimits: [] }, dropCapabilities: [], readOnlyMounts: [], readOnlyRootfs: false, noNewPrivileges: false, addEnv: [], addLabels: [] };
    if (r.memory === undefined) {
      patch.limits!.memory = memory;
      warnings.push(`no memory limit given: set to ${mib(memory)}`);
    }
    if (r.pidsLimit === undefined || r.pidsLimit < 0n) {
      patch.limits!.pidsLimit = pids;
      warnings.push(`no pids limit given: set to ${pids}`);
    }
  }
  return { decision: 'allow', reasons: [], warnings, patch };
}

export const admission: AdmissionExports = {
  describe() {
    return {
      name: 'baseline',
      version: '0.1.0',
      description: 'Denies privileged containers, host namespaces, dangerous capabilities and sensitive host mounts; sets default memory and pids limits.',
      arguments: [
        { name: 'default-memory', description: 'memory limit set when none is given (default 1g, at most half the host memory)' },
        { name: 'default-pids', description: 'pids limit set when none is given (default 4096)' },
        { name: 'allow-capabilities', description: 'comma-separated dangerous capabilities to allow anyway' },
      ],
    };
  },
  evaluate: evaluateBaseline,
};
