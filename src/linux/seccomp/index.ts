// Seccomp for box: profiles (box's default, Docker JSON) compiled to BPF for the helper.
// Loading it builds the syscall tables: callers on a start path require it only when a filter is
// asked for (the trace's mark below says when it was).

import { compileSeccomp } from './compile';
import { DEFAULT_PROFILE } from './default-profile';
import { parseDockerProfile } from './docker-profile';
import { mark } from '../../util/trace';

mark('seccomp compiler loaded');

export * from './types';
export * from './syscalls';
export { BPF, SECCOMP_DATA, SECCOMP_RET, BPF_MAXINSNS, decodeProgram, type SockFilter } from './bpf';
export { compileSeccomp, actionToRet, type CompileOptions } from './compile';
export {
  DEFAULT_PROFILE,
  DEFAULT_ALLOWED,
  DEFAULT_CAP_GATED,
  DEFAULT_DENIED,
  ALLOWED_PERSONALITIES,
  CLONE_NAMESPACE_FLAGS,
} from './default-profile';
export { parseDockerProfile } from './docker-profile';

const defaultCache = new Map<bigint, Buffer>();

/**
 * The BPF program (raw struct sock_filter[]) of box's default profile for a container whose
 * effective capabilities are CAPS (x86_64, the running kernel). Deterministic per mask and
 * cached; the returned Buffer is the caller's own copy.
 */
export function compileDefaultProfile(caps: bigint): Buffer {
  let bpf = defaultCache.get(caps);
  if (!bpf) {
    bpf = compileSeccomp(DEFAULT_PROFILE, { caps });
    if (defaultCache.size >= 64) defaultCache.clear();
    defaultCache.set(caps, bpf);
  }
  return Buffer.from(bpf);
}

const dockerCache = new Map<string, Buffer>();

/**
 * Parses the Docker-format profile TEXT (read from SOURCE, named in errors) and compiles it for
 * the capabilities CAPS. Throws Error("seccomp profile SOURCE: ...") on a malformed profile.
 * Cached per (text, caps); the returned Buffer is the caller's own copy.
 */
export function compileDockerProfile(text: string, source: string, caps: bigint): Buffer {
  const key = `${caps}\0${text}`;
  let bpf = dockerCache.get(key);
  if (!bpf) {
    const profile = parseDockerProfile(text, source);
    try {
      bpf = compileSeccomp(profile, { caps });
    } catch (err) {
      throw new Error(`seccomp profile ${source}: ${(err as Error).message}`);
    }
    if (dockerCache.size >= 16) dockerCache.clear();
    dockerCache.set(key, bpf);
  }
  return Buffer.from(bpf);
}
