// Generated from policies/wit/policy.wit by build/policy-types.mjs: do not edit.
declare module 'box:policy/admission@0.2.0' {
  /**
   * Describes the policy (for `box policy inspect`); must not depend on any input.
   */
  export function describe(): Info;
  /**
   * Decides on a container start.
   */
  export function evaluate(request: Request): Verdict;
  /**
   * A key and its value (environment variables are given both ways: `env` keeps box's
   * `KEY=value` strings in order, policies that want a map can split them).
   */
  export type Pair = [string, string];
  /**
   * The image the container is created from.
   */
  export interface Image {
    /**
     * the reference as the user wrote it, normalised (e.g. `docker.io/library/alpine:3.20`)
     */
    reference: string,
    /**
     * the image's id (`sha256:...` of its config), and the manifest digest when known
     */
    id: string,
    digest?: string,
    /**
     * from the image config
     */
    labels: Array<Pair>,
    env: Array<string>,
    entrypoint: Array<string>,
    cmd: Array<string>,
    user: string,
    workingDir: string,
    exposedPorts: Array<string>,
  }
  /**
   * # Variants
   * 
   * ## `"bind"`
   * 
   * ## `"volume"`
   * 
   * ## `"tmpfs"`
   * 
   * ## `"image"`
   */
  export type MountKind = 'bind' | 'volume' | 'tmpfs' | 'image';
  /**
   * # Variants
   * 
   * ## `"private"`
   * 
   * ## `"rprivate"`
   * 
   * ## `"shared"`
   * 
   * ## `"rshared"`
   * 
   * ## `"slave"`
   * 
   * ## `"rslave"`
   */
  export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
  export interface Mount {
    kind: MountKind,
    /**
     * host path for a bind mount, volume name for a volume, empty for tmpfs
     */
    source: string,
    /**
     * absolute path in the container
     */
    destination: string,
    readOnly: boolean,
    propagation?: Propagation,
    /**
     * any other mount options, as box passes them to the kernel
     */
    options: Array<string>,
  }
  export interface Ulimit {
    name: string,
    /**
     * -1: unlimited
     */
    soft: bigint,
    hard: bigint,
  }
  /**
   * Resource limits; `none` means not limited.
   */
  export interface Resources {
    /**
     * bytes
     */
    memory?: bigint,
    /**
     * memory plus swap in bytes, -1 = unlimited swap (Docker's --memory-swap)
     */
    memorySwap?: bigint,
    memoryReservation?: bigint,
    /**
     * CFS quota and period in microseconds (--cpus 1.5 = quota 150000, period 100000)
     */
    cpuQuota?: bigint,
    cpuPeriod?: bigint,
    cpuShares?: bigint,
    cpusetCpus?: string,
    cpusetMems?: string,
    /**
     * -1: unlimited
     */
    pidsLimit?: bigint,
    ulimits: Array<Ulimit>,
  }
  export interface Security {
    privileged: boolean,
    /**
     * the effective capability set after --cap-add/--cap-drop, upper case without `CAP_`
     * (e.g. "NET_BIND_SERVICE"), sorted
     */
    capabilities: Array<string>,
    /**
     * "default", "unconfined", or the name/path of a profile
     */
    seccompProfile: string,
    noNewPrivileges: boolean,
    readOnlyRootfs: boolean,
  }
  /**
   * How the container shares a namespace: its own, the host's, or another container's.
   */
  export type NamespaceMode = NamespaceModePrivate | NamespaceModeHost | NamespaceModeContainer;
  export interface NamespaceModePrivate {
    tag: 'private',
  }
  export interface NamespaceModeHost {
    tag: 'host',
  }
  export interface NamespaceModeContainer {
    tag: 'container',
    val: string,
  }
  export interface Namespaces {
    pid: NamespaceMode,
    ipc: NamespaceMode,
    uts: NamespaceMode,
    user: NamespaceMode,
    cgroup: NamespaceMode,
  }
  export type NetworkMode = NetworkModeNone | NetworkModeHost | NetworkModeBridge | NetworkModeContainer | NetworkModeNamespace;
  export interface NetworkModeNone {
    tag: 'none',
  }
  export interface NetworkModeHost {
    tag: 'host',
  }
  /**
   * a bridge network, by name ("bridge" is box's default bridge): the first of the
   * container's networks; all of them, with what was asked for each, are in `networks`
   */
  export interface NetworkModeBridge {
    tag: 'bridge',
    val: string,
  }
  export interface NetworkModeContainer {
    tag: 'container',
    val: string,
  }
  /**
   * a network namespace joined by its path (box oci: the bundle's `linux.namespaces` path)
   */
  export interface NetworkModeNamespace {
    tag: 'namespace',
    val: string,
  }
  /**
   * # Variants
   * 
   * ## `"tcp"`
   * 
   * ## `"udp"`
   * 
   * ## `"sctp"`
   */
  export type Protocol = 'tcp' | 'udp' | 'sctp';
  export interface PortMapping {
    /**
     * empty: all addresses
     */
    hostIp: string,
    hostPort: number,
    containerPort: number,
    protocol: Protocol,
  }
  /**
   * A bridge network the container is attached to (`box run --network`, compose's `networks:`,
   * `box network connect`).
   */
  export interface Endpoint {
    /**
     * the network's name ("bridge" is box's default bridge)
     */
    name: string,
    /**
     * its driver ("bridge")
     */
    driver: string,
    /**
     * an --internal network: no way out of it
     */
    internal: boolean,
    /**
     * the address asked for (--ip, `network connect --ip`, compose's ipv4_address); none: the
     * network's IPAM hands one out when the container starts
     */
    ipv4Address?: string,
    ipv6Address?: string,
    /**
     * --mac-address; none: the kernel makes one
     */
    macAddress?: string,
    /**
     * --network-alias (compose: the service name and its aliases): more names it answers to on
     * the network's DNS
     */
    aliases: Array<string>,
  }
  /**
   * What the container's resolv.conf says instead of the defaults (empty: the defaults).
   */
  export interface DnsConfig {
    /**
     * --dns
     */
    servers: Array<string>,
    /**
     * --dns-search
     */
    search: Array<string>,
    /**
     * --dns-option
     */
    options: Array<string>,
  }
  export interface Network {
    mode: NetworkMode,
    /**
     * every bridge network it is attached to, in order (eth0, eth1, ...): empty with none,
     * host, container and namespace; on `box network connect`, the new one last
     */
    networks: Array<Endpoint>,
    publishedPorts: Array<PortMapping>,
    dns: DnsConfig,
    /**
     * --add-host: `NAME:ADDRESS` entries added to its /etc/hosts
     */
    extraHosts: Array<string>,
  }
  /**
   * # Variants
   * 
   * ## `"no"`
   * 
   * ## `"always"`
   * 
   * ## `"on-failure"`
   * 
   * ## `"unless-stopped"`
   */
  export type RestartCondition = 'no' | 'always' | 'on-failure' | 'unless-stopped';
  export interface RestartPolicy {
    condition: RestartCondition,
    /**
     * for on-failure; 0 = unlimited
     */
    maximumRetries: number,
  }
  export interface User {
    /**
     * as given (--user or the image's USER), e.g. "1000:1000", "nobody", "" (root)
     */
    spec: string,
    uid: number,
    gid: number,
    additionalGids: Uint32Array,
  }
  /**
   * The fully resolved configuration of the container box is about to start.
   */
  export interface Container {
    name: string,
    hostname: string,
    image: Image,
    /**
     * the final argv (entrypoint + command)
     */
    args: Array<string>,
    entrypoint: Array<string>,
    cmd: Array<string>,
    user: User,
    workingDir: string,
    /**
     * `KEY=value`, in order
     */
    env: Array<string>,
    labels: Array<Pair>,
    mounts: Array<Mount>,
    resources: Resources,
    security: Security,
    namespaces: Namespaces,
    network: Network,
    restart: RestartPolicy,
    tty: boolean,
    init: boolean,
  }
  /**
   * What the containers already running on this host have reserved.
   */
  export interface Committed {
    containers: number,
    /**
     * sum of memory limits in bytes (unlimited containers count 0, see `unlimited-memory`)
     */
    memory: bigint,
    unlimitedMemory: number,
    /**
     * sum of cpu limits in thousandths of a cpu (quota * 1000 / period; unlimited count 0)
     */
    millicpus: bigint,
    unlimitedCpu: number,
    /**
     * sum of pids limits (unlimited count 0)
     */
    pids: bigint,
  }
  export interface Host {
    /**
     * online cpus
     */
    cpus: number,
    /**
     * bytes
     */
    memoryTotal: bigint,
    /**
     * 1 or 2
     */
    cgroupVersion: number,
    committed: Committed,
    /**
     * box's storage root (e.g. /var/lib/box) and runtime root (e.g. /run/box)
     */
    storageRoot: string,
    runtimeRoot: string,
  }
  export interface Caller {
    uid: number,
    gid: number,
  }
  export interface Request {
    container: Container,
    host: Host,
    caller: Caller,
    /**
     * --policy-arg key=value, in order; a key may repeat
     */
    args: Array<Pair>,
    /**
     * the box version evaluating the policy
     */
    boxVersion: string,
  }
  /**
   * Resource limits a policy sets; `none` leaves the value as requested. A patch only
   * tightens: a limit looser than the one requested (or than an earlier policy's patch made
   * it; where none was requested, the kernel's default) refuses the start. memory,
   * memory-swap, pids-limit (0 and -1: unlimited), memory-reservation (none counts as 0),
   * cpu-shares (none: 1024) and each ulimit's soft and hard values may only go down, the CPU
   * share (cpu-quota / cpu-period) may only shrink, and cpuset-cpus may only name a subset.
   */
  export interface LimitsPatch {
    memory?: bigint,
    memorySwap?: bigint,
    memoryReservation?: bigint,
    cpuQuota?: bigint,
    cpuPeriod?: bigint,
    cpuShares?: bigint,
    cpusetCpus?: string,
    pidsLimit?: bigint,
    ulimits: Array<Ulimit>,
  }
  /**
   * # Variants
   * 
   * ## `"disconnect"`
   * 
   * run without a network (mode none)
   * ## `"unpublish-ports"`
   * 
   * keep the network, remove every published port
   */
  export type NetworkRestriction = 'disconnect' | 'unpublish-ports';
  /**
   * Corrections to the request. box applies them, re-validates the result and gives it to
   * the next policy.
   */
  export interface Patch {
    limits?: LimitsPatch,
    /**
     * capability names (as in `security.capabilities`) to remove
     */
    dropCapabilities: Array<string>,
    /**
     * destinations of mounts to make read-only
     */
    readOnlyMounts: Array<string>,
    readOnlyRootfs: boolean,
    noNewPrivileges: boolean,
    /**
     * added only: a variable the container already has (from the image or the user) keeps
     * its value; PATH, LD_*, and other variables that change what programs run or load
     * (BASH_ENV, NODE_OPTIONS, PYTHONPATH, GLIBC_TUNABLES...) refuse the start
     */
    addEnv: Array<Pair>,
    addLabels: Array<Pair>,
    network?: NetworkRestriction,
  }
  /**
   * # Variants
   * 
   * ## `"allow"`
   * 
   * ## `"deny"`
   */
  export type Decision = 'allow' | 'deny';
  export interface Verdict {
    decision: Decision,
    /**
     * why it denies (or, with a patch, what it changed); shown to the user
     */
    reasons: Array<string>,
    warnings: Array<string>,
    patch?: Patch,
  }
  export interface Argument {
    name: string,
    description: string,
  }
  export interface Info {
    name: string,
    version: string,
    description: string,
    /**
     * the --policy-arg keys it understands
     */
    arguments: Array<Argument>,
  }
}
