// `features` (runtime-spec features.md): what box-runc honours, from the same tables that parse a
// config.json, so the answer cannot drift from what create accepts.
import { CAP_NAMES } from '../linux/capabilities';
import { BOX_VERSION } from '../version';
import { CONTAINER_HOOKS, HOST_HOOKS, OCI_VERSION_MAX, OCI_VERSION_MIN } from './config';
import { MOUNT_OPTION_WORDS } from './mount-options';

export function ociFeatures(): Record<string, unknown> {
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: [...HOST_HOOKS, ...CONTAINER_HOOKS],
    mountOptions: MOUNT_OPTION_WORDS,
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
      capabilities: CAP_NAMES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: [
          'SCMP_ACT_ALLOW',
          'SCMP_ACT_ERRNO',
          'SCMP_ACT_KILL',
          'SCMP_ACT_KILL_PROCESS',
          'SCMP_ACT_KILL_THREAD',
          'SCMP_ACT_LOG',
          'SCMP_ACT_TRACE',
          'SCMP_ACT_TRAP',
        ],
        operators: [
          'SCMP_CMP_EQ',
          'SCMP_CMP_GE',
          'SCMP_CMP_GT',
          'SCMP_CMP_LE',
          'SCMP_CMP_LT',
          'SCMP_CMP_MASKED_EQ',
          'SCMP_CMP_NE',
        ],
        archs: ['SCMP_ARCH_X86_64'],
        knownFlags: [],
        supportedFlags: [],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'io.github.box.version': BOX_VERSION },
  };
}
