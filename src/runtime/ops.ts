// The helper's ops (native/PROTOCOL.md, "Ops") as TypeScript sees them: name, argument types,
// single use and the subcommands that take each. native/spec.c holds the same table for the
// helper; test/unit/helper-ops.test.ts parses both it and PROTOCOL.md and compares them with this
// one, so the three cannot drift. HelperSpec.op (spec.ts) is typed from it.

/**
 * Argument types, one letter per argument, as in spec.c: s string, b bytes, u unsigned, i signed
 * (-1 allowed), p absolute path; a trailing '*' repeats the letter before it (zero or more).
 */
export type ArgTypes = string;

export interface OpDef {
  args: ArgTypes;
  /** host: read before clone; step: child-side, in spec order; attr: process attributes */
  kind: 'host' | 'step' | 'attr';
  /** may appear at most once */
  single: boolean;
  /** the subcommands that take it */
  modes: readonly ('run' | 'exec')[];
}

const RUN = ['run'] as const;
const EXEC = ['exec'] as const;
const BOTH = ['run', 'exec'] as const;

export const OPS = {
  // host side
  clone: { args: 'u', kind: 'host', single: true, modes: RUN },
  cgroup: { args: 's', kind: 'host', single: false, modes: RUN },
  'cgroup-join': { args: 's', kind: 'host', single: false, modes: BOTH },
  cgroupns: { args: '', kind: 'host', single: true, modes: RUN },
  tty: { args: '', kind: 'host', single: true, modes: BOTH },
  'tty-size': { args: 'uu', kind: 'host', single: true, modes: BOTH },
  'preserve-fds': { args: 'u', kind: 'host', single: true, modes: BOTH },
  init: { args: '', kind: 'host', single: true, modes: RUN },
  'oom-score-adj': { args: 'i', kind: 'host', single: true, modes: RUN },
  setns: { args: 'sp', kind: 'host', single: false, modes: RUN },
  'userns-map': { args: 'ss', kind: 'host', single: true, modes: RUN },
  // the monitor of a detached container
  detach: { args: '', kind: 'host', single: true, modes: BOTH },
  log: { args: 'puu', kind: 'host', single: true, modes: RUN },
  state: { args: 'p', kind: 'host', single: true, modes: RUN },
  release: { args: '', kind: 'host', single: true, modes: BOTH },
  'console-socket': { args: 'p', kind: 'host', single: true, modes: BOTH },
  ready: { args: '', kind: 'host', single: true, modes: RUN },
  'control-fifo': { args: 'p', kind: 'host', single: true, modes: RUN },
  lifeline: { args: 'u', kind: 'host', single: true, modes: RUN },
  'on-exit': { args: 'ps*', kind: 'host', single: true, modes: RUN },
  attach: { args: 'pu', kind: 'host', single: true, modes: RUN },
  stdin: { args: '', kind: 'host', single: true, modes: BOTH },
  // a foreground container's stdio through pipes the helper relays
  relay: { args: '', kind: 'host', single: true, modes: BOTH },
  'exit-event': { args: 'ps', kind: 'host', single: true, modes: EXEC },
  // health checks, scheduled by the monitor
  health: { args: 'uuuuup', kind: 'host', single: true, modes: RUN },
  'health-exec': { args: 'b', kind: 'host', single: true, modes: RUN },
  'health-event': { args: 'ps', kind: 'host', single: true, modes: RUN },
  'health-on-failure': { args: 'suu', kind: 'host', single: true, modes: RUN },
  // exec
  join: { args: 'u', kind: 'host', single: true, modes: EXEC },
  // child-side steps, in order
  hostname: { args: 's', kind: 'step', single: false, modes: RUN },
  domainname: { args: 's', kind: 'step', single: true, modes: RUN },
  propagation: { args: 'u', kind: 'step', single: false, modes: RUN },
  'propagation-of': { args: 'pu', kind: 'step', single: false, modes: RUN },
  rootfs: { args: 'ssuss', kind: 'step', single: true, modes: RUN },
  mount: { args: 'sssus', kind: 'step', single: false, modes: RUN },
  bind: { args: 'psu', kind: 'step', single: false, modes: RUN },
  'copy-up': { args: 'sp', kind: 'step', single: false, modes: RUN },
  mknod: { args: 'suuu', kind: 'step', single: false, modes: RUN },
  symlink: { args: 'ss', kind: 'step', single: false, modes: RUN },
  pivot: { args: '', kind: 'step', single: true, modes: RUN },
  mask: { args: 's', kind: 'step', single: false, modes: RUN },
  readonly: { args: 's', kind: 'step', single: false, modes: RUN },
  remount: { args: 'su', kind: 'step', single: false, modes: RUN },
  sysctl: { args: 'ss', kind: 'step', single: false, modes: RUN },
  'loopback-up': { args: '', kind: 'step', single: true, modes: RUN },
  'await-cgroups': { args: '', kind: 'step', single: true, modes: RUN },
  hook: { args: 'sussupss*', kind: 'step', single: false, modes: RUN },
  // process attributes
  rlimit: { args: 'uii', kind: 'attr', single: false, modes: BOTH },
  'no-new-privs': { args: '', kind: 'attr', single: true, modes: BOTH },
  user: { args: 'uu', kind: 'attr', single: true, modes: BOTH },
  groups: { args: 'u*', kind: 'attr', single: true, modes: BOTH },
  caps: { args: 'uuuuu', kind: 'attr', single: true, modes: BOTH },
  cwd: { args: 's', kind: 'attr', single: true, modes: BOTH },
  env: { args: 's*', kind: 'attr', single: true, modes: BOTH },
  seccomp: { args: 'b', kind: 'attr', single: true, modes: BOTH },
  args: { args: 'ss*', kind: 'attr', single: true, modes: BOTH },
  'start-hook': { args: 'sussupss*', kind: 'attr', single: false, modes: RUN },
  umask: { args: 'u', kind: 'attr', single: true, modes: BOTH },
  personality: { args: 'u', kind: 'attr', single: true, modes: BOTH },
} as const satisfies Record<string, OpDef>;

export type OpName = keyof typeof OPS;

/** What each argument letter accepts: numbers as numbers, bytes as a Buffer (or text). */
interface ArgValue {
  s: string;
  p: string;
  u: number | bigint;
  i: number | bigint;
  b: Buffer | string;
}

/** The letters of a type string, as a union. */
type Letters<T extends string> = T extends `${infer H}${infer R}` ? H | Letters<R> : never;

/**
 * The arguments of a type string: a tuple for fixed ones ('pu' is [string, number | bigint]); an
 * array when it repeats ('ps*' is string[]: callers spread lists, the minimum is checked when the
 * record is made).
 */
type ArgTuple<T extends string> = T extends `${infer F}*`
  ? ArgValue[Letters<F> & keyof ArgValue][]
  : T extends `${infer H extends keyof ArgValue}${infer R}`
    ? [ArgValue[H], ...ArgTuple<R>]
    : [];

/** The arguments `op` takes, typed from its entry in OPS. */
export type OpArgs<N extends OpName> = ArgTuple<(typeof OPS)[N]['args']>;

/** A record ready for HelperSpec.op: the op name and its arguments. */
export type OpRecord = { [N in OpName]: [N, ...OpArgs<N>] }[OpName];

/** The number of arguments a type string allows: [min, max] (max Infinity when it repeats). */
export function argCount(types: ArgTypes): [number, number] {
  return types.endsWith('*') ? [types.length - 2, Infinity] : [types.length, types.length];
}
