// box:policy@0.2.0's admission interface (policies/wit/policy.wit) as canonical-ABI types: what
// admission-codec.ts is generated from (codec-gen.ts), checked field by field against the WIT file
// by test/unit/policy-direct.test.ts. Not loaded by box itself: building these tables cost ~0.4 ms
// of CPU at every start (measured 2026-12-05 on the 2-core dev VM), the generated code nothing.
import { wit } from './canonical';

const { bool, u8, u16, u32, u64, s64, string, list, option, tuple, record, variant } = wit;
const pair = tuple(string, string);
const strings = list(string);
const ulimit = record({ name: string, soft: s64, hard: s64 });
const namespaceMode = variant({ private: undefined, host: undefined, container: string });

const image = record({
  reference: string,
  id: string,
  digest: option(string),
  labels: list(pair),
  env: strings,
  entrypoint: strings,
  cmd: strings,
  user: string,
  'working-dir': string,
  'exposed-ports': strings,
});

const mount = record({
  kind: wit.enum('bind', 'volume', 'tmpfs', 'image'),
  source: string,
  destination: string,
  'read-only': bool,
  propagation: option(wit.enum('private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave')),
  options: strings,
});

const resources = record({
  memory: option(u64),
  'memory-swap': option(s64),
  'memory-reservation': option(u64),
  'cpu-quota': option(s64),
  'cpu-period': option(u64),
  'cpu-shares': option(u64),
  'cpuset-cpus': option(string),
  'cpuset-mems': option(string),
  'pids-limit': option(s64),
  ulimits: list(ulimit),
});

const security = record({
  privileged: bool,
  capabilities: strings,
  'seccomp-profile': string,
  'no-new-privileges': bool,
  'read-only-rootfs': bool,
});

const namespaces = record({
  pid: namespaceMode,
  ipc: namespaceMode,
  uts: namespaceMode,
  user: namespaceMode,
  cgroup: namespaceMode,
});

const endpoint = record({
  name: string,
  driver: string,
  internal: bool,
  'ipv4-address': option(string),
  'ipv6-address': option(string),
  'mac-address': option(string),
  aliases: strings,
});

const network = record({
  mode: variant({ none: undefined, host: undefined, bridge: string, container: string, namespace: string }),
  networks: list(endpoint),
  'published-ports': list(
    record({ 'host-ip': string, 'host-port': u16, 'container-port': u16, protocol: wit.enum('tcp', 'udp', 'sctp') }),
  ),
  dns: record({ servers: strings, search: strings, options: strings }),
  'extra-hosts': strings,
});

const container = record({
  name: string,
  hostname: string,
  image,
  args: strings,
  entrypoint: strings,
  cmd: strings,
  user: record({ spec: string, uid: u32, gid: u32, 'additional-gids': list(u32) }),
  'working-dir': string,
  env: strings,
  labels: list(pair),
  mounts: list(mount),
  resources,
  security,
  namespaces,
  network,
  restart: record({
    condition: wit.enum('no', 'always', 'on-failure', 'unless-stopped'),
    'maximum-retries': u32,
  }),
  tty: bool,
  init: bool,
});

const host = record({
  cpus: u32,
  'memory-total': u64,
  'cgroup-version': u8,
  committed: record({
    containers: u32,
    memory: u64,
    'unlimited-memory': u32,
    millicpus: u64,
    'unlimited-cpu': u32,
    pids: u64,
  }),
  'storage-root': string,
  'runtime-root': string,
});

/** The WIT types of box:policy@0.2.0's admission interface, by their WIT names. */
export const ADMISSION_TYPES = {
  pair,
  image,
  mount,
  ulimit,
  resources,
  security,
  'namespace-mode': namespaceMode,
  namespaces,
  endpoint,
  network,
  container,
  host,
  request: record({
    container,
    host,
    caller: record({ uid: u32, gid: u32 }),
    args: list(pair),
    'box-version': string,
  }),
  verdict: record({
    decision: wit.enum('allow', 'deny'),
    reasons: strings,
    warnings: strings,
    patch: option(
      record({
        limits: option(
          record({
            memory: option(u64),
            'memory-swap': option(s64),
            'memory-reservation': option(u64),
            'cpu-quota': option(s64),
            'cpu-period': option(u64),
            'cpu-shares': option(u64),
            'cpuset-cpus': option(string),
            'pids-limit': option(s64),
            ulimits: list(ulimit),
          }),
        ),
        'drop-capabilities': strings,
        'read-only-mounts': strings,
        'read-only-rootfs': bool,
        'no-new-privileges': bool,
        'add-env': list(pair),
        'add-labels': list(pair),
        network: option(wit.enum('disconnect', 'unpublish-ports')),
      }),
    ),
  }),
  info: record({
    name: string,
    version: string,
    description: string,
    arguments: list(record({ name: string, description: string })),
  }),
};
