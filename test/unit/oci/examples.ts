// config.json documents as real clients write them, typed out by hand: `runc spec`'s default
// (runc 1.1, with the terminal off, as a detached bundle needs) and what containerd 1.6's CRI plugin
// writes for a pod's container (trimmed to one capability set per kind of field it uses).

// biome-ignore lint/suspicious/noExplicitAny: JSON documents written out by hand, changed freely by the tests
export type Doc = Record<string, any>;

export function runcSpecDefault(): Doc {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
      ],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

export function containerdCriSpec(): Doc {
  const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW'];
  const spec = runcSpecDefault();
  spec.ociVersion = '1.0.2-dev';
  spec.process = {
    user: { uid: 0, gid: 0, additionalGids: [0, 10] },
    args: ['/bin/sh', '-c', 'sleep 3600'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=web-1'],
    cwd: '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: false,
    oomScoreAdj: 1000,
  };
  spec.root = { path: '/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs' };
  spec.mounts.push({
    destination: '/etc/hosts',
    type: 'bind',
    source: '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/hosts',
    options: ['rbind', 'rprivate', 'rw'],
  });
  spec.annotations = {
    'io.kubernetes.cri.container-type': 'container',
    'io.kubernetes.cri.container-name': 'web',
    'io.kubernetes.cri.image-name': 'docker.io/library/nginx:1.25',
    'io.kubernetes.cri.sandbox-name': 'web-1',
    'io.kubernetes.cri.sandbox-namespace': 'shop',
  };
  spec.linux.resources = {
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rwm' },
    ],
    memory: { limit: 268435456, swap: 268435456 },
    cpu: { shares: 512, quota: 50000, period: 100000 },
    pids: { limit: 100 },
  };
  spec.linux.cgroupsPath = '/kubepods/burstable/podabc/abc';
  spec.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write', 'exit_group', 'execve', 'brk', 'mmap'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
    ],
  };
  spec.linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '0' };
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
  return spec;
}
