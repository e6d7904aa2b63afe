// Starting a process without forking Node: glibc's posix_spawn through koffi. Its clone shares
// Node's memory (CLONE_VM | CLONE_VFORK) until the execve, where child_process.spawn has libuv fork
// the whole process (copying its page tables) and loads net, streams and child_process besides:
// about 6 ms of CPU per start, measured 2026-12-05 on the 2-core dev VM (issue 15).
//
// The child gets what libuv would give a `detached` child: its own session (setsid), every signal
// at its default (Node ignores SIGPIPE, which an execve keeps) and none blocked, the environment
// given, and the fds asked for at their numbers; everything else Node holds is close-on-exec.
// libuv reaps only its own children: spawned ones are reaped here (reap.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { koffi, libc } from './ffi';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const O_RDWR = 2;
const F_DUPFD_CLOEXEC = 1030;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
// glibc's <spawn.h>
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
// glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128: with room
const OPAQUE_BYTES = 512;

/** One of the child's fds: Node's own fd of that number, /dev/null (0-2; closed above), a new socket, or an fd of ours. */
export type ChildFd = 'inherit' | 'ignore' | 'pipe' | number;

export interface Spawned {
  pid: number;
  /** for each 'pipe' in stdio, this process's end of the socket pair (close-on-exec), else undefined */
  fds: (number | undefined)[];
}

interface SpawnFns {
  posixSpawn: (
    pid: Int32Array,
    path: string,
    actions: Buffer,
    attr: Buffer,
    argv: (string | null)[],
    envp: (string | null)[],
  ) => number;
  actionsInit: (actions: Buffer) => number;
  actionsDestroy: (actions: Buffer) => number;
  addDup2: (actions: Buffer, fd: number, newFd: number) => number;
  addOpen: (actions: Buffer, fd: number, path: string, flags: number, mode: number) => number;
  attrInit: (attr: Buffer) => number;
  attrDestroy: (attr: Buffer) => number;
  attrSetFlags: (attr: Buffer, flags: number) => number;
  attrSetSigDefault: (attr: Buffer, set: Buffer) => number;
  attrSetSigMask: (attr: Buffer, set: Buffer) => number;
  sigEmptySet: (set: Buffer) => number;
  socketpair: (domain: number, type: number, protocol: number, fds: Int32Array) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
}

let fns: SpawnFns | undefined;
function spawnFns(): SpawnFns {
  if (fns) return fns;
  const lib = libc();
  fns = {
    posixSpawn: lib.func(
      'int posix_spawn(_Out_ int *pid, const char *path, void *actions, void *attr, ' +
        'const char **argv, const char **envp)',
    ) as SpawnFns['posixSpawn'],
    actionsInit: lib.func('int posix_spawn_file_actions_init(void *actions)') as SpawnFns['actionsInit'],
    actionsDestroy: lib.func('int posix_spawn_file_actions_destroy(void *actions)') as SpawnFns['actionsDestroy'],
    addDup2: lib.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)') as SpawnFns['addDup2'],
    addOpen: lib.func(
      'int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)',
    ) as SpawnFns['addOpen'],
    attrInit: lib.func('int posix_spawnattr_init(void *attr)') as SpawnFns['attrInit'],
    attrDestroy: lib.func('int posix_spawnattr_destroy(void *attr)') as SpawnFns['attrDestroy'],
    attrSetFlags: lib.func('int posix_spawnattr_setflags(void *attr, short flags)') as SpawnFns['attrSetFlags'],
    attrSetSigDefault: lib.func(
      'int posix_spawnattr_setsigdefault(void *attr, const void *set)',
    ) as SpawnFns['attrSetSigDefault'],
    attrSetSigMask: lib.func(
      'int posix_spawnattr_setsigmask(void *attr, const void *set)',
    ) as SpawnFns['attrSetSigMask'],
    sigEmptySet: lib.func('int sigemptyset(void *set)') as SpawnFns['sigEmptySet'],
    socketpair: lib.func(
      'int socketpair(int domain, int type, int protocol, _Out_ int *fds)',
    ) as SpawnFns['socketpair'],
    // fcntl is variadic; its third argument here is an int, passed as a fixed one (x86-64, arm64 alike)
    fcntl: lib.func('int fcntl(int fd, int cmd, int arg)') as SpawnFns['fcntl'],
  };
  return fns;
}

/** An error shaped like child_process's for a failed spawn (code, errno, syscall, path). */
function spawnError(file: string, errno: number): NodeJS.ErrnoException {
  const code = Object.entries(os.constants.errno).find(([, n]) => n === errno)?.[0] ?? `E${errno}`;
  const err: NodeJS.ErrnoException = new Error(`spawn ${file} ${code}`);
  Object.assign(err, { code, errno: -errno, syscall: `spawn ${file}`, path: file });
  return err;
}

/** posix_spawn's set-up calls return an errno (only ENOMEM, EBADF or EINVAL, which do not happen here). */
function check(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`${what} failed: errno ${rc}`);
}

/**
 * Runs `file` with `args` (argv[0] is file) and `env`, its fd i set up as stdio[i] says. The
 * caller owns the returned fds (for 'pipe') and must reap the pid (reap.ts).
 */
export function spawnDetached(file: string, args: string[], env: Record<string, string>, stdio: ChildFd[]): Spawned {
  const f = spawnFns();
  const errno = () => koffi().errno();
  // Every source is first put above the highest target, so no dup2 overwrites a source a later one
  // reads (an fd of this process given at 6 may be 3 here), and none is its own target (whose
  // close-on-exec a same-number dup2 would keep on older glibc).
  const floor = stdio.length;
  const parentEnds: (number | undefined)[] = [];
  const sources: (number | undefined)[] = [];
  const toClose: number[] = [];
  const actions = Buffer.alloc(OPAQUE_BYTES);
  const attr = Buffer.alloc(OPAQUE_BYTES);
  let actionsReady = false;
  let attrReady = false;
  try {
    for (const [fd, entry] of stdio.entries()) {
      let source: number | undefined;
      let parentEnd: number | undefined;
      if (entry === 'pipe') {
        const pair = new Int32Array(2);
        if (f.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) !== 0) throw spawnError(file, errno());
        toClose.push(pair[1]);
        parentEnd = pair[0];
        source = pair[1];
      } else if (typeof entry === 'number') source = entry;
      // Node marks its own fds 0-2 close-on-exec at start: dup'ed like the rest, which clears that
      else if (entry === 'inherit') source = fd;
      if (source !== undefined && source < floor) {
        const high = f.fcntl(source, F_DUPFD_CLOEXEC, floor);
        if (high < 0) throw spawnError(file, errno());
        toClose.push(high);
        source = high;
      }
      parentEnds.push(parentEnd);
      sources.push(source);
    }
    check(f.actionsInit(actions), 'posix_spawn_file_actions_init');
    actionsReady = true;
    stdio.forEach((entry, fd) => {
      // as libuv: an ignored fd 0-2 is /dev/null (0 read-only), a higher one stays closed (the
      // helper's fd 5 for exec: no host file at an fd a container process could inherit)
      if (entry === 'ignore' && fd <= 2) {
        check(f.addOpen(actions, fd, '/dev/null', fd === 0 ? O_RDONLY : O_RDWR, 0), 'addopen');
      } else if (sources[fd] !== undefined) check(f.addDup2(actions, sources[fd]!, fd), 'adddup2');
    });
    check(f.attrInit(attr), 'posix_spawnattr_init');
    attrReady = true;
    // Every bit set by hand: sigfillset leaves out glibc's internal 32 and 33, which its posix_spawn
    // then sets to SIG_IGN in the child (an execve keeps that) unless they are in this set.
    const all = Buffer.alloc(OPAQUE_BYTES, 0xff);
    const none = Buffer.alloc(OPAQUE_BYTES);
    f.sigEmptySet(none);
    check(f.attrSetSigDefault(attr, all), 'setsigdefault');
    check(f.attrSetSigMask(attr, none), 'setsigmask');
    check(f.attrSetFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), 'setflags');
    const pid = new Int32Array(1);
    const envp = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const rc = f.posixSpawn(pid, file, actions, attr, [...args, null], [...envp, null]);
    if (rc !== 0) throw spawnError(file, rc);
    return { pid: pid[0], fds: parentEnds };
  } catch (err) {
    for (const fd of parentEnds) if (fd !== undefined) fs.closeSync(fd);
    throw err;
  } finally {
    if (actionsReady) f.actionsDestroy(actions);
    if (attrReady) f.attrDestroy(attr);
    for (const fd of toClose) fs.closeSync(fd);
  }
}

/**
 * Makes reads of one of this process's fds (a 'pipe' end spawnDetached returned) non-blocking. A
 * socket pair's ends are two open files: the child's end stays as it was.
 */
export function setNonBlocking(fd: number): void {
  const f = spawnFns();
  const flags = f.fcntl(fd, F_GETFL, 0);
  if (flags < 0 || f.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw new Error(`cannot make fd ${fd} non-blocking: errno ${koffi().errno()}`);
  }
}
