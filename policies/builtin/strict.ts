// box's built-in `strict` policy: baseline's denials, plus required resource limits within
// bounds, a non-root user, a network that is none or a bridge without privileged host ports,
// and images only from allowed registries. It corrects what can be corrected: the root
// filesystem and bind mounts are made read-only, no-new-privileges is set.
//
// Arguments: max-memory (default 2g), max-cpus (default: the host's cpus), max-pids (default
// 4096), registries (comma-separated registry hosts, default docker.io).
import type { AdmissionExports, PolicyPatch, PolicyRequest, PolicyVerdict } from '../../src/policy/types';
import { baselineReasons } from './baseline';
import { arg, bytesArg, mib, millicpus, numberArg, registryOf } from './lib';

export function evaluateStrict(req: PolicyRequest): PolicyVerdict {
  const c = req.container;
  const r = c.resources;
  const reasons = baselineReasons(req);
  const maxMemory = bytesArg(req, 'max-memory', 2n * 1024n ** 3n, reasons);
  const maxCpus = numberArg(req, 'max-cpus', req.host.cpus, reasons);
  const maxPids = numberArg(req, 'max-pids', 4096, reasons);
  const registries = (arg(req, 'registries') ?? 'docker.io').split(',').map((s) => s.trim()).filter(Boolean);

  if (r.memory === undefined) reasons.push(`a memory limit is required (--memory, at most ${mib(maxMemory)})`);
  else if (r.memory > maxMemory) reasons.push(`memory limit ${mib(r.memory)} is above the maximum of ${mib(maxMemory)}`);
  const cpu = millicpus(req);
  if (cpu === undefined) reasons.push(`a cpu limit is required (--cpus, at most ${maxCpus})`);
  else if (Number(cpu) > maxCpus * 1000) reasons.push(`cpu limit ${Number(cpu) / 1000} is above the maximum of ${maxCpus}`);
  if (r.pidsLimit === undefined || r.pidsLimit <= 0n) reasons.push(`a pids limit is required (--pids-limit, at most ${maxPids})`);
  else if (Number(r.pidsLimit) > maxPids) reasons.push(`pids limit ${r.pidsLimit} is above the maximum of ${maxPids}`);
  if (c.user.uid === 0) reasons.push('containers must not run as root (use --user or an image with a non-root USER)');
  const mode = c.network.mode;
  if (mode.tag === 'container') reasons.push("sharing another container's network is not allowed");
  if (mode.tag === 'bridge') {
    const low = c.network.publishedPorts.filter((p) => p.hostPort > 0 && p.hostPort < 1024);
    if (low.length) reasons.push(`publishing privileged host ports is not allowed: ${low.map((p) => p.hostPort).join(', ')}`);
  }
  const registry = registryOf(c.image.reference);
  if (!registries.includes(registry)) reasons.push(`images from ${registry} are not allowed (allowed: ${registries.join(', ')})`);
  if (reasons.length) return { decision: 'deny', reasons, warnings: [] };

  const warnings: string[] = [];
  const patch: PolicyPatch = { dropCapabilities: [], readOnlyMounts: [], readOnlyRootfs: false, noNewPrivileges: false, addEnv: [], addLabels: [] };
  let patched = false;
  if (!c.security.readOnlyRootfs) {
    patch.readOnlyRootfs = patched = true;
    warnings.push('root filesystem made read-only');
  }
  if (!c.security.noNewPrivileges) {
    patch.noNewPrivileges = patched = true;
    warnings.push('no-new-privileges set');
  }
  for (const m of c.mounts) {
    if (m.kind === 'bind' && !m.readOnly) {
      patch.readOnlyMounts.push(m.destination);
      patched = true;
      warnings.push(`bind mount ${m.destination} made read-only`);
    }
  }
  return { decision: 'allow', reasons: [], warnings, patch: patched ? patch : undefined };
}

export const admission: AdmissionExports = {
  describe() {
    return {
      name: 'strict',
      version: '0.1.0',
      description: 'Baseline plus required limits within bounds, non-root user, read-only root filesystem and bind mounts, no privileged host ports, allowed registries only.',
      arguments: [
        { name: 'max-memory', description: 'largest memory limit allowed (default 2g)' },
        { name: 'max-cpus', description: "largest cpu limit allowed (default: the host's cpus)" },
        { name: 'max-pids', description: 'largest pids limit allowed (default 4096)' },
        { name: 'registries', description: 'comma-separated registries images may come from (default docker.io)' },
      ],
    };
  },
  evaluate: evaluateStrict,
};
