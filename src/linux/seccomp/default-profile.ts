// box's default seccomp profile: an allowlist that blocks what Docker's default profile blocks.
// Anything not listed fails with EPERM (calls newer than box's syscall table fail with ENOSYS,
// so libc falls back). Some calls are allowed only when the container holds a capability:
// the kernel would check that capability anyway, but these calls are large attack surface,
// so without the capability they never reach the kernel.

import { ArgCondition, ENOSYS, EPERM, errno, SeccompProfile, SeccompRule, ALLOW } from './types';

/** Allowed for every container. */
export const DEFAULT_ALLOWED: readonly string[] = Object.freeze([
  // files and I/O
  'read', 'write', 'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'lseek',
  'pread64', 'pwrite64', 'readv', 'writev', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
  'stat', 'fstat', 'lstat', 'newfstatat', 'statx', 'statfs', 'fstatfs',
  'access', 'faccessat', 'faccessat2', 'pipe', 'pipe2', 'dup', 'dup2', 'dup3',
  'fcntl', 'flock', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range',
  'truncate', 'ftruncate', 'fallocate', 'fadvise64', 'readahead', 'ioctl',
  'getdents', 'getdents64', 'getcwd', 'chdir', 'fchdir',
  'rename', 'renameat', 'renameat2', 'mkdir', 'mkdirat', 'rmdir', 'link', 'linkat',
  'unlink', 'unlinkat', 'symlink', 'symlinkat', 'readlink', 'readlinkat', 'mknod', 'mknodat',
  'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'fchown', 'lchown', 'fchownat', 'umask',
  'utime', 'utimes', 'utimensat', 'futimesat',
  'setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat', 'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat',
  'listxattr', 'llistxattr', 'flistxattr', 'listxattrat', 'removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat',
  'file_getattr', 'file_setattr',
  'sendfile', 'splice', 'tee', 'vmsplice', 'copy_file_range', 'cachestat', 'name_to_handle_at',
  'select', 'pselect6', 'poll', 'ppoll',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2',
  'epoll_ctl_old', 'epoll_wait_old', 'eventfd', 'eventfd2',
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  'io_setup', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_submit', 'io_cancel',
  'statmount', 'listmount',
  // memory
  'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'msync', 'mincore', 'madvise', 'remap_file_pages',
  'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'pkey_mprotect', 'pkey_alloc', 'pkey_free',
  'membarrier', 'memfd_create', 'map_shadow_stack', 'mseal',
  // processes and threads
  'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid',
  'kill', 'tkill', 'tgkill', 'pidfd_open', 'pidfd_send_signal', 'process_mrelease',
  'set_tid_address', 'gettid', 'set_robust_list', 'get_robust_list', 'rseq', 'restart_syscall',
  'futex', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue',
  'prctl', 'arch_prctl', 'modify_ldt', 'set_thread_area', 'get_thread_area',
  'capget', 'capset', 'seccomp', 'uretprobe', 'uprobe',
  'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  'lsm_get_self_attr', 'lsm_list_modules',
  // signals
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigtimedwait',
  'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'rt_sigsuspend', 'sigaltstack', 'signalfd', 'signalfd4', 'pause',
  // time (setting the clock needs CAP_SYS_TIME, checked by the kernel for adjtimex/clock_adjtime)
  'nanosleep', 'clock_nanosleep', 'clock_gettime', 'clock_getres', 'gettimeofday', 'time', 'times',
  'getitimer', 'setitimer', 'alarm', 'timer_create', 'timer_settime', 'timer_gettime',
  'timer_getoverrun', 'timer_delete', 'timerfd_create', 'timerfd_settime', 'timerfd_gettime',
  'adjtimex', 'clock_adjtime',
  // identity
  'getpid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups',
  'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setfsuid', 'setfsgid', 'setgroups',
  'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
  // resources and scheduling
  'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'sysinfo', 'uname', 'getrandom', 'getcpu',
  'getpriority', 'setpriority', 'ioprio_get', 'ioprio_set', 'sched_yield',
  'sched_setparam', 'sched_getparam', 'sched_setscheduler', 'sched_getscheduler',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_rr_get_interval',
  'sched_setaffinity', 'sched_getaffinity', 'sched_setattr', 'sched_getattr',
  // networking (socket itself is below: not AF_VSOCK)
  'socketpair', 'connect', 'accept', 'accept4', 'bind', 'listen', 'shutdown',
  'getsockname', 'getpeername', 'setsockopt', 'getsockopt',
  'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg',
  // System V and POSIX IPC (namespaced)
  'shmget', 'shmat', 'shmdt', 'shmctl', 'semget', 'semop', 'semtimedop', 'semctl',
  'msgget', 'msgsnd', 'msgrcv', 'msgctl',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
]);

/** Allowed only with the capability. */
export const DEFAULT_CAP_GATED: ReadonlyArray<readonly [cap: string, names: readonly string[]]> = Object.freeze([
  [
    'CAP_SYS_ADMIN',
    [
      'mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'sethostname', 'setdomainname',
      'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'open_tree_attr', 'mount_setattr',
      'quotactl', 'quotactl_fd', 'lookup_dcookie', 'fanotify_init', 'listns',
      'bpf', 'perf_event_open', 'syslog', 'clone', 'clone3',
    ],
  ],
  ['CAP_BPF', ['bpf']],
  ['CAP_PERFMON', ['perf_event_open']],
  ['CAP_SYSLOG', ['syslog']],
  ['CAP_SYS_BOOT', ['reboot']],
  ['CAP_SYS_CHROOT', ['chroot']],
  ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
  ['CAP_SYS_PACCT', ['acct']],
  ['CAP_SYS_PTRACE', ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise']],
  ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
  ['CAP_SYS_TIME', ['settimeofday', 'clock_settime']],
  ['CAP_SYS_TTY_CONFIG', ['vhangup']],
  ['CAP_SYS_NICE', ['get_mempolicy', 'set_mempolicy', 'set_mempolicy_home_node', 'mbind', 'migrate_pages', 'move_pages']],
  ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
]);

/**
 * Never allowed by the default profile, whatever the capabilities (listed so every call in
 * the syscall table is a deliberate decision; the profile's default action denies them).
 */
export const DEFAULT_DENIED: readonly string[] = Object.freeze([
  'kexec_load', 'kexec_file_load', 'keyctl', 'add_key', 'request_key', 'userfaultfd',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'swapon', 'swapoff', 'uselib', 'ustat',
  'sysfs', '_sysctl', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl',
  'getpmsg', 'putpmsg', 'afs_syscall', 'tuxcall', 'security', 'vserver', 'memfd_secret',
  'lsm_set_self_attr',
]);

/** personality(2) values a container may set: the default, UNAME26, ADDR_NO_RANDOMIZE, both, and query. */
export const ALLOWED_PERSONALITIES: readonly number[] = Object.freeze([0x0, 0x8, 0x20000, 0x20008, 0xffffffff]);

/** Namespace flags clone(2) may not use without CAP_SYS_ADMIN (CLONE_NEWNS/CGROUP/UTS/IPC/USER/PID/NET). */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

const AF_VSOCK = 40;

function eq32(index: number, value: number): ArgCondition {
  return { index, op: 'eq', value: BigInt(value), bits: 32 };
}

function buildDefaultProfile(): SeccompProfile {
  const rules: SeccompRule[] = [{ names: DEFAULT_ALLOWED, action: ALLOW }];
  for (const p of ALLOWED_PERSONALITIES) {
    rules.push({ names: ['personality'], action: ALLOW, args: [eq32(0, p)] });
  }
  rules.push(
    // ptrace is safe to allow since Linux 4.8 (seccomp is re-checked after a tracer changes a call)
    { names: ['ptrace', 'process_vm_readv', 'process_vm_writev'], action: ALLOW, includes: { minKernel: '4.8' } },
    { names: ['socket'], action: ALLOW, args: [{ index: 0, op: 'ne', value: BigInt(AF_VSOCK), bits: 32 }] },
    {
      names: ['clone'],
      action: ALLOW,
      args: [{ index: 0, op: 'masked_eq', value: BigInt(CLONE_NAMESPACE_FLAGS), valueTwo: 0n }],
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    },
    // ENOSYS, not EPERM: glibc then falls back to clone, which the rule above checks.
    { names: ['clone3'], action: errno(ENOSYS), excludes: { caps: ['CAP_SYS_ADMIN'] } },
  );
  for (const [cap, names] of DEFAULT_CAP_GATED) {
    rules.push({ names, action: ALLOW, includes: { caps: [cap] } });
  }
  return deepFreeze({ defaultAction: errno(EPERM), rules });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** box's default profile (frozen; compile it with compileSeccomp or compileDefaultProfile). */
export const DEFAULT_PROFILE: SeccompProfile = buildDefaultProfile();
