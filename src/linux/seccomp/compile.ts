// Compiles a SeccompProfile to a classic BPF program for one architecture and capability mask.
//
// Program shape:
//   ld arch; jeq AUDIT_ARCH ? next : BAD
//   ld nr;   jge FOREIGN_ABI_BIT ? (jeq -1 ? TREE : BAD) : TREE      (x32 on x86_64)
//   BAD: ret badArchAction
//   TREE: a balanced binary search (jge) over ranges of syscall numbers that share an outcome;
//         a leaf is a `ret` or, for rules with argument conditions, a short chain of checks.

import os from 'node:os';
import { hasCap } from '../capabilities';
import { BackwardAssembler, BPF, BPF_MAXINSNS, Label, SECCOMP_DATA, SECCOMP_RET } from './bpf';
import { archInfo, ArchInfo, SeccompArch } from './syscalls';
import { ArgCondition, ENOSYS, KILL_PROCESS, RuleFilter, SeccompAction, SeccompProfile, SeccompRule } from './types';

export interface CompileOptions {
  /** the effective capability mask the container gets (decides includes/excludes caps) */
  caps: bigint;
  /** default x86_64 */
  arch?: SeccompArch;
  /** kernel release for minKernel ("6.8.0-generic"); default os.release() */
  kernel?: string;
}

/** The 32-bit value a `ret` returns for an action. */
export function actionToRet(a: SeccompAction): number {
  switch (a.type) {
    case 'allow':
      return SECCOMP_RET.ALLOW;
    case 'errno':
      return (SECCOMP_RET.ERRNO | (a.errno & SECCOMP_RET.DATA)) >>> 0;
    case 'kill_process':
      return SECCOMP_RET.KILL_PROCESS;
    case 'kill_thread':
      return SECCOMP_RET.KILL_THREAD;
    case 'trap':
      return SECCOMP_RET.TRAP;
    case 'trace':
      return (SECCOMP_RET.TRACE | (a.data & SECCOMP_RET.DATA)) >>> 0;
    case 'log':
      return SECCOMP_RET.LOG;
  }
}

// ---- kernel versions ----

function parseKernel(s: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(s.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function kernelAtLeast(kernel: [number, number], min: string): boolean {
  const v = parseKernel(min);
  if (!v) throw new Error(`invalid minKernel "${min}"`);
  return kernel[0] > v[0] || (kernel[0] === v[0] && kernel[1] >= v[1]);
}

let hostKernel: string | undefined;

// ---- rule resolution ----

function ruleApplies(rule: SeccompRule, caps: bigint, arch: ArchInfo, kernel: [number, number]): boolean {
  const archMatch = (f: RuleFilter): boolean =>
    f.arches!.some((a) => arch.goArchNames.includes(a) || a === arch.scmpName);
  const ex = rule.excludes;
  if (ex) {
    if (ex.arches?.length && archMatch(ex)) return false;
    if (ex.caps?.some((c) => hasCap(caps, c))) return false;
    if (ex.minKernel !== undefined && kernelAtLeast(kernel, ex.minKernel)) return false;
  }
  const inc = rule.includes;
  if (inc) {
    if (inc.arches?.length && !archMatch(inc)) return false;
    if (inc.caps?.length && !inc.caps.every((c) => hasCap(caps, c))) return false;
    if (inc.minKernel !== undefined && !kernelAtLeast(kernel, inc.minKernel)) return false;
  }
  return true;
}

interface CondRule {
  args: readonly ArgCondition[];
  ret: number;
}

/** What happens for one syscall number: conditional rules in order, then `fallback`. */
interface Outcome {
  conds: CondRule[];
  fallback: number;
  key: string;
}

const M32 = 0xffffffffn;
const hi32 = (v: bigint): number => Number((v >> 32n) & M32);
const lo32 = (v: bigint): number => Number(v & M32);

function condKey(c: ArgCondition): string {
  return `${c.index}${c.op}${c.value}/${c.valueTwo ?? ''}/${c.bits ?? 64}`;
}

// ---- code generation ----

/**
 * Emits (backwards) the check of one argument condition: continues to PASS when it holds,
 * jumps to FAIL otherwise. Returns the label of its first instruction.
 */
function emitCond(asm: BackwardAssembler, c: ArgCondition, pass: Label, fail: Label): Label {
  const loOff = SECCOMP_DATA.argLo(c.index);
  const hiOff = SECCOMP_DATA.argHi(c.index);
  const wide = (c.bits ?? 64) === 64;
  const v = c.value;
  const vHi = hi32(v);
  const vLo = lo32(v);

  // The low-half check; then, if wide, the high-half check in front of it whose "equal"
  // outcome continues to the low half.
  switch (c.op) {
    case 'eq':
    case 'ne': {
      const [t, f] = c.op === 'eq' ? [pass, fail] : [fail, pass];
      asm.jmp(BPF.JEQ_K, vLo, t, f);
      let start = asm.ld(loOff);
      if (wide) {
        asm.jmp(BPF.JEQ_K, vHi, start, f);
        start = asm.ld(hiOff);
      }
      return start;
    }
    case 'masked_eq': {
      const want = c.valueTwo ?? 0n;
      const mHi = hi32(v);
      const mLo = lo32(v);
      const wHi = hi32(want);
      const wLo = lo32(want);
      // Halves whose mask is 0 are constant; one that can never match makes the whole condition false.
      if ((mLo & wLo) >>> 0 !== wLo || (wide && (mHi & wHi) >>> 0 !== wHi)) return asm.ja(fail);
      let start = pass;
      if (mLo !== 0) {
        asm.jmp(BPF.JEQ_K, wLo, pass, fail);
        if (mLo !== 0xffffffff) asm.and(mLo);
        start = asm.ld(loOff);
      }
      if (wide && mHi !== 0) {
        asm.jmp(BPF.JEQ_K, wHi, start, fail);
        if (mHi !== 0xffffffff) asm.and(mHi);
        start = asm.ld(hiOff);
      }
      return start;
    }
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le': {
      // gt/ge pass when the low-half test is true; lt/le are their negations (le = !gt, lt = !ge).
      const strict = c.op === 'gt' || c.op === 'le';
      const positive = c.op === 'gt' || c.op === 'ge';
      const [t, f] = positive ? [pass, fail] : [fail, pass];
      asm.jmp(strict ? BPF.JGT_K : BPF.JGE_K, vLo, t, f);
      let start = asm.ld(loOff);
      if (wide) {
        // high half: greater → decided (t); equal → low half; less → f
        const eq = asm.jmp(BPF.JEQ_K, vHi, start, f);
        asm.jmp(BPF.JGT_K, vHi, t, eq);
        start = asm.ld(hiOff);
      }
      return start;
    }
  }
}

function emitOutcome(asm: BackwardAssembler, o: Outcome): Label {
  if (o.conds.length === 0) return asm.retNear(o.fallback);
  let next = asm.retNear(o.fallback);
  for (let r = o.conds.length - 1; r >= 0; r--) {
    const rule = o.conds[r];
    const fail = next;
    let pass = asm.retNear(rule.ret);
    for (let i = rule.args.length - 1; i >= 0; i--) {
      pass = emitCond(asm, rule.args[i], pass, fail);
    }
    next = pass;
  }
  return next;
}

interface Range {
  lo: number; // first syscall number (inclusive)
  outcome: Outcome;
}

function emitTree(asm: BackwardAssembler, ranges: Range[], i: number, j: number): Label {
  if (i === j) return emitOutcome(asm, ranges[i].outcome);
  const mid = (i + j + 1) >> 1;
  const right = emitTree(asm, ranges, mid, j);
  const left = emitTree(asm, ranges, i, mid - 1);
  return asm.jmp(BPF.JGE_K, ranges[mid].lo, right, left);
}

/** Compiles PROFILE for the given capabilities (and arch / kernel) to raw struct sock_filter[] bytes. */
export function compileSeccomp(profile: SeccompProfile, opts: CompileOptions): Buffer {
  const arch = archInfo(opts.arch ?? 'x86_64');
  const kernelStr = opts.kernel ?? (hostKernel ??= os.release());
  const kernel = parseKernel(kernelStr) ?? [0, 0];
  const caps = opts.caps;

  const defaultRet = actionToRet(profile.defaultAction);
  const badArchRet = actionToRet(profile.badArchAction ?? KILL_PROCESS);

  // Per syscall number: conditional rules in order and the first unconditional action.
  const conds = new Map<number, CondRule[]>();
  const uncond = new Map<number, number>();
  for (const rule of profile.rules) {
    if (!ruleApplies(rule, caps, arch, kernel)) continue;
    const ret = actionToRet(rule.action);
    for (const name of rule.names) {
      const nr = arch.syscalls.get(name);
      if (nr === undefined) continue; // not a syscall on this architecture: skipped, as runc does
      if (rule.args && rule.args.length > 0) {
        let list = conds.get(nr);
        if (!list) conds.set(nr, (list = []));
        list.push({ args: rule.args, ret });
      } else if (!uncond.has(nr)) {
        uncond.set(nr, ret);
      }
    }
  }

  const outcomes = new Map<number, Outcome>();
  const simple = new Map<number, Outcome>();
  const simpleOutcome = (ret: number): Outcome => {
    let o = simple.get(ret);
    if (!o) simple.set(ret, (o = { conds: [], fallback: ret, key: String(ret) }));
    return o;
  };
  const defaultOutcome = simpleOutcome(defaultRet);
  for (const nr of new Set([...conds.keys(), ...uncond.keys()])) {
    const fallback = uncond.get(nr) ?? defaultRet;
    const list = (conds.get(nr) ?? []).slice();
    // A trailing conditional rule with the fallback's action decides nothing.
    while (list.length > 0 && list[list.length - 1].ret === fallback) list.pop();
    if (list.length === 0) {
      outcomes.set(nr, simpleOutcome(fallback));
    } else {
      const key = `${fallback}|${list.map((c) => `${c.ret}:${c.args.map(condKey).join('&')}`).join('|')}`;
      outcomes.set(nr, { conds: list, fallback, key });
    }
  }

  // Ranges over [0, 2^32): consecutive numbers with the same outcome share a leaf.
  const ranges: Range[] = [];
  const add = (lo: number, o: Outcome): void => {
    const last = ranges[ranges.length - 1];
    if (last && last.outcome.key === o.key) return;
    ranges.push({ lo, outcome: o });
  };
  const sorted = [...outcomes.keys()].sort((a, b) => a - b);
  let pos = 0;
  for (const nr of sorted) {
    if (nr > pos) add(pos, defaultOutcome);
    add(nr, outcomes.get(nr)!);
    pos = nr + 1;
  }
  const unknownAction = profile.defaultAction.type;
  const enosys = (profile.enosysForUnknown ?? true) && unknownAction !== 'allow' && unknownAction !== 'log';
  if (pos <= arch.maxSyscall) add(pos, defaultOutcome);
  add(
    Math.max(pos, arch.maxSyscall + 1),
    enosys ? simpleOutcome(actionToRet({ type: 'errno', errno: ENOSYS })) : defaultOutcome,
  );

  const asm = new BackwardAssembler();
  const tree = emitTree(asm, ranges, 0, ranges.length - 1);
  const bad = asm.ret(badArchRet);
  if (arch.foreignAbiBit !== undefined) {
    // nr -1 is what a tracer sets to skip a call: let it through (it reaches ENOSYS/default).
    const minusOne = asm.jmp(BPF.JEQ_K, 0xffffffff, tree, bad);
    asm.jmp(BPF.JGE_K, arch.foreignAbiBit, minusOne, tree);
  }
  const loadNr = asm.ld(SECCOMP_DATA.NR);
  asm.jmp(BPF.JEQ_K, arch.auditArch, loadNr, bad);
  asm.ld(SECCOMP_DATA.ARCH);

  if (asm.length > BPF_MAXINSNS) {
    throw new Error(
      `seccomp profile compiles to ${asm.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`,
    );
  }
  return asm.toBuffer();
}
