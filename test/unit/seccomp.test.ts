import { describe, expect, it } from 'vitest';
import { CAP, DOCKER_DEFAULT_CAP_MASK, allCapsMask, capBit, resolveCapabilities } from '../../src/linux/capabilities';
import {
  ALLOWED_PERSONALITIES,
  ARCHES,
  ArgCondition,
  ArgOp,
  DEFAULT_ALLOWED,
  DEFAULT_CAP_GATED,
  DEFAULT_DENIED,
  DEFAULT_PROFILE,
  SECCOMP_RET,
  SeccompAction,
  SeccompProfile,
  SeccompRule,
  SockFilter,
  actionToRet,
  compileDefaultProfile,
  compileDockerProfile,
  compileSeccomp,
  decodeProgram,
  parseDockerProfile,
  syscallName,
  syscallNumber,
} from '../../src/linux/seccomp';

// ---------------------------------------------------------------------------------------------
// A classic BPF interpreter with the kernel's seccomp checks (bpf_check_classic + seccomp_check_filter)

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;

interface Data {
  nr: number;
  arch?: number;
  ip?: bigint;
  args?: readonly bigint[];
}

function seccompData(d: Data): DataView {
  const dv = new DataView(new ArrayBuffer(64));
  dv.setUint32(0, d.nr >>> 0, true);
  dv.setUint32(4, (d.arch ?? AUDIT_ARCH_X86_64) >>> 0, true);
  dv.setBigUint64(8, d.ip ?? 0x401000n, true);
  for (let i = 0; i < 6; i++) dv.setBigUint64(16 + 8 * i, BigInt.asUintN(64, d.args?.[i] ?? 0n), true);
  return dv;
}

/** Validates a program as the kernel would before accepting it; throws on a problem. */
function checkProgram(prog: SockFilter[]): void {
  if (prog.length < 1 || prog.length > 4096) throw new Error(`bad length ${prog.length}`);
  prog.forEach((ins, pc) => {
    const cls = ins.code & 0x07;
    switch (ins.code) {
      case 0x20: // ld w abs
        if (ins.k % 4 !== 0 || ins.k >= 64) throw new Error(`pc ${pc}: bad load offset ${ins.k}`);
        break;
      case 0x05: // ja
        if (ins.k >= prog.length - pc - 1) throw new Error(`pc ${pc}: ja out of range`);
        break;
      case 0x15:
      case 0x25:
      case 0x35:
      case 0x45:
        if (pc + 1 + ins.jt >= prog.length || pc + 1 + ins.jf >= prog.length)
          throw new Error(`pc ${pc}: jump out of range`);
        break;
      case 0x06: // ret k
      case 0x54: // and k
        break;
      default:
        throw new Error(`pc ${pc}: opcode 0x${ins.code.toString(16)} (class ${cls}) not expected`);
    }
  });
  const last = prog[prog.length - 1];
  if (last.code !== 0x06) throw new Error('last instruction is not ret');
}

function run(prog: SockFilter[], d: Data, stats?: { steps: number }): number {
  const dv = seccompData(d);
  let A = 0;
  let pc = 0;
  for (let steps = 0; steps < 10000; steps++) {
    if (stats) stats.steps = steps + 1;
    if (pc >= prog.length) throw new Error(`pc ${pc} ran off the end`);
    const { code, jt, jf, k } = prog[pc];
    switch (code) {
      case 0x20:
        A = dv.getUint32(k, true);
        pc++;
        break;
      case 0x54:
        A = (A & k) >>> 0;
        pc++;
        break;
      case 0x05:
        pc += 1 + k;
        break;
      case 0x15:
        pc += 1 + (A === k ? jt : jf);
        break;
      case 0x25:
        pc += 1 + (A > k ? jt : jf);
        break;
      case 0x35:
        pc += 1 + (A >= k ? jt : jf);
        break;
      case 0x45:
        pc += 1 + ((A & k) !== 0 ? jt : jf);
        break;
      case 0x06:
        return k >>> 0;
      default:
        throw new Error(`bad opcode ${code}`);
    }
  }
  throw new Error('too many steps');
}

// ---------------------------------------------------------------------------------------------

const ALLOW = SECCOMP_RET.ALLOW;
const EPERM = (SECCOMP_RET.ERRNO | 1) >>> 0;
const ENOSYS = (SECCOMP_RET.ERRNO | 38) >>> 0;
const KILL_PROCESS = SECCOMP_RET.KILL_PROCESS;
const KERNEL = '6.8.0-generic';

const nr = (name: string): number => {
  const n = syscallNumber(name);
  if (n === undefined) throw new Error(`no syscall ${name}`);
  return n;
};

function compiled(profile: SeccompProfile, caps: bigint, kernel = KERNEL): SockFilter[] {
  const prog = decodeProgram(compileSeccomp(profile, { caps, kernel }));
  checkProgram(prog);
  return prog;
}

function runner(profile: SeccompProfile, caps: bigint, kernel = KERNEL) {
  const prog = compiled(profile, caps, kernel);
  return (name: string | number, ...args: (bigint | number)[]): number =>
    run(prog, { nr: typeof name === 'number' ? name : nr(name), args: args.map((a) => BigInt(a)) });
}

describe('x86_64 syscall table', () => {
  it('has the right numbers', () => {
    const spot: Record<string, number> = {
      read: 0,
      write: 1,
      open: 2,
      mmap: 9,
      ioctl: 16,
      socket: 41,
      clone: 56,
      fork: 57,
      execve: 59,
      kill: 62,
      ptrace: 101,
      personality: 135,
      pivot_root: 155,
      mount: 165,
      umount2: 166,
      reboot: 169,
      iopl: 172,
      init_module: 175,
      gettid: 186,
      futex: 202,
      lookup_dcookie: 212,
      epoll_wait: 232,
      kexec_load: 246,
      keyctl: 250,
      openat: 257,
      unshare: 272,
      setns: 308,
      finit_module: 313,
      seccomp: 317,
      bpf: 321,
      userfaultfd: 323,
      statx: 332,
      rseq: 334,
      uretprobe: 335,
      pidfd_send_signal: 424,
      io_uring_setup: 425,
      open_tree: 428,
      fsopen: 430,
      clone3: 435,
      close_range: 436,
      openat2: 437,
      faccessat2: 439,
      mount_setattr: 442,
      landlock_restrict_self: 446,
      futex_waitv: 449,
      set_mempolicy_home_node: 450,
      cachestat: 451,
      fchmodat2: 452,
      map_shadow_stack: 453,
      futex_wake: 454,
      statmount: 457,
      listmount: 458,
      mseal: 462,
      setxattrat: 463,
      removexattrat: 466,
      open_tree_attr: 467,
      file_setattr: 469,
      listns: 470,
    };
    for (const [name, n] of Object.entries(spot)) {
      expect(syscallNumber(name), name).toBe(n);
      expect(syscallName(n), String(n)).toBe(name);
    }
    expect(syscallNumber('socketcall')).toBeUndefined(); // i386 only
    expect(syscallNumber('_llseek')).toBeUndefined();
    expect(syscallName(400)).toBeUndefined();
  });

  it('is one-to-one and has no gaps below 337 or above 423', () => {
    const t = ARCHES.x86_64.syscalls;
    const nums = [...t.values()].sort((a, b) => a - b);
    expect(new Set(nums).size).toBe(nums.length);
    for (let i = 0; i <= 336; i++) expect(syscallName(i), `nr ${i}`).toBeDefined();
    for (let i = 424; i <= 470; i++) expect(syscallName(i), `nr ${i}`).toBeDefined();
    expect(ARCHES.x86_64.maxSyscall).toBe(470);
  });
});

// ---------------------------------------------------------------------------------------------

describe('default profile', () => {
  const base = DOCKER_DEFAULT_CAP_MASK;
  const admin = base | capBit(CAP.CAP_SYS_ADMIN);
  const all = allCapsMask(40);
  const dflt = runner(DEFAULT_PROFILE, base);
  const withAdmin = runner(DEFAULT_PROFILE, admin);
  const privileged = runner(DEFAULT_PROFILE, all);
  const none = runner(DEFAULT_PROFILE, 0n);

  it('names only real x86_64 syscalls and decides about every one', () => {
    const listed = new Set<string>();
    for (const r of DEFAULT_PROFILE.rules) for (const n of r.names) listed.add(n);
    for (const n of DEFAULT_DENIED) listed.add(n);
    for (const n of listed) expect(syscallNumber(n), n).toBeDefined();
    for (const n of ARCHES.x86_64.syscalls.keys())
      expect(listed.has(n), `${n} is not in the default profile`).toBe(true);
    for (const n of DEFAULT_DENIED) {
      expect(
        DEFAULT_PROFILE.rules.some((r) => r.names.includes(n)),
        n,
      ).toBe(false);
    }
    expect(new Set(DEFAULT_ALLOWED).size).toBe(DEFAULT_ALLOWED.length);
  });

  it('allows the ordinary calls for every capability set', () => {
    for (const run of [dflt, none, withAdmin, privileged]) {
      for (const n of DEFAULT_ALLOWED) expect(run(n), n).toBe(ALLOW);
    }
    expect(dflt('read')).toBe(ALLOW);
    expect(dflt('exit_group')).toBe(ALLOW);
    expect(dflt('rt_sigreturn')).toBe(ALLOW);
    expect(dflt('chroot')).toBe(ALLOW); // CAP_SYS_CHROOT is a default capability
    expect(none('chroot')).toBe(EPERM);
  });

  it('denies the dangerous calls even with every capability', () => {
    for (const run of [dflt, privileged]) {
      for (const n of DEFAULT_DENIED) expect(run(n), n).toBe(EPERM);
    }
    for (const n of [
      'keyctl',
      'add_key',
      'request_key',
      'kexec_load',
      'kexec_file_load',
      'userfaultfd',
      'io_uring_setup',
    ]) {
      expect(privileged(n), n).toBe(EPERM);
    }
  });

  it('gates calls behind capabilities', () => {
    for (const [cap, names] of DEFAULT_CAP_GATED) {
      const bit = capBit(CAP[cap]);
      const w = runner(DEFAULT_PROFILE, bit, '4.4.0');
      const wo = runner(DEFAULT_PROFILE, all & ~bit, '4.4.0');
      for (const n of names) {
        expect(w(n, 0), `${n} with ${cap}`).toBe(n === 'clone3' && cap !== 'CAP_SYS_ADMIN' ? ENOSYS : ALLOW);
        // without the cap it may still be allowed through another cap that grants it
        const alsoBy = DEFAULT_CAP_GATED.filter(([c, ns]) => c !== cap && ns.includes(n)).length > 0;
        const expected = n === 'clone3' ? ENOSYS : n === 'clone' ? ALLOW : alsoBy ? ALLOW : EPERM;
        expect(wo(n, 0), `${n} without ${cap}`).toBe(expected);
      }
    }
  });

  it('mount family needs CAP_SYS_ADMIN', () => {
    for (const n of [
      'mount',
      'umount2',
      'pivot_root',
      'unshare',
      'setns',
      'fsopen',
      'fsmount',
      'fsconfig',
      'fspick',
      'move_mount',
      'open_tree',
      'mount_setattr',
      'quotactl',
      'lookup_dcookie',
      'bpf',
      'perf_event_open',
    ]) {
      expect(dflt(n), n).toBe(EPERM);
      expect(withAdmin(n), n).toBe(ALLOW);
    }
    for (const n of [
      'init_module',
      'finit_module',
      'delete_module',
      'reboot',
      'settimeofday',
      'clock_settime',
      'acct',
      'iopl',
      'ioperm',
      'syslog',
      'mbind',
      'set_mempolicy',
      'open_by_handle_at',
      'kcmp',
      'pidfd_getfd',
    ]) {
      expect(dflt(n), n).toBe(EPERM);
      expect(privileged(n), n).toBe(ALLOW);
    }
    expect(runner(DEFAULT_PROFILE, capBit(CAP.CAP_BPF))('bpf')).toBe(ALLOW);
    expect(runner(DEFAULT_PROFILE, capBit(CAP.CAP_PERFMON))('perf_event_open')).toBe(ALLOW);
    expect(runner(DEFAULT_PROFILE, capBit(CAP.CAP_SYSLOG))('syslog')).toBe(ALLOW);
  });

  it('ptrace is allowed on kernels >= 4.8 (as Docker does) and needs CAP_SYS_PTRACE before', () => {
    expect(dflt('ptrace')).toBe(ALLOW);
    expect(dflt('process_vm_readv')).toBe(ALLOW);
    const old = runner(DEFAULT_PROFILE, base, '4.4.0-210-generic');
    expect(old('ptrace')).toBe(EPERM);
    expect(runner(DEFAULT_PROFILE, base | capBit(CAP.CAP_SYS_PTRACE), '4.4.0')('ptrace')).toBe(ALLOW);
    expect(runner(DEFAULT_PROFILE, base, '4.8')('ptrace')).toBe(ALLOW);
    expect(runner(DEFAULT_PROFILE, base, '10.0')('ptrace')).toBe(ALLOW);
  });

  it('clone: threads and forks yes, namespaces only with CAP_SYS_ADMIN', () => {
    const THREAD = 0x3d0f00; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    const FORK = 0x1200011; // CLONE_CHILD_SETTID|CHILD_CLEARTID|SIGCHLD
    const ns = {
      NEWNS: 0x20000,
      NEWCGROUP: 0x2000000,
      NEWUTS: 0x4000000,
      NEWIPC: 0x8000000,
      NEWUSER: 0x10000000,
      NEWPID: 0x20000000,
      NEWNET: 0x40000000,
    };
    expect(dflt('clone', THREAD)).toBe(ALLOW);
    expect(dflt('clone', FORK)).toBe(ALLOW);
    expect(dflt('clone', 0)).toBe(ALLOW);
    expect(dflt('clone', (1n << 40n) | BigInt(THREAD))).toBe(ALLOW);
    for (const [name, flag] of Object.entries(ns)) {
      expect(dflt('clone', flag), name).toBe(EPERM);
      expect(dflt('clone', flag | FORK), name).toBe(EPERM);
      expect(withAdmin('clone', flag | FORK), name).toBe(ALLOW);
    }
    expect(dflt('clone', 0x80000000)).toBe(ALLOW); // CLONE_IO
    expect(dflt('clone3')).toBe(ENOSYS);
    expect(withAdmin('clone3')).toBe(ALLOW);
  });

  it('personality: only the allowed values', () => {
    for (const p of ALLOWED_PERSONALITIES) expect(dflt('personality', p), String(p)).toBe(ALLOW);
    expect(dflt('personality', 0x8)).toBe(ALLOW);
    expect(dflt('personality', 0x1234)).toBe(EPERM);
    expect(dflt('personality', 0x0400000)).toBe(EPERM); // READ_IMPLIES_EXEC
    expect(dflt('personality', 0x20009)).toBe(EPERM);
    expect(dflt('personality', 0x100000008n)).toBe(ALLOW); // the kernel takes an unsigned int
    expect(privileged('personality', 0x1234)).toBe(EPERM);
  });

  it('socket: everything but AF_VSOCK', () => {
    expect(dflt('socket', 2, 1, 0)).toBe(ALLOW); // AF_INET
    expect(dflt('socket', 10, 2, 0)).toBe(ALLOW); // AF_INET6
    expect(dflt('socket', 1, 1, 0)).toBe(ALLOW); // AF_UNIX
    expect(dflt('socket', 16, 3, 0)).toBe(ALLOW); // AF_NETLINK
    expect(dflt('socket', 40, 1, 0)).toBe(EPERM); // AF_VSOCK
    expect(dflt('socket', 0xffffffff00000028n, 1, 0)).toBe(EPERM); // high garbage can't dodge it
    expect(privileged('socket', 40)).toBe(EPERM);
  });

  it('refuses other architectures and the x32 ABI', () => {
    const prog = compiled(DEFAULT_PROFILE, base);
    expect(run(prog, { nr: 0, arch: AUDIT_ARCH_I386 })).toBe(KILL_PROCESS);
    expect(run(prog, { nr: 0, arch: AUDIT_ARCH_AARCH64 })).toBe(KILL_PROCESS);
    expect(run(prog, { nr: 0x40000000 })).toBe(KILL_PROCESS);
    expect(run(prog, { nr: 0x40000000 + 1 })).toBe(KILL_PROCESS);
    expect(run(prog, { nr: 0x40000000 + 512 })).toBe(KILL_PROCESS);
    expect(run(prog, { nr: 0x7fffffff })).toBe(KILL_PROCESS);
    expect(run(prog, { nr: 0x3fffffff })).toBe(ENOSYS);
  });

  it('unknown numbers: ENOSYS above the table, EPERM in its holes; -1 passes to ENOSYS', () => {
    expect(dflt(471)).toBe(ENOSYS);
    expect(dflt(1000)).toBe(ENOSYS);
    expect(dflt(-1)).toBe(ENOSYS);
    expect(dflt(400)).toBe(EPERM);
    expect(dflt(337)).toBe(EPERM);
  });

  it('compiles to a small program, cached per mask', () => {
    const masks = [0n, base, admin, all, resolveCapabilities({ capAdd: ['SYS_PTRACE', 'NET_ADMIN'] })];
    for (const m of masks) {
      const buf = compileDefaultProfile(m);
      expect(buf.length % 8).toBe(0);
      expect(buf.length / 8).toBeLessThan(300);
      checkProgram(decodeProgram(buf));
      expect(compileDefaultProfile(m).equals(buf)).toBe(true);
      expect(compileDefaultProfile(m)).not.toBe(buf); // a copy each time
    }
    const t0 = performance.now();
    const N = 50;
    for (let i = 0; i < N; i++) compileSeccomp(DEFAULT_PROFILE, { caps: base ^ BigInt(i) });
    const ms = (performance.now() - t0) / N;
    console.log(
      `default profile: ${compileDefaultProfile(base).length / 8} instructions ` +
        `(${compileDefaultProfile(all).length / 8} with all caps), compile ${ms.toFixed(3)} ms`,
    );
  });

  it('starts by checking the architecture and dispatches in few steps', () => {
    const prog = compiled(DEFAULT_PROFILE, base);
    expect(prog[0]).toEqual({ code: 0x20, jt: 0, jf: 0, k: 4 });
    expect(prog[1].code).toBe(0x15);
    expect(prog[1].k).toBe(AUDIT_ARCH_X86_64);
    // instructions executed per call: arch check + x32 check + tree depth (+ argument checks)
    let maxSteps = 0;
    for (const n of ARCHES.x86_64.syscalls.values()) {
      const stats = { steps: 0 };
      run(prog, { nr: n, args: [0xffffffffffffffffn] }, stats);
      maxSteps = Math.max(maxSteps, stats.steps);
    }
    expect(maxSteps).toBeLessThan(30);
  });
});

// ---------------------------------------------------------------------------------------------
// Differential tests: compiled program vs. a direct evaluation of the profile semantics.

function refCond(c: ArgCondition, args: readonly bigint[]): boolean {
  let a = BigInt.asUintN(64, args[c.index] ?? 0n);
  let v = c.value;
  let v2 = c.valueTwo ?? 0n;
  if (c.bits === 32) {
    a &= 0xffffffffn;
    v &= 0xffffffffn;
    v2 &= 0xffffffffn;
  }
  switch (c.op) {
    case 'eq':
      return a === v;
    case 'ne':
      return a !== v;
    case 'lt':
      return a < v;
    case 'le':
      return a <= v;
    case 'gt':
      return a > v;
    case 'ge':
      return a >= v;
    case 'masked_eq':
      return (a & v) === v2;
  }
}

function refEval(p: SeccompProfile, caps: bigint, d: Data): number {
  if ((d.arch ?? AUDIT_ARCH_X86_64) !== AUDIT_ARCH_X86_64)
    return actionToRet(p.badArchAction ?? { type: 'kill_process' });
  const n = d.nr >>> 0;
  if (n >= 0x40000000 && n !== 0xffffffff) return actionToRet(p.badArchAction ?? { type: 'kill_process' });
  const name = syscallName(n);
  if (name === undefined) {
    const t = p.defaultAction.type;
    if (n > ARCHES.x86_64.maxSyscall && (p.enosysForUnknown ?? true) && t !== 'allow' && t !== 'log') return ENOSYS;
    return actionToRet(p.defaultAction);
  }
  const applies = (r: SeccompRule) =>
    !(r.includes?.caps ?? []).some((c) => (caps & capBit(CAP[c] ?? 99)) === 0n) &&
    !(r.excludes?.caps ?? []).some((c) => (caps & capBit(CAP[c] ?? 99)) !== 0n);
  const rules = p.rules.filter((r) => applies(r) && r.names.includes(name));
  for (const r of rules) {
    if (r.args?.length && r.args.every((c) => refCond(c, d.args ?? []))) return actionToRet(r.action);
  }
  const u = rules.find((r) => !r.args?.length);
  return actionToRet(u ? u.action : p.defaultAction);
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}

const OPS: ArgOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked_eq'];
const INTERESTING = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x1ffffffffn,
  0xffffffff00000000n,
  0xffffffffffffffffn,
  0x7e020000n,
  0x123456789n,
];

describe('compiler semantics (differential)', () => {
  const names = [...ARCHES.x86_64.syscalls.keys()];
  const ACTIONS: SeccompAction[] = [
    { type: 'allow' },
    { type: 'errno', errno: 1 },
    { type: 'errno', errno: 13 },
    { type: 'kill_process' },
    { type: 'kill_thread' },
    { type: 'trap' },
    { type: 'trace', data: 7 },
    { type: 'log' },
  ];

  function randomValue(r: ReturnType<typeof rng>): bigint {
    const k = r.int(4);
    if (k === 0) return r.pick(INTERESTING);
    if (k === 1) return BigInt(r.int(8));
    return (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32));
  }

  function randomProfile(seed: number, nRules: number): SeccompProfile {
    const r = rng(seed);
    const rules: SeccompRule[] = [];
    for (let i = 0; i < nRules; i++) {
      const rn = Array.from({ length: 1 + r.int(4) }, () => r.pick(names));
      const nargs = r.int(3) === 0 ? 0 : 1 + r.int(3);
      const args: ArgCondition[] = Array.from({ length: nargs }, () => {
        const op = r.pick(OPS);
        return {
          index: r.int(6),
          op,
          value: randomValue(r),
          ...(op === 'masked_eq' ? { valueTwo: r.int(2) ? 0n : randomValue(r) } : {}),
          ...(r.int(4) === 0 ? { bits: 32 as const } : {}),
        };
      });
      const capsFilter = r.int(4) === 0 ? { caps: [r.pick(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'])] } : undefined;
      rules.push({
        names: rn,
        action: r.pick(ACTIONS),
        ...(nargs ? { args } : {}),
        ...(capsFilter ? (r.int(2) ? { includes: capsFilter } : { excludes: capsFilter }) : {}),
      });
    }
    return { defaultAction: r.pick(ACTIONS), rules };
  }

  function check(p: SeccompProfile, caps: bigint, seed: number, cases: number) {
    const prog = compiled(p, caps);
    const r = rng(seed);
    const used = [...new Set(p.rules.flatMap((x) => x.names))].map(nr);
    for (let i = 0; i < cases; i++) {
      const n = r.int(5) === 0 ? r.int(480) : r.pick(used);
      // arguments near the rule values, so conditions flip both ways
      const args = Array.from({ length: 6 }, () => {
        const k = r.int(5);
        if (k === 0) return randomValue(r);
        const base = r.pick(
          p.rules
            .flatMap((x) => x.args ?? [])
            .map((c) => c.value)
            .concat(INTERESTING),
        );
        const delta = [0n, 1n, -1n, 1n << 32n, -(1n << 32n)][r.int(5)];
        return BigInt.asUintN(64, base + delta);
      });
      const d: Data = { nr: n, args };
      expect(run(prog, d), `case ${i}: nr ${n} args ${args.map((a) => a.toString(16))}`).toBe(refEval(p, caps, d));
    }
  }

  it('each comparison on 64-bit and 32-bit arguments', () => {
    for (const op of OPS) {
      for (const value of INTERESTING) {
        for (const bits of [32, 64] as const) {
          const p: SeccompProfile = {
            defaultAction: { type: 'errno', errno: 1 },
            rules: [
              {
                names: ['ioctl'],
                action: { type: 'allow' },
                args: [
                  { index: 1, op, value, valueTwo: op === 'masked_eq' ? value & 0xff00ff00ff00ff00n : undefined, bits },
                ],
              },
            ],
          };
          const prog = compiled(p, 0n);
          for (const a of INTERESTING.concat(
            INTERESTING.map((x) => x + 1n),
            INTERESTING.map((x) => BigInt.asUintN(64, x - 1n)),
            [value, value + 1n, BigInt.asUintN(64, value - 1n)],
          )) {
            const arg = BigInt.asUintN(64, a);
            const d: Data = { nr: 16, args: [0n, arg] };
            expect(run(prog, d), `${op}/${bits} ${value.toString(16)} vs ${arg.toString(16)}`).toBe(refEval(p, 0n, d));
          }
        }
      }
    }
  });

  it('random profiles', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const p = randomProfile(seed, 1 + (seed % 12));
      check(p, seed % 2 ? capBit(CAP.CAP_SYS_ADMIN) : 0n, seed * 7919, 300);
    }
  });

  it('long programs: far jumps go through trampolines and stay in bounds', () => {
    // Hundreds of conditional rules: the tree's upper jumps span far more than 255 instructions.
    const rules: SeccompRule[] = names.map((n, i) => ({
      names: [n],
      action: i % 3 ? { type: 'allow' } : { type: 'errno', errno: i % 100 },
      args: [
        {
          index: i % 6,
          op: OPS[i % OPS.length],
          value: (BigInt(i) << 32n) | BigInt(i * 7),
          valueTwo: BigInt(i) << 32n,
        },
      ],
    }));
    const p: SeccompProfile = { defaultAction: { type: 'kill_process' }, rules };
    const prog = compiled(p, 0n);
    expect(prog.length).toBeGreaterThan(1000);
    expect(prog.some((ins) => ins.code === 0x05)).toBe(true);
    check(p, 0n, 42, 4000);
    // and every syscall's exact-match cases
    for (let i = 0; i < names.length; i++) {
      const args = [0n, 0n, 0n, 0n, 0n, 0n];
      args[i % 6] = (BigInt(i) << 32n) | BigInt(i * 7);
      const d: Data = { nr: nr(names[i]), args };
      expect(run(prog, d), names[i]).toBe(refEval(p, 0n, d));
    }
  });

  it('refuses programs beyond the kernel limit', () => {
    const rules: SeccompRule[] = [];
    names.forEach((n, i) => {
      const args = [0, 1, 2, 3].map(
        (j): ArgCondition => ({ index: j, op: 'eq', value: (BigInt(i) << 33n) | BigInt(j) }),
      );
      rules.push({ names: [n], action: { type: 'errno', errno: i }, args });
    });
    expect(() => compileSeccomp({ defaultAction: { type: 'allow' }, rules }, { caps: 0n })).toThrow(
      /more than the kernel's limit of 4096/,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('Docker profile JSON', () => {
  const profile = JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
    syscalls: [
      {
        names: ['read', 'write', 'exit_group', 'chown32', 'socketcall', 'no_such_call'],
        action: 'SCMP_ACT_ALLOW',
        args: [],
        comment: '',
        includes: {},
        excludes: {},
      },
      { names: ['close'], action: 'SCMP_ACT_ALLOW', args: null, includes: { caps: [] }, excludes: { arches: [] } },
      {
        names: ['personality'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
      },
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
        excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
      },
      { names: ['clone', 'mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['sync_file_range2'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['ppc64le'] } },
      { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
      { name: 'getpid', action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['gettid'], action: 'SCMP_ACT_TRACE', errnoRet: 5 },
      { names: ['getppid'], action: 'SCMP_ACT_LOG' },
      { names: ['getuid'], action: 'SCMP_ACT_KILL' },
      { names: ['getgid'], action: 'SCMP_ACT_TRAP' },
      { names: ['setuid'], action: 'SCMP_ACT_ERRNO' },
    ],
  });

  it('compiles with Docker semantics', () => {
    const p = parseDockerProfile(profile, 'test.json');
    const r = runner(p, DOCKER_DEFAULT_CAP_MASK);
    expect(r('read')).toBe(ALLOW);
    expect(r('close')).toBe(ALLOW);
    expect(r('open')).toBe(EPERM);
    expect(r('personality', 8)).toBe(ALLOW);
    expect(r('personality', 9)).toBe(EPERM);
    expect(r('clone', 0x3d0f00)).toBe(ALLOW);
    expect(r('clone', 0x10000000)).toBe(EPERM);
    expect(r('mount')).toBe(EPERM);
    expect(r('clone3')).toBe(ENOSYS);
    expect(r('ptrace')).toBe(ALLOW);
    expect(r('arch_prctl')).toBe(ALLOW);
    expect(r('modify_ldt')).toBe(EPERM);
    expect(r('getpid')).toBe(KILL_PROCESS);
    expect(r('gettid')).toBe((SECCOMP_RET.TRACE | 5) >>> 0);
    expect(r('getppid')).toBe(SECCOMP_RET.LOG);
    expect(r('getuid')).toBe(SECCOMP_RET.KILL_THREAD);
    expect(r('getgid')).toBe(SECCOMP_RET.TRAP);
    expect(r('setuid')).toBe(EPERM);
    const a = runner(p, DOCKER_DEFAULT_CAP_MASK | capBit(CAP.CAP_SYS_ADMIN));
    expect(a('clone', 0x10000000)).toBe(ALLOW);
    expect(a('mount')).toBe(ALLOW);
    expect(a('clone3')).toBe(EPERM);
    expect(runner(p, 0n, '4.4')('ptrace')).toBe(EPERM);
  });

  it('compileDockerProfile gives the same bytes as parse + compile, cached', () => {
    const caps = DOCKER_DEFAULT_CAP_MASK;
    const b = compileDockerProfile(profile, 'x.json', caps);
    expect(b.equals(compileSeccomp(parseDockerProfile(profile, 'x.json'), { caps }))).toBe(true);
    expect(compileDockerProfile(profile, 'x.json', caps).equals(b)).toBe(true);
  });

  it('keeps 64-bit values exact and ORs conditions on the same argument (runc)', () => {
    const text = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["ioctl"],"action":"SCMP_ACT_ERRNO","errnoRet":22,"args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]},
      {"names":["fcntl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]},
      {"names":["write"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":2,"value":2,"op":"SCMP_CMP_EQ"}]}
    ]}`;
    const r = runner(parseDockerProfile(text, 'p.json'), 0n);
    expect(r('ioctl', 0, 0xffffffffffffffffn)).toBe((SECCOMP_RET.ERRNO | 22) >>> 0);
    expect(r('ioctl', 0, 0xfffffffffffffffen)).toBe(ALLOW);
    expect(r('fcntl', 0, 1)).toBe(EPERM);
    expect(r('fcntl', 0, 2)).toBe(EPERM);
    expect(r('fcntl', 0, 3)).toBe(ALLOW);
    expect(r('write', 1, 0, 2)).toBe(EPERM);
    expect(r('write', 1, 0, 3)).toBe(ALLOW);
    expect(r('write', 2, 0, 2)).toBe(ALLOW);
    // an allow-all default: no ENOSYS for unknown numbers
    expect(r(1000)).toBe(ALLOW);
  });

  it('explains malformed profiles in one line', () => {
    const bad = (syscalls: unknown, extra: object = {}) =>
      JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', ...extra, syscalls });
    const cases: [string, string][] = [
      [
        bad([
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['write'], action: 'SCMP_ACT_ALLOW' },
          { names: ['x'], action: 'SCMP_ACT_ALLOW' },
          { names: ['y'], action: 'FOO' },
        ]),
        'seccomp profile P: syscalls[3].action: unknown action "FOO"',
      ],
      ['{', 'seccomp profile P: invalid JSON: '],
      ['[]', 'seccomp profile P: expected an object, got an array'],
      ['{"syscalls":[]}', 'seccomp profile P: defaultAction: missing'],
      ['{"defaultAction":"ALLOW"}', 'seccomp profile P: defaultAction: unknown action "ALLOW"'],
      [bad([{ names: ['read'] }]), 'seccomp profile P: syscalls[0].action: missing'],
      [bad([{ action: 'SCMP_ACT_ALLOW' }]), 'seccomp profile P: syscalls[0].names: missing'],
      [
        bad([{ names: 'read', action: 'SCMP_ACT_ALLOW' }]),
        'seccomp profile P: syscalls[0].names: expected an array, got "read"',
      ],
      [
        bad([{ names: [1], action: 'SCMP_ACT_ALLOW' }]),
        'seccomp profile P: syscalls[0].names[0]: expected a string, got number 1',
      ],
      [
        bad([{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }]),
        'seccomp profile P: syscalls[0].action: action "SCMP_ACT_NOTIFY" is not supported by box',
      ],
      [
        bad([{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: -1 }]),
        'seccomp profile P: syscalls[0].errnoRet: expected an errno number 0..4095, got number -1',
      ],
      [
        bad([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }]),
        'seccomp profile P: syscalls[0].args[0].index: expected an argument index 0..5, got number 6',
      ],
      [
        bad([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_FOO' }] }]),
        'seccomp profile P: syscalls[0].args[0].op: unknown comparison "SCMP_CMP_FOO"',
      ],
      [
        bad([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -5, op: 'SCMP_CMP_EQ' }] }]),
        'seccomp profile P: syscalls[0].args[0].value: expected an unsigned 64-bit integer, got number -5',
      ],
      [
        bad([
          {
            names: ['read'],
            action: 'SCMP_ACT_ALLOW',
            // biome-ignore lint/correctness/noPrecisionLoss: a value past 2^64 on purpose (JSON shows it rounded)
            args: [{ index: 0, value: 18446744073709551616, op: 'SCMP_CMP_EQ' }],
          },
        ]).replace('18446744073709552000', '18446744073709551616'),
        'seccomp profile P: syscalls[0].args[0].value: expected an unsigned 64-bit integer, got "18446744073709551616"',
      ],
      [
        bad([{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: 'five' } }]),
        'seccomp profile P: syscalls[0].includes.minKernel: expected a kernel version like "5.8", got "five"',
      ],
      [
        bad([{ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }]),
        'seccomp profile P: syscalls[0]: use either "name" or "names", not both',
      ],
      [
        bad([], { architectures: ['SCMP_ARCH_Z80'] }),
        'seccomp profile P: architectures[0]: unknown architecture "SCMP_ARCH_Z80"',
      ],
      [
        bad([], { defaultErrnoRet: 'x' }),
        'seccomp profile P: defaultErrnoRet: expected an errno number 0..4095, got "x"',
      ],
    ];
    for (const [text, msg] of cases) {
      let err: Error | undefined;
      try {
        parseDockerProfile(text, 'P');
      } catch (e) {
        err = e as Error;
      }
      expect(err, text).toBeDefined();
      expect(err!.message.startsWith(msg), `${err!.message}\n  expected to start with\n${msg}`).toBe(true);
      expect(err!.message.includes('\n')).toBe(false);
    }
  });

  it('defaultErrnoRet and an empty profile', () => {
    const r = runner(parseDockerProfile('{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":13}', 'p'), 0n);
    expect(r('read')).toBe((SECCOMP_RET.ERRNO | 13) >>> 0);
    expect(r(999)).toBe(ENOSYS);
    const k = runner(parseDockerProfile('{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":null}', 'p'), 0n);
    expect(k('read')).toBe(KILL_PROCESS);
  });
});
