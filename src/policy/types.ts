// The box:policy@0.2.0 types (policies/wit/policy.wit) as JavaScript sees them through jco's
// bindings: kebab-case names become camelCase, option<T> is T | undefined, u64/s64 are bigint,
// enums are strings, variants are { tag, val }, tuples are arrays. These same types are what a
// policy written in TypeScript receives (authors get them generated from the WIT in policies/types).

export const WIT_PACKAGE = 'box:policy';
/** the version of policies/wit/policy.wit; box runs 0.1 policies too (wit-versions.ts) */
export const WIT_VERSION = '0.2.0';
export const WIT_WORLD = 'policy';
export const WIT_INTERFACE = 'admission';
/** The export of a current component: `box:policy/admission@0.2.0`. */
export const WIT_EXPORT = `${WIT_PACKAGE}/${WIT_INTERFACE}@${WIT_VERSION}`;

export type Pair = [string, string];

export interface PolicyImage {
  reference: string;
  id: string;
  digest?: string;
  labels: Pair[];
  env: string[];
  entrypoint: string[];
  cmd: string[];
  user: string;
  workingDir: string;
  exposedPorts: string[];
}

export type MountKind = 'bind' | 'volume' | 'tmpfs' | 'image';
export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

export interface PolicyMount {
  kind: MountKind;
  source: string;
  destination: string;
  readOnly: boolean;
  propagation?: Propagation;
  options: string[];
}

export interface PolicyUlimit {
  name: string;
  soft: bigint;
  hard: bigint;
}

export interface PolicyResources {
  memory?: bigint;
  memorySwap?: bigint;
  memoryReservation?: bigint;
  cpuQuota?: bigint;
  cpuPeriod?: bigint;
  cpuShares?: bigint;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: bigint;
  ulimits: PolicyUlimit[];
}

export interface PolicySecurity {
  privileged: boolean;
  capabilities: string[];
  seccompProfile: string;
  noNewPrivileges: boolean;
  readOnlyRootfs: boolean;
}

export type NamespaceMode = { tag: 'private' } | { tag: 'host' } | { tag: 'container'; val: string };

export interface PolicyNamespaces {
  pid: NamespaceMode;
  ipc: NamespaceMode;
  uts: NamespaceMode;
  user: NamespaceMode;
  cgroup: NamespaceMode;
}

export type NetworkMode =
  | { tag: 'none' }
  | { tag: 'host' }
  | { tag: 'bridge'; val: string }
  | { tag: 'container'; val: string }
  | { tag: 'namespace'; val: string };

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

export interface PolicyEndpoint {
  name: string;
  driver: string;
  internal: boolean;
  ipv4Address?: string;
  ipv6Address?: string;
  macAddress?: string;
  aliases: string[];
}

export interface PolicyDns {
  servers: string[];
  search: string[];
  options: string[];
}

export interface PolicyNetwork {
  mode: NetworkMode;
  networks: PolicyEndpoint[];
  publishedPorts: PortMapping[];
  dns: PolicyDns;
  extraHosts: string[];
}

export type RestartCondition = 'no' | 'always' | 'on-failure' | 'unless-stopped';

export interface PolicyRestart {
  condition: RestartCondition;
  maximumRetries: number;
}

export interface PolicyUser {
  spec: string;
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface PolicyContainer {
  name: string;
  hostname: string;
  image: PolicyImage;
  args: string[];
  entrypoint: string[];
  cmd: string[];
  user: PolicyUser;
  workingDir: string;
  env: string[];
  labels: Pair[];
  mounts: PolicyMount[];
  resources: PolicyResources;
  security: PolicySecurity;
  namespaces: PolicyNamespaces;
  network: PolicyNetwork;
  restart: PolicyRestart;
  tty: boolean;
  init: boolean;
}

export interface Committed {
  containers: number;
  memory: bigint;
  unlimitedMemory: number;
  millicpus: bigint;
  unlimitedCpu: number;
  pids: bigint;
}

export interface PolicyHost {
  cpus: number;
  memoryTotal: bigint;
  cgroupVersion: number;
  committed: Committed;
  storageRoot: string;
  runtimeRoot: string;
}

export interface PolicyCaller {
  uid: number;
  gid: number;
}

export interface PolicyRequest {
  container: PolicyContainer;
  host: PolicyHost;
  caller: PolicyCaller;
  args: Pair[];
  boxVersion: string;
}

export interface LimitsPatch {
  memory?: bigint;
  memorySwap?: bigint;
  memoryReservation?: bigint;
  cpuQuota?: bigint;
  cpuPeriod?: bigint;
  cpuShares?: bigint;
  cpusetCpus?: string;
  pidsLimit?: bigint;
  ulimits: PolicyUlimit[];
}

export type NetworkRestriction = 'disconnect' | 'unpublish-ports';

export interface PolicyPatch {
  limits?: LimitsPatch;
  dropCapabilities: string[];
  readOnlyMounts: string[];
  readOnlyRootfs: boolean;
  noNewPrivileges: boolean;
  addEnv: Pair[];
  addLabels: Pair[];
  network?: NetworkRestriction;
}

export type Decision = 'allow' | 'deny';

export interface PolicyVerdict {
  decision: Decision;
  reasons: string[];
  warnings: string[];
  patch?: PolicyPatch;
}

export interface PolicyArgument {
  name: string;
  description: string;
}

export interface PolicyInfo {
  name: string;
  version: string;
  description: string;
  arguments: PolicyArgument[];
}

/** What a policy module exports (the `admission` interface). */
export interface AdmissionExports {
  describe(): PolicyInfo;
  evaluate(request: PolicyRequest): PolicyVerdict;
}
