// The process security of a container: capability sets and the seccomp program, from its config.
import { BoxError } from '../errors';
import { capSetsFor, resolveCapabilities } from '../linux/capabilities';
import { readFileIfExists } from '../util/fs';
import { ContainerConfig } from '../model';

// Injected by build/build.mjs: the default profile compiled for Docker's default capabilities.
declare const __BOX_DEFAULT_SECCOMP__: { mask: string; bpf: string } | undefined;
const PRECOMPILED = typeof __BOX_DEFAULT_SECCOMP__ === 'object' ? __BOX_DEFAULT_SECCOMP__ : undefined;

/** The seccomp module (syscall tables, compiler) is loaded only when a program must be compiled. */
const seccomp = () => require('../linux/seccomp') as typeof import('../linux/seccomp');

/** What the helper applies to a container process: its capability sets and seccomp program. */
export interface ProcessSecurity {
  caps: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  /** compiled BPF, or undefined for unconfined */
  seccomp?: Buffer;
}

let lastCap: number | undefined;
function hostLastCap(): number {
  lastCap ??= Number(readFileIfExists('/proc/sys/kernel/cap_last_cap')?.trim() ?? 40);
  return lastCap;
}

/** The capability mask of --privileged/--cap-add/--cap-drop; an unknown name is a BoxError. */
export function capabilityMask(config: Pick<ContainerConfig, 'privileged' | 'capAdd' | 'capDrop'>): bigint {
  try {
    return resolveCapabilities({
      privileged: config.privileged,
      capAdd: config.capAdd,
      capDrop: config.capDrop,
      lastCap: hostLastCap(),
    });
  } catch (err) {
    throw new BoxError((err as Error).message);
  }
}

export function processSecurity(config: ContainerConfig): ProcessSecurity {
  const mask = capabilityMask(config);
  const caps = capSetsFor(mask, config.user.uid);
  let program: Buffer | undefined;
  try {
    if (config.seccomp === 'default') {
      program =
        PRECOMPILED && PRECOMPILED.mask === String(mask)
          ? Buffer.from(PRECOMPILED.bpf, 'base64')
          : seccomp().compileDefaultProfile(mask);
    } else if (config.seccomp !== 'unconfined')
      program = seccomp().compileDockerProfile(config.seccompProfile ?? '', config.seccomp, mask);
  } catch (err) {
    throw new BoxError((err as Error).message);
  }
  return { caps, seccomp: program };
}
