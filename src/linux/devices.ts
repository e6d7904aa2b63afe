// The devices a container may use: Docker's default rules, written once and enforced two ways.
// cgroup v1 takes them as text in devices.deny/devices.allow; cgroup v2 has no devices files, so
// the same rules are compiled here into a BPF_PROG_TYPE_CGROUP_DEVICE program (as runc does),
// which src/linux/bpf.ts loads and attaches to the container's cgroup.

export interface DeviceRule {
  /** a: any type, b: block, c: character */
  type: 'a' | 'b' | 'c';
  /** undefined: any (`*`) */
  major?: number;
  minor?: number;
  /** a subset of "rwm": read, write, mknod */
  access: string;
}

const rule = (
  type: DeviceRule['type'],
  major: number | undefined,
  minor: number | undefined,
  access: string,
): DeviceRule => ({ type, major, minor, access });

/** Docker's defaults: any node may be created, only these can be opened. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  rule('c', undefined, undefined, 'm'),
  rule('b', undefined, undefined, 'm'),
  rule('c', 1, 3, 'rwm'), // null
  rule('c', 1, 5, 'rwm'), // zero
  rule('c', 1, 7, 'rwm'), // full
  rule('c', 1, 8, 'rwm'), // random
  rule('c', 1, 9, 'rwm'), // urandom
  rule('c', 5, 0, 'rwm'), // tty
  rule('c', 5, 1, 'rwm'), // console
  rule('c', 5, 2, 'rwm'), // ptmx
  rule('c', 136, undefined, 'rwm'), // pts
  rule('c', 10, 200, 'rwm'), // tun
];

/** A rule as cgroup v1's devices.allow takes it, e.g. "c 1:3 rwm". */
export function v1RuleText(r: DeviceRule): string {
  const n = (v: number | undefined) => (v === undefined ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }: access_type holds the
// device type in its low 16 bits and the requested access in its high 16 bits.
const DEV_TYPE = { b: 1, c: 2 } as const; // BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR
const ACCESS = { m: 1, r: 2, w: 4 } as const; // BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

// eBPF opcodes used (class | op | source).
const OP = {
  LDX_W: 0x61, // dst = *(u32 *)(src + off)
  AND64_K: 0x57, // dst &= imm
  RSH64_K: 0x77, // dst >>= imm
  MOV64_K: 0xb7, // dst = imm
  MOV64_X: 0xbf, // dst = src
  JNE_K: 0x55, // if dst != imm goto +off
  JNE_X: 0x5d, // if dst != src goto +off
  EXIT: 0x95,
};

interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}
const insn = (op: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ op, dst, src, off, imm });
/** A jump to the next rule; its offset is filled in once the rule's length is known. */
const NEXT_RULE = -1;

/**
 * The eBPF program allowing exactly what `rules` allow (the first matching rule decides; nothing
 * matching is denied). Registers: r2 device type, r3 requested access, r4 major, r5 minor.
 */
export function compileDeviceProgram(rules: readonly DeviceRule[]): Buffer {
  const prog: Insn[] = [
    insn(OP.LDX_W, 2, 1, 0),
    insn(OP.AND64_K, 2, 0, 0, 0xffff),
    insn(OP.LDX_W, 3, 1, 0),
    insn(OP.RSH64_K, 3, 0, 0, 16),
    insn(OP.LDX_W, 4, 1, 4),
    insn(OP.LDX_W, 5, 1, 8),
  ];
  for (const r of rules) {
    const block: Insn[] = [];
    if (r.type !== 'a') block.push(insn(OP.JNE_K, 2, 0, NEXT_RULE, DEV_TYPE[r.type]));
    const allowed = [...r.access].reduce((bits, a) => bits | ACCESS[a as keyof typeof ACCESS], 0);
    if (allowed !== (ACCESS.m | ACCESS.r | ACCESS.w)) {
      // the request must be a subset of the allowed access: (r3 & allowed) == r3
      block.push(insn(OP.MOV64_X, 1, 3), insn(OP.AND64_K, 1, 0, 0, allowed), insn(OP.JNE_X, 1, 3, NEXT_RULE));
    }
    if (r.major !== undefined) block.push(insn(OP.JNE_K, 4, 0, NEXT_RULE, r.major));
    if (r.minor !== undefined) block.push(insn(OP.JNE_K, 5, 0, NEXT_RULE, r.minor));
    block.push(insn(OP.MOV64_K, 0, 0, 0, 1), insn(OP.EXIT));
    block.forEach((i, n) => {
      if (i.off === NEXT_RULE) i.off = block.length - n - 1;
    });
    prog.push(...block);
    // The verifier refuses unreachable instructions: nothing follows a rule that matches everything.
    if (block.length === 2) return encode(prog);
  }
  prog.push(insn(OP.MOV64_K, 0, 0, 0, 0), insn(OP.EXIT));
  return encode(prog);
}

/** struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; } */
function encode(prog: Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((i, n) => {
    buf.writeUInt8(i.op, n * 8);
    buf.writeUInt8((i.src << 4) | i.dst, n * 8 + 1);
    buf.writeInt16LE(i.off, n * 8 + 2);
    buf.writeInt32LE(i.imm, n * 8 + 4);
  });
  return buf;
}
