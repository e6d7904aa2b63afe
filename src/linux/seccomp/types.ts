// box's internal seccomp profile format. Both the built-in default profile and parsed Docker
// JSON profiles are expressed in it; compileSeccomp() turns one into a BPF program for a
// given capability mask, architecture and kernel version.

export type SeccompAction =
  | { readonly type: 'allow' }
  | { readonly type: 'errno'; readonly errno: number }
  | { readonly type: 'kill_process' }
  | { readonly type: 'kill_thread' }
  | { readonly type: 'trap' }
  | { readonly type: 'trace'; readonly data: number }
  | { readonly type: 'log' };

export const ALLOW: SeccompAction = Object.freeze({ type: 'allow' });
export const KILL_PROCESS: SeccompAction = Object.freeze({ type: 'kill_process' });
export const KILL_THREAD: SeccompAction = Object.freeze({ type: 'kill_thread' });
export const TRAP: SeccompAction = Object.freeze({ type: 'trap' });
export const LOG: SeccompAction = Object.freeze({ type: 'log' });
export function errno(n: number): SeccompAction {
  return { type: 'errno', errno: n };
}
export function trace(data: number): SeccompAction {
  return { type: 'trace', data };
}

export const EPERM = 1;
export const ENOSYS = 38;

/**
 * Comparison of one 64-bit syscall argument, unsigned (as the kernel's BPF compares):
 * eq/ne/lt/le/gt/ge: arg OP value; masked_eq: (arg & value) == valueTwo.
 */
export type ArgOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked_eq';

export interface ArgCondition {
  /** argument index 0..5 */
  readonly index: number;
  readonly op: ArgOp;
  readonly value: bigint;
  /** masked_eq only: the value the masked argument must equal */
  readonly valueTwo?: bigint;
  /**
   * 32: compare only the low 32 bits (for arguments the kernel takes as int / unsigned int, so
   * garbage in the upper half of the register can't dodge a rule). Default 64.
   */
  readonly bits?: 32 | 64;
}

/** When a rule applies. Every given field must hold (includes) / any given field holding drops it (excludes). */
export interface RuleFilter {
  /** capability names ("CAP_SYS_ADMIN"); includes: all must be held; excludes: any held drops the rule */
  readonly caps?: readonly string[];
  /** architecture names (GOARCH style "amd64", or "x86_64") */
  readonly arches?: readonly string[];
  /** "MAJOR.MINOR": includes: kernel >= it; excludes: kernel >= it drops the rule */
  readonly minKernel?: string;
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  /** all must hold (AND); none = unconditional */
  readonly args?: readonly ArgCondition[];
  readonly includes?: RuleFilter;
  readonly excludes?: RuleFilter;
  readonly comment?: string;
}

/**
 * Rule semantics, per syscall, after includes/excludes are applied:
 * the rules with argument conditions are tried in profile order and the first whose conditions
 * all hold decides; otherwise the first unconditional rule for the syscall decides; otherwise
 * the default action. Syscall names unknown on the architecture are skipped.
 */
export interface SeccompProfile {
  readonly defaultAction: SeccompAction;
  /** for wrong AUDIT_ARCH and foreign-ABI (x32) syscalls; default kill_process */
  readonly badArchAction?: SeccompAction;
  /**
   * Syscall numbers above the newest call box knows get ERRNO(ENOSYS) instead of the default
   * action (unless the default is allow or log), so libc falls back from calls newer than the
   * profile (what runc does). Default true.
   */
  readonly enosysForUnknown?: boolean;
  readonly rules: readonly SeccompRule[];
}
