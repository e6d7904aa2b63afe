// Deadline checks compiled into a built-in's core module, so that box can stop it at its time limit
// without vm's watchdog, whose thread cost each call ~0.2 ms of CPU (start and join) and, on a busy
// host, the wait for that thread to be scheduled (measured 2026-12-05 on the 2-core dev VM).
//
// box's build rewrites each built-in's core module (never a policy file): every function entry and
// every loop iteration counts down a new exported global, and traps (`unreachable`) when it finds it
// at zero. Every path of a guest that runs on passes a function entry or a loop header within a
// bounded stretch of straight-line code, so a loop or a recursion always reaches that trap. The
// engine sets the count before each call; when the guest traps with the count at zero it looks at
// the clock: past the time limit, the call timed out; before it, the call is run again on a fresh
// instance (a policy is a pure function) with the count the time left allows at the rate measured.
// No import: a function imported from JavaScript costs V8 a compiled wrapper per module (~0.3 ms of
// CPU, more than the watchdog); a count and a trap need none.
//
// The rewrite: a mutable i32 global appended (no index moves) and exported as DEADLINE_EXPORT, and
// after each function's locals and each `loop`'s block type:
//   global.get $n; i32.eqz; if; unreachable; end; global.get $n; i32.const 1; i32.sub; global.set $n
// It reads the instructions clang emits for wasm32 (the MVP, sign extension, saturating conversions
// and bulk memory); anything else fails the build.
import { encodeU32, PolicyFormatError, readU32, sections } from './binary';

/** The exported global holding the checks a call may still pass (set by the engine before each call). */
export const DEADLINE_EXPORT = 'box_checks_left';

const I32 = 0x7f;
const u32 = encodeU32;
const section = (id: number, contents: ArrayLike<number>): Uint8Array =>
  Buffer.concat([Uint8Array.from([id, ...u32(contents.length)]), Uint8Array.from(contents)]);

/** A cursor over a module's bytes. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
    readonly what: string,
  ) {}

  u32(): number {
    const r = readU32(this.bytes, this.at);
    if (!r) this.fail('a malformed number');
    this.at = r.next;
    return r.value;
  }

  /** Skips a LEB128 number of any width (signed constants, s33 block types). */
  leb(): void {
    while (this.byte() & 0x80);
  }

  byte(): number {
    if (this.at >= this.bytes.length) this.fail('a truncated section');
    return this.bytes[this.at++];
  }

  fail(problem: string): never {
    throw new PolicyFormatError(`${this.what}: ${problem} at byte ${this.at} (box's deadline checks)`);
  }
}

/**
 * The core module with deadline checks (see above); throws PolicyFormatError for a module it cannot
 * rewrite: one that imports a global, has no export section, or holds instructions outside those listed.
 */
export function addDeadlineChecks(module: Uint8Array, what: string): Uint8Array {
  const secs = sections(module, what);
  const imports = secs.find((s) => s.id === 2);
  if (imports && WebAssembly.Module.imports(new WebAssembly.Module(module)).some((i) => i.kind === 'global'))
    throw new PolicyFormatError(`${what}: imports a global`);
  if (!secs.some((s) => s.id === 7)) throw new PolicyFormatError(`${what}: exports nothing`);
  const globals = secs.find((s) => s.id === 6);
  const counter = globals ? new Reader(module, globals.body, what).u32() : 0; // the new global's index
  const out: Uint8Array[] = [module.subarray(0, 8)];
  const addGlobal = (r?: Reader, end = 0): void => {
    const init = [I32, 1, 0x41, 0, 0x0b]; // mutable, 0 until the engine sets it
    out.push(section(6, [...u32(counter + 1), ...(r ? module.subarray(r.at, end) : []), ...init]));
  };
  for (const s of secs) {
    const r = new Reader(module, s.body, what);
    if (s.id === 6) {
      r.u32();
      addGlobal(r, s.end);
    } else if (s.id === 7) {
      if (!globals) addGlobal(); // (the global section comes right before the exports)
      const count = r.u32();
      const exported = [...u32(DEADLINE_EXPORT.length), ...Buffer.from(DEADLINE_EXPORT, 'latin1'), 0x03];
      out.push(section(7, [...u32(count + 1), ...module.subarray(r.at, s.end), ...exported, ...u32(counter)]));
    } else if (s.id === 10) out.push(section(10, rewriteCode(r, checkCode(counter))));
    else out.push(module.subarray(s.start, s.end));
  }
  return Buffer.concat(out);
}

function checkCode(counter: number): number[] {
  const get = [0x23, ...u32(counter)];
  const set = [0x24, ...u32(counter)];
  // if the count is 0: unreachable; the count -= 1
  return [...get, 0x45, 0x04, 0x40, 0x00, 0x0b, ...get, 0x41, 0x01, 0x6b, ...set];
}

/** Every function body with the check at its entry and in each loop. */
function rewriteCode(r: Reader, check: number[]): number[] {
  const count = r.u32();
  const out = u32(count);
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const end = r.at + size;
    const locals = r.at;
    const groups = r.u32();
    for (let g = 0; g < groups; g++) {
      r.u32();
      r.byte();
    }
    const fn = [...r.bytes.subarray(locals, r.at), ...check];
    while (r.at < end) copyInstruction(r, fn, check);
    if (r.at !== end) r.fail('a function body that overruns its size');
    out.push(...u32(fn.length), ...fn);
  }
  return out;
}

/** Copies one instruction to `out`, and the check after a loop's block type. */
function copyInstruction(r: Reader, out: number[], check: number[]): void {
  const start = r.at;
  const op = r.byte();
  if (op === 0x02 || op === 0x03 || op === 0x04) {
    r.leb(); // block type: 0x40, a value type (one byte) or a type index (s33)
  } else if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1) {
    // unreachable, nop, else, end, return, drop, select, ref.is_null: no immediate
  } else if (op >= 0x0c && op <= 0x10) {
    if (op === 0x0e) for (let n = r.u32(); n > 0; n--) r.u32(); // br_table's targets, then its default
    r.u32(); // br, br_if, return has none (above), call
  } else if ((op >= 0x20 && op <= 0x26) || op === 0x3f || op === 0x40 || op === 0xd0 || op === 0xd2) {
    r.u32(); // locals, globals, table.get/set, memory.size/grow, ref.null, ref.func
  } else if (op === 0x11 || (op >= 0x28 && op <= 0x3e)) {
    r.u32(); // call_indirect: type, table; loads and stores: alignment, offset
    r.u32();
  } else if (op === 0x1c) {
    for (let n = r.u32(); n > 0; n--) r.byte(); // select with types
  } else if (op === 0x41 || op === 0x42) r.leb();
  else if (op === 0x43 || op === 0x44) r.at += op === 0x43 ? 4 : 8;
  else if (op >= 0x45 && op <= 0xc4) {
    // numeric instructions, sign extension: no immediate
  } else if (op === 0xfc) {
    const sub = r.u32(); // saturating conversions, bulk memory and tables: how many immediates
    const immediates = [0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1][sub];
    if (immediates === undefined) r.fail(`an instruction it does not know (0xfc ${sub})`);
    for (let i = 0; i < immediates; i++) r.u32();
  } else r.fail(`an instruction it does not know (0x${op.toString(16)})`);
  for (let i = start; i < r.at; i++) out.push(r.bytes[i]);
  if (op === 0x03) out.push(...check);
}
