// The attributes of a container process as helper ops: rlimits, no_new_privs, user and groups,
// capabilities, working directory, environment and seccomp. One builder for the container's init
// (plan.ts), `box exec` (exec.ts) and the health probe (health.ts), so a process that joins the
// container later is confined exactly as its init is. Pure: it only describes.
import { rlimitNumber } from '../linux/rlimits';
import { ContainerConfig, Ulimit } from '../model';
import type { ProcessSecurity } from './security';
import { HelperSpec } from './spec';

export interface ProcessAttributes {
  user: Pick<ContainerConfig['user'], 'uid' | 'gid' | 'additionalGids'>;
  ulimits: Ulimit[];
  noNewPrivileges: boolean;
  /** capability sets and seccomp program (security.ts processSecurity, for this user) */
  security: ProcessSecurity;
  cwd: string;
  env: string[];
}

/** What the container's config gives a process; `box exec` then replaces user, cwd or env. */
export function containerProcess(config: ContainerConfig, security: ProcessSecurity): ProcessAttributes {
  return {
    user: config.user,
    ulimits: config.ulimits,
    noNewPrivileges: config.noNewPrivileges,
    security,
    cwd: config.workingDir,
    env: config.env,
  };
}

/** Appends the attribute ops (native/PROTOCOL.md); the caller adds `args` after them. */
export function appendProcessOps(spec: HelperSpec, p: ProcessAttributes): HelperSpec {
  for (const u of p.ulimits) spec.op('rlimit', rlimitNumber(u.name), u.soft, u.hard);
  if (p.noNewPrivileges) spec.op('no-new-privs');
  spec.op('user', p.user.uid, p.user.gid);
  spec.op('groups', ...p.user.additionalGids);
  const k = p.security.caps;
  spec.op('caps', k.bounding, k.effective, k.permitted, k.inheritable, k.ambient);
  spec.op('cwd', p.cwd);
  spec.op('env', ...p.env);
  if (p.security.seccomp) spec.op('seccomp', p.security.seccomp);
  return spec;
}
