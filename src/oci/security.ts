// The process security of a bundle's container: the capability sets config.json lists and its
// seccomp filter, compiled by box's own compiler (the runtime-spec's format is the one Docker's
// profiles use).
import { BoxError } from '../errors';
import { compileDockerProfile } from '../linux/seccomp';
import type { ProcessSecurity } from '../runtime/security';
import type { OciConfig } from './config';

export function ociSecurity(config: Pick<OciConfig, 'process' | 'seccomp'>): ProcessSecurity {
  const caps = config.process.caps;
  if (!config.seccomp) return { caps };
  try {
    return { caps, seccomp: compileDockerProfile(config.seccomp, 'linux.seccomp', caps.bounding) };
  } catch (err) {
    throw new BoxError(`config.json: ${(err as Error).message}`);
  }
}
