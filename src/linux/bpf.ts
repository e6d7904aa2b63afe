// The bpf(2) system call, for the one use box has: loading a cgroup device program
// (src/linux/devices.ts) and attaching it to a cgroup v2 directory.
import * as fs from 'node:fs';
import { Koffi, koffi, libc } from './ffi';
import { SyscallError } from './syscalls';

const SYS_BPF: Partial<Record<NodeJS.Architecture, number>> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** Ancestors' and descendants' programs all run; a device is usable only if every one allows it. */
export const BPF_F_ALLOW_MULTI = 2;

type SyscallFn = (nr: number, ...args: unknown[]) => number | bigint;
let bindings: { syscall: SyscallFn; loadAttr: ReturnType<Koffi['struct']> } | undefined;

function bind() {
  if (bindings) return bindings;
  const k = koffi();
  // union bpf_attr, the BPF_PROG_LOAD member up to expected_attach_type.
  const loadAttr = k.struct('box_bpf_prog_load_attr', {
    prog_type: 'uint32_t',
    insn_cnt: 'uint32_t',
    insns: 'void *',
    license: 'const char *',
    log_level: 'uint32_t',
    log_size: 'uint32_t',
    log_buf: 'void *',
    kern_version: 'uint32_t',
    prog_flags: 'uint32_t',
    prog_name: k.array('char', 16),
    prog_ifindex: 'uint32_t',
    expected_attach_type: 'uint32_t',
  });
  bindings = { syscall: libc().func('long syscall(long number, ...)') as SyscallFn, loadAttr };
  return bindings;
}

function sysBpf(): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new Error(`bpf(2) is not known to box on ${process.arch}`);
  return nr;
}

/**
 * Loads `program` as a cgroup device program and attaches it to the cgroup v2 directory `dir`.
 * The attachment holds the program: the fd is closed before returning, and the program goes
 * away with the cgroup.
 */
export function attachDeviceProgram(dir: string, program: Buffer): void {
  const progFd = loadDeviceProgram(program);
  try {
    attachProgram(dir, progFd, BPF_F_ALLOW_MULTI);
  } finally {
    fs.closeSync(progFd);
  }
}

/** BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its fd. */
export function loadDeviceProgram(program: Buffer): number {
  const b = bind();
  const log = Buffer.alloc(8192);
  const attr = {
    prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
    insn_cnt: program.length / 8,
    insns: program,
    license: 'Apache-2.0',
    log_level: 1,
    log_size: log.length,
    log_buf: log,
    kern_version: 0,
    prog_flags: 0,
    prog_name: 'box_devices',
    prog_ifindex: 0,
    expected_attach_type: BPF_CGROUP_DEVICE,
  };
  const progFd = Number(
    b.syscall(
      sysBpf(),
      'long',
      BPF_PROG_LOAD,
      'box_bpf_prog_load_attr *',
      attr,
      'unsigned long',
      koffi().sizeof(b.loadAttr),
    ),
  );
  if (progFd < 0) {
    const errno = koffi().errno();
    const verifier = log
      .toString('utf8')
      .replace(/\0[\s\S]*$/, '')
      .trim()
      .split('\n')
      .slice(-2)
      .join('; ');
    throw new SyscallError(`bpf(BPF_PROG_LOAD)${verifier ? ` [${verifier}]` : ''}`, errno);
  }
  return progFd;
}

/** BPF_PROG_ATTACH (BPF_CGROUP_DEVICE) of a loaded program to a cgroup v2 directory. */
export function attachProgram(dir: string, progFd: number, flags: number): void {
  cgroupProgCommand(BPF_PROG_ATTACH, 'bpf(BPF_PROG_ATTACH)', dir, progFd, flags);
}

/** BPF_PROG_DETACH: the reverse of attachProgram. */
export function detachProgram(dir: string, progFd: number): void {
  cgroupProgCommand(BPF_PROG_DETACH, 'bpf(BPF_PROG_DETACH)', dir, progFd, 0);
}

function cgroupProgCommand(cmd: number, name: string, dir: string, progFd: number, flags: number): void {
  const cgroupFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    // struct { u32 target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd; }
    const attr = Buffer.alloc(20);
    attr.writeUInt32LE(cgroupFd, 0);
    attr.writeUInt32LE(progFd, 4);
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    attr.writeUInt32LE(flags, 12);
    if (Number(bind().syscall(sysBpf(), 'long', cmd, 'void *', attr, 'unsigned long', attr.length)) < 0) {
      throw new SyscallError(name, koffi().errno(), dir);
    }
  } finally {
    fs.closeSync(cgroupFd);
  }
}
