// box's built-in `capacity` policy: admits a start only if the memory committed by the running
// containers plus this one stays within a share of the host's memory, and likewise for cpus —
// the guard against many containers starting at once and starving each other.
//
// Arguments: memory-share (fraction of host memory, default 0.9), cpu-share (fraction of the
// host's cpus, default 1.0; above 1 overcommits), unlimited (deny | allow, default deny: a
// container without a memory or cpu limit cannot be accounted for).
import type { AdmissionExports, PolicyRequest, PolicyVerdict } from '../../src/policy/types';
import { arg, mib, millicpus, numberArg } from './lib';

export function evaluateCapacity(req: PolicyRequest): PolicyVerdict {
  const reasons: string[] = [];
  const warnings: string[] = [];
  const memoryShare = numberArg(req, 'memory-share', 0.9, reasons);
  const cpuShare = numberArg(req, 'cpu-share', 1.0, reasons);
  const unlimited = arg(req, 'unlimited') ?? 'deny';
  if (unlimited !== 'deny' && unlimited !== 'allow') reasons.push(`policy argument unlimited=${unlimited} must be deny or allow`);
  const h = req.host;
  const memory = req.container.resources.memory;
  const cpu = millicpus(req);
  const memoryBudget = (h.memoryTotal * BigInt(Math.round(memoryShare * 1000))) / 1000n;
  const cpuBudget = BigInt(Math.round(h.cpus * cpuShare * 1000));
  if (memory === undefined) {
    if (unlimited === 'deny') reasons.push('a memory limit is required so that the start can be accounted for (--memory)');
    else warnings.push('no memory limit: not accounted for');
  } else if (h.committed.memory + memory > memoryBudget) {
    reasons.push(
      `not enough memory: ${mib(h.committed.memory)} committed by ${h.committed.containers} running containers + ${mib(memory)} requested > ${mib(memoryBudget)} (${memoryShare * 100}% of ${mib(h.memoryTotal)})`,
    );
  }
  if (cpu === undefined) {
    if (unlimited === 'deny') reasons.push('a cpu limit is required so that the start can be accounted for (--cpus)');
    else warnings.push('no cpu limit: not accounted for');
  } else if (h.committed.millicpus + cpu > cpuBudget) {
    reasons.push(
      `not enough cpu: ${Number(h.committed.millicpus) / 1000} committed + ${Number(cpu) / 1000} requested > ${Number(cpuBudget) / 1000} (${cpuShare * 100}% of ${h.cpus} cpus)`,
    );
  }
  if (h.committed.unlimitedMemory > 0 || h.committed.unlimitedCpu > 0) {
    warnings.push(`${Math.max(h.committed.unlimitedMemory, h.committed.unlimitedCpu)} running containers have no limit and are not accounted for`);
  }
  return { decision: reasons.length ? 'deny' : 'allow', reasons, warnings };
}

export const admission: AdmissionExports = {
  describe() {
    return {
      name: 'capacity',
      version: '0.1.0',
      description: 'Admits a start only if committed memory and cpus plus the request stay within a share of the host.',
      arguments: [
        { name: 'memory-share', description: 'fraction of host memory that may be committed (default 0.9)' },
        { name: 'cpu-share', description: 'fraction of host cpus that may be committed (default 1.0)' },
        { name: 'unlimited', description: 'deny (default) or allow containers without limits' },
      ],
    };
  },
  evaluate: evaluateCapacity,
};
