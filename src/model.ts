// The container as box records it: the fully resolved configuration it runs with, and its state.
// Types only, shared by cli/, runtime/ and policy/, so it sits below all three.
import type { ImageRuntimeConfig } from './image/config';
import { CgroupLimits } from './linux/cgroups';
import type { PolicyMode } from './policy/sources';
import type { PortBinding, PublishedPort } from './network/ports';

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** The image a container is created from, as box resolved it. */
export interface ContainerImage {
  /** as the user gave it (a name or an id) */
  ref: string;
  id: string;
  /** fully qualified, what policies see (src/image/reference.ts imageProvenance); absent in records of older box versions */
  reference?: string;
  /** the manifest digest it was pulled by, when known */
  digest?: string;
  /** the image's own configuration (labels, env, entrypoint, cmd, user, working dir, exposed ports, volumes...) */
  config?: ImageRuntimeConfig;
}

/**
 * An attachment to a bridge network as configured. The address it runs with is IPAM's, handed out
 * at each start (src/network/ipam.ts); `ip` and `mac` are only what the user asked for.
 */
export interface NetworkEndpointConfig {
  networkId: string;
  /** the network's name (shown by inspect) */
  name: string;
  /** --network-alias: more names it answers to on a user network's DNS */
  aliases: string[];
  /** --ip */
  ip?: string;
  /** --mac-address */
  mac?: string;
}

export type RestartName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface RestartPolicy {
  name: RestartName;
  /** on-failure:N; 0 = no limit */
  maxRetries: number;
  baseMs: number;
  maxMs: number;
  resetMs: number;
}

export type HealthOnFailure = 'none' | 'kill' | 'restart' | 'stop';

/** The resolved health check of a container; durations in nanoseconds (Docker's units). */
export interface HealthConfig {
  /** ['CMD-SHELL', cmd] or ['CMD', arg...] */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
  onFailure: HealthOnFailure;
}

export interface ContainerConfig {
  image: ContainerImage;
  /** diff_ids of the image's layers, bottom first */
  layers: string[];
  hostname: string;
  /** the final argv (entrypoint + command) */
  args: string[];
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: { spec: string; uid: number; gid: number; additionalGids: number[] };
  tty: boolean;
  openStdin: boolean;
  /** Docker's StdinOnce (create -i): the container's stdin ends when an attached client's does */
  stdinOnce?: boolean;
  /** Docker's NetworkMode: none, host, bridge (box's default bridge) or a user network's name */
  network: string;
  /** the bridge networks it is attached to, in order: eth0, eth1, ... (none with mode none or host) */
  networks?: NetworkEndpointConfig[];
  /** --dns, --dns-search, --dns-option: what its resolv.conf says instead of the defaults */
  dns?: { servers: string[]; search: string[]; options: string[] };
  /** -p/-P as given (Docker's HostConfig.PortBindings): host port '' = random */
  portBindings?: PortBinding[];
  /** the host ports box publishes for it, chosen when it was created (`box port`, the ruleset's DNAT) */
  ports?: PublishedPort[];
  /** --add-host entries, "NAME:ADDRESS", added to its /etc/hosts */
  extraHosts?: string[];
  readOnly: boolean;
  init: boolean;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  /** "default", "unconfined", or the path of a Docker-format profile (its content is in seccompProfile) */
  seccomp: string;
  seccompProfile?: string;
  ulimits: Ulimit[];
  limits: CgroupLimits;
  labels: Record<string, string>;
  stopSignal?: string;
  restart?: RestartPolicy;
  /** json-file log rotation of a detached container */
  log?: { maxSize: number; maxFile: number };
  healthcheck?: HealthConfig;
  /** volumes, bind mounts and tmpfs mounts, in the order they are mounted (absent: none) */
  mounts?: MountConfig[];
}

/** Mount propagation as Docker names it. */
export type Propagation = 'rprivate' | 'private' | 'rshared' | 'shared' | 'rslave' | 'slave';

/** One volume, bind or tmpfs mount of a container (src/volume/). */
export interface MountConfig {
  type: 'bind' | 'volume' | 'tmpfs';
  /** bind: the host path, resolved (no symlink in it); volume: the volume's name; tmpfs: empty */
  source: string;
  /** the absolute path inside the container */
  target: string;
  readOnly: boolean;
  /** bind and volume mounts (default rprivate) */
  propagation?: Propagation;
  /** bind: only the source's own mount, not those below it */
  nonRecursive?: boolean;
  /** volume: a new empty volume does not get the image's content at target */
  noCopy?: boolean;
  /** volume: made for this container (run --rm and rm -v remove it) */
  anonymous?: boolean;
  /** volume: the host directory a local volume with type=none,o=bind binds (resolved), what policies judge */
  hostSource?: string;
  /** tmpfs: its mount options (size=64m,mode=1777,noexec...), as --tmpfs takes them */
  tmpfsOptions?: string;
  /**
   * how it was asked for: -v (HostConfig.Binds), --mount (HostConfig.Mounts), --tmpfs, the image's
   * VOLUME, a build step's RUN --mount
   */
  origin: 'v' | 'mount' | 'tmpfs' | 'image' | 'build';
  /**
   * a RUN --mount bind: what box made its source from (`cache ID`, `context PATH`, `stage NAME PATH`,
   * `secret ID`), which policies are shown instead of the path under box's storage
   */
  buildSource?: string;
  /** -v's text as given, for HostConfig.Binds */
  spec?: string;
}

/** `removing`: a removal began (and, if it is still listed, was killed): `rm -f` finishes it. */
export type ContainerStatus = 'created' | 'running' | 'exited' | 'dead' | 'removing';

export interface ContainerState {
  status: ContainerStatus;
  pid?: number;
  /** the box-helper process that watches a detached container (a foreground one: its helper) */
  monitorPid?: number;
  /** a foreground container: the `box run` that records its end (alive while it holds the owner lock, owner.ts) */
  ownerPid?: number;
  /** set by stop/kill from the user: a restart policy does not restart it */
  stoppedByUser?: boolean;
  restartCount?: number;
  /** the last back-off delay, doubled for the next restart */
  restartDelayMs?: number;
  /** waiting for the back-off before the next start */
  restarting?: boolean;
  /** restarting: when the next attempt is due (ISO time) */
  nextRestartAt?: string;
  /**
   * restarting: "<pid>.<start time>" of monitorPid's process (util/owner.ts), the back-off or the
   * monitor that is about to become it, so that neither is taken for dead nor a recycled pid for it
   */
  backoffToken?: string;
  exitCode?: number;
  oomKilled?: boolean;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface ContainerRecord {
  version: 1;
  id: string;
  name: string;
  created: string;
  autoRemove: boolean;
  config: ContainerConfig;
  state: ContainerState;
  /** the policies that decided on its creation, in order */
  admittedBy?: AdmittedBy[];
  /** created with --no-default-policies: no default policy judges it later either (update, connect) */
  noDefaultPolicies?: true;
}

/** What the container record keeps of each policy that decided on it (shown by inspect). */
export interface AdmittedBy {
  name: string;
  source: string;
  sha256: string;
  mode: PolicyMode;
  decision: 'allow' | 'deny' | 'failed';
  /** the changes its patch made */
  applied: string[];
  warnings: string[];
  /** what it was run with, so that `box update` runs it again the same way (absent in older records) */
  args?: Array<[string, string]>;
  timeoutMs?: number;
  failureMode?: 'deny' | 'ignore';
}
