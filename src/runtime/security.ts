// The process security of a container: capability sets and the seccomp program, from its config.
import { BoxError } from '../errors';
import { capSetsFor, resolveCapabilities } from '../linux/capabilities';
import { compileDefaultProfile, compileDockerProfile } from '../linux/seccomp';
import { readFileIfExists } from '../util/fs';
import { ContainerConfig } from './model';
import { ProcessSecurity } from './plan';

let lastCap: number | undefined;
function hostLastCap(): number {
  lastCap ??= Number(readFileIfExists('/proc/sys/kernel/cap_last_cap')?.trim() ?? 40);
  return lastCap;
}

export function processSecurity(config: ContainerConfig): ProcessSecurity {
  let mask: bigint;
  try {
    mask = resolveCapabilities({ privileged: config.privileged, capAdd: config.capAdd, capDrop: config.capDrop, lastCap: hostLastCap() });
  } catch (err) {
    throw new BoxError((err as Error).message);
  }
  const caps = capSetsFor(mask, config.user.uid);
  let seccomp: Buffer | undefined;
  try {
    if (config.seccomp === 'default') seccomp = compileDefaultProfile(mask);
    else if (config.seccomp !== 'unconfined') seccomp = compileDockerProfile(config.seccompProfile ?? '', config.seccomp, mask);
  } catch (err) {
    throw new BoxError((err as Error).message);
  }
  return { caps, seccomp };
}
