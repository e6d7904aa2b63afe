// Parser for Docker's (moby / OCI-style) seccomp profile JSON, into box's SeccompProfile.
//
// Semantics follow Docker + runc: a syscall entry applies when its includes all hold and none of
// its excludes do (for the effective capabilities, the architecture and the kernel version);
// names unknown on the architecture are skipped; several conditions on the same argument index
// in one entry become separate rules (any of them matches), as runc does.

import { lookupCapName, CAP_NAMES } from '../capabilities';
import { ArgCondition, ArgOp, EPERM, RuleFilter, SeccompAction, SeccompProfile, SeccompRule } from './types';

const OPS: Readonly<Record<string, ArgOp>> = {
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_MASKED_EQ: 'masked_eq',
};

const KNOWN_ARCHES = new Set(
  [
    'X86',
    'X86_64',
    'X32',
    'ARM',
    'AARCH64',
    'MIPS',
    'MIPS64',
    'MIPS64N32',
    'MIPSEL',
    'MIPSEL64',
    'MIPSEL64N32',
    'PPC',
    'PPC64',
    'PPC64LE',
    'S390',
    'S390X',
    'PARISC',
    'PARISC64',
    'RISCV64',
    'LOONGARCH64',
    'M68K',
    'SH',
    'SHEB',
  ].map((a) => `SCMP_ARCH_${a}`),
);

const MAX_ERRNO = 4095;

class ProfileError extends Error {}

type Json = unknown;

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function fail(where: string, msg: string): never {
  throw new ProfileError(where ? `${where}: ${msg}` : msg);
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function expectObject(v: Json, where: string): Record<string, Json> {
  if (!isObject(v)) fail(where, `expected an object, got ${describe(v)}`);
  return v;
}

function optArray(v: Json, where: string): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(where, `expected an array, got ${describe(v)}`);
  return v;
}

function optStrings(v: Json, where: string): string[] {
  return optArray(v, where).map((s, i) => {
    if (typeof s !== 'string') fail(`${where}[${i}]`, `expected a string, got ${describe(s)}`);
    return s;
  });
}

function parseErrno(v: Json, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ERRNO) {
    fail(where, `expected an errno number 0..${MAX_ERRNO}, got ${describe(v)}`);
  }
  return v;
}

function parseAction(v: Json, errnoRet: number | undefined, where: string): SeccompAction {
  if (typeof v !== 'string') fail(where, `expected an action name, got ${describe(v)}`);
  switch (v) {
    case 'SCMP_ACT_ALLOW':
      return { type: 'allow' };
    case 'SCMP_ACT_ERRNO':
      return { type: 'errno', errno: errnoRet ?? EPERM };
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return { type: 'kill_thread' };
    case 'SCMP_ACT_KILL_PROCESS':
      return { type: 'kill_process' };
    case 'SCMP_ACT_TRAP':
      return { type: 'trap' };
    case 'SCMP_ACT_TRACE':
      return { type: 'trace', data: errnoRet ?? EPERM };
    case 'SCMP_ACT_LOG':
      return { type: 'log' };
    case 'SCMP_ACT_NOTIFY':
      return fail(where, `action "${v}" is not supported by box (no seccomp notify listener)`);
    default:
      fail(where, `unknown action "${v}"`);
  }
}

function parseU64(v: Json, where: string): bigint {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) fail(where, `expected an unsigned 64-bit integer, got ${describe(v)}`);
    return BigInt(v);
  }
  if (typeof v === 'string' && /^(0|[1-9]\d*|0x[0-9a-fA-F]+)$/.test(v)) {
    const b = BigInt(v);
    if (b <= 0xffffffffffffffffn) return b;
  }
  fail(where, `expected an unsigned 64-bit integer, got ${describe(v)}`);
}

function parseFilter(v: Json, where: string): RuleFilter | undefined {
  if (v === undefined || v === null) return undefined;
  const o = expectObject(v, where);
  const caps = optStrings(o.caps, `${where}.caps`).map((c) => {
    // Compared by name as Docker does; spellings without CAP_ or in lower case are accepted too.
    const n = lookupCapName(c);
    return n === undefined ? c : CAP_NAMES[n];
  });
  const arches = optStrings(o.arches, `${where}.arches`);
  let minKernel: string | undefined;
  if (o.minKernel !== undefined && o.minKernel !== null && o.minKernel !== '') {
    if (typeof o.minKernel !== 'string' || !/^\d+\.\d+$/.test(o.minKernel)) {
      fail(`${where}.minKernel`, `expected a kernel version like "5.8", got ${describe(o.minKernel)}`);
    }
    minKernel = o.minKernel;
  }
  if (caps.length === 0 && arches.length === 0 && minKernel === undefined) return undefined;
  return {
    ...(caps.length ? { caps } : {}),
    ...(arches.length ? { arches } : {}),
    ...(minKernel !== undefined ? { minKernel } : {}),
  };
}

function parseArgs(v: Json, where: string): ArgCondition[] {
  return optArray(v, where).map((a, i) => {
    const w = `${where}[${i}]`;
    const o = expectObject(a, w);
    const index = o.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) {
      fail(`${w}.index`, `expected an argument index 0..5, got ${describe(index)}`);
    }
    if (typeof o.op !== 'string') fail(`${w}.op`, `expected a comparison name, got ${describe(o.op)}`);
    const op = OPS[o.op];
    if (!op) fail(`${w}.op`, `unknown comparison "${o.op}"`);
    const value = parseU64(o.value ?? 0, `${w}.value`);
    const valueTwo = parseU64(o.valueTwo ?? 0, `${w}.valueTwo`);
    return op === 'masked_eq' ? { index, op, value, valueTwo } : { index, op, value };
  });
}

/**
 * JSON numbers beyond 2^53 lose precision in JSON.parse; turn the integer literals of
 * "value"/"valueTwo" members into strings first. (A quote inside a JSON string is escaped, so
 * string contents can't match.)
 */
function protectBigValues(text: string): string {
  return text.replace(/("value(?:Two)?"\s*:\s*)(\d+)(?=\s*[,}\]])/g, (_m, key: string, digits: string) =>
    digits.length >= 16 ? `${key}"${digits}"` : `${key}${digits}`,
  );
}

function parse(text: string): SeccompProfile {
  let root: Json;
  try {
    root = JSON.parse(protectBigValues(text));
  } catch (err) {
    fail('', `invalid JSON: ${(err as Error).message}`);
  }
  const o = expectObject(root, '');

  const defaultErrno = parseErrno(o.defaultErrnoRet, 'defaultErrnoRet');
  if (o.defaultAction === undefined) fail('defaultAction', 'missing');
  const defaultAction = parseAction(o.defaultAction, defaultErrno, 'defaultAction');

  optStrings(o.architectures, 'architectures').forEach((a, i) => {
    if (!KNOWN_ARCHES.has(a)) fail(`architectures[${i}]`, `unknown architecture "${a}"`);
  });
  optArray(o.archMap, 'archMap').forEach((m, i) => {
    const mo = expectObject(m, `archMap[${i}]`);
    const arch = mo.architecture;
    if (typeof arch !== 'string' || !KNOWN_ARCHES.has(arch)) {
      fail(`archMap[${i}].architecture`, `unknown architecture ${describe(arch)}`);
    }
    optStrings(mo.subArchitectures, `archMap[${i}].subArchitectures`).forEach((a, j) => {
      if (!KNOWN_ARCHES.has(a)) fail(`archMap[${i}].subArchitectures[${j}]`, `unknown architecture "${a}"`);
    });
  });

  const rules: SeccompRule[] = [];
  optArray(o.syscalls, 'syscalls').forEach((s, i) => {
    const w = `syscalls[${i}]`;
    const so = expectObject(s, w);
    let names: string[];
    if (so.name !== undefined && so.name !== null && so.name !== '') {
      if (typeof so.name !== 'string') fail(`${w}.name`, `expected a string, got ${describe(so.name)}`);
      if (Array.isArray(so.names) && so.names.length > 0) fail(w, 'use either "name" or "names", not both');
      names = [so.name];
    } else {
      if (so.names === undefined || so.names === null) fail(`${w}.names`, 'missing');
      names = optStrings(so.names, `${w}.names`);
    }
    const errnoRet = parseErrno(so.errnoRet, `${w}.errnoRet`);
    if (so.action === undefined) fail(`${w}.action`, 'missing');
    const action = parseAction(so.action, errnoRet, `${w}.action`);
    const args = parseArgs(so.args, `${w}.args`);
    const includes = parseFilter(so.includes, `${w}.includes`);
    const excludes = parseFilter(so.excludes, `${w}.excludes`);
    const base = { names, action, ...(includes ? { includes } : {}), ...(excludes ? { excludes } : {}) };
    const indexes = new Set(args.map((a) => a.index));
    if (args.length > 1 && indexes.size < args.length) {
      for (const a of args) rules.push({ ...base, args: [a] });
    } else {
      rules.push(args.length ? { ...base, args } : base);
    }
  });

  return { defaultAction, rules };
}

/**
 * Parses a Docker-format seccomp profile. SOURCE (usually the file's path) prefixes errors:
 * `seccomp profile SOURCE: syscalls[3].action: unknown action "FOO"`.
 */
export function parseDockerProfile(text: string, source: string): SeccompProfile {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof ProfileError) throw new Error(`seccomp profile ${source}: ${err.message}`);
    throw err;
  }
}
