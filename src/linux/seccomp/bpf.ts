// Classic BPF for seccomp: opcodes, the seccomp_data layout, return values, and an assembler that
// builds the program from its end backwards, so the distance of every jump is known when it is
// written and far conditional targets get a `ja` trampoline (its offset is 32-bit).

/** Opcodes used (BPF_CLASS | BPF_SIZE/OP | BPF_MODE/SRC). */
export const BPF = Object.freeze({
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS: A = *(u32 *)(data + k)
  ALU_AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K: A &= k
  JA: 0x05, // BPF_JMP | BPF_JA: pc += k
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K: pc += (A == k) ? jt : jf
  JGT_K: 0x25, // BPF_JMP | BPF_JGT | BPF_K (unsigned)
  JGE_K: 0x35, // BPF_JMP | BPF_JGE | BPF_K (unsigned)
  JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K: (A & k) != 0
  RET_K: 0x06, // BPF_RET | BPF_K
});

/** Offsets in struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }. */
export const SECCOMP_DATA = Object.freeze({
  NR: 0,
  ARCH: 4,
  IP_LO: 8,
  IP_HI: 12,
  SIZE: 64,
  /** low 32 bits of args[i] (the struct is little-endian on every arch box supports) */
  argLo: (i: number): number => 16 + 8 * i,
  argHi: (i: number): number => 20 + 8 * i,
});

export const SECCOMP_RET = Object.freeze({
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  ACTION_FULL: 0xffff0000,
  DATA: 0x0000ffff,
});

/** Kernel limit on the number of instructions in one filter (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Decodes raw struct sock_filter[] bytes. */
export function decodeProgram(buf: Uint8Array): SockFilter[] {
  if (buf.length % 8 !== 0) throw new Error(`BPF program length ${buf.length} is not a multiple of 8`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: SockFilter[] = [];
  for (let o = 0; o < buf.length; o += 8) {
    out.push({
      code: dv.getUint16(o, true),
      jt: dv.getUint8(o + 2),
      jf: dv.getUint8(o + 3),
      k: dv.getUint32(o + 4, true),
    });
  }
  return out;
}

/**
 * A position in a program being assembled backwards: the number of instructions emitted
 * before the target (counted from the program's end), i.e. its index from the end.
 */
export type Label = number;

/**
 * Assembles a program from its last instruction to its first. Each emit method places an
 * instruction before everything emitted so far and returns its label; `here` is the label of
 * the instruction the next emitted one falls through to.
 */
export class BackwardAssembler {
  private codes: number[] = [];
  private jts: number[] = [];
  private jfs: number[] = [];
  private ks: number[] = [];
  private retCache = new Map<number, Label>();

  /** Label of the first instruction so far (what a newly emitted instruction falls through to). */
  get here(): Label {
    return this.codes.length - 1;
  }

  get length(): number {
    return this.codes.length;
  }

  private push(code: number, jt: number, jf: number, k: number): Label {
    this.codes.push(code);
    this.jts.push(jt);
    this.jfs.push(jf);
    this.ks.push(k >>> 0);
    return this.codes.length - 1;
  }

  /** Distance a jump emitted next would need to reach TARGET. */
  private dist(target: Label): number {
    const d = this.codes.length - target - 1;
    if (target < 0 || d < 0) throw new Error(`internal: bad BPF jump target ${target}`);
    return d;
  }

  ret(k: number): Label {
    const l = this.push(BPF.RET_K, 0, 0, k);
    this.retCache.set(k >>> 0, l);
    return l;
  }

  /**
   * A label of a `ret k` reachable by a conditional jump emitted within the next SLACK
   * instructions: an earlier one when near enough, otherwise a new one (which becomes `here`,
   * so take the fall-through label before calling this).
   */
  retNear(k: number, slack = 8): Label {
    const l = this.retCache.get(k >>> 0);
    if (l !== undefined && this.dist(l) + slack <= 255) return l;
    return this.ret(k);
  }

  ld(offset: number): Label {
    return this.push(BPF.LD_W_ABS, 0, 0, offset);
  }

  and(k: number): Label {
    return this.push(BPF.ALU_AND_K, 0, 0, k);
  }

  /** Unconditional jump; emits nothing when TARGET is the fall-through. */
  ja(target: Label): Label {
    const d = this.dist(target);
    if (d === 0) return target;
    return this.push(BPF.JA, 0, 0, d);
  }

  /** Conditional jump (JEQ_K/JGT_K/JGE_K/JSET_K) with trampolines for targets beyond 255. */
  jmp(code: number, k: number, jt: Label, jf: Label): Label {
    if (jt === jf) return this.ja(jt);
    for (;;) {
      if (this.dist(jt) > 255) {
        jt = this.push(BPF.JA, 0, 0, this.dist(jt));
        continue;
      }
      if (this.dist(jf) > 255) {
        jf = this.push(BPF.JA, 0, 0, this.dist(jf));
        continue;
      }
      break;
    }
    return this.push(code, this.dist(jt), this.dist(jf), k);
  }

  /** The program in execution order, as raw struct sock_filter[] bytes. */
  toBuffer(): Buffer {
    const n = this.codes.length;
    const buf = Buffer.allocUnsafe(n * 8);
    for (let i = 0; i < n; i++) {
      const j = n - 1 - i;
      const o = i * 8;
      buf.writeUInt16LE(this.codes[j], o);
      buf[o + 2] = this.jts[j];
      buf[o + 3] = this.jfs[j];
      buf.writeUInt32LE(this.ks[j], o + 4);
    }
    return buf;
  }
}
