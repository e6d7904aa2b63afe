// The request box gives policies, made from a container's resolved configuration.
import { capsToNames, resolveCapabilities } from '../linux/capabilities';
import type { ContainerConfig, MountConfig, NetworkEndpointConfig } from '../model';
import { BOX_VERSION } from '../version';
import type {
  Committed,
  NetworkMode,
  Pair,
  PolicyContainer,
  PolicyEndpoint,
  PolicyHost,
  PolicyMount,
  PolicyNetwork,
  PolicyRequest,
} from './types';

export interface RequestContext {
  name: string;
  host: {
    cpus: number;
    memoryTotal: number;
    cgroupVersion: 1 | 2;
    storageRoot: string;
    runtimeRoot: string;
    committed: Committed;
  };
  caller: { uid: number; gid: number };
  /** --policy-arg key=value, in order */
  args: Pair[];
  /** what the network store says of the networks the container's endpoints name, by network id */
  networks?: Record<string, NetworkFacts>;
}

/** Of a network, what policies see beside its name. */
export interface NetworkFacts {
  driver: string;
  internal: boolean;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0); // not localeCompare: no ICU at startup
const sortedPairs = (o: Record<string, string>): Pair[] => Object.entries(o).sort(([a], [b]) => byCodeUnits(a, b));

const big = (n: number | undefined): bigint | undefined => (n === undefined ? undefined : BigInt(n));

/**
 * The policy's view of a container configuration (box's model has no namespace options: those
 * are private, except what box oci's `complete` fills in).
 */
export function policyContainer(
  name: string,
  c: ContainerConfig,
  networks: Record<string, NetworkFacts> = {},
): PolicyContainer {
  const caps = capsToNames(resolveCapabilities({ privileged: c.privileged, capAdd: c.capAdd, capDrop: c.capDrop }))
    .map((n) => n.slice('CAP_'.length)) // (every name starts with it)
    .sort();
  const l = c.limits;
  const ic = c.image.config ?? {};
  return {
    name,
    hostname: c.hostname,
    image: {
      reference: c.image.reference ?? c.image.ref,
      id: c.image.id,
      digest: c.image.digest,
      labels: sortedPairs(ic.Labels ?? {}),
      env: [...(ic.Env ?? [])],
      entrypoint: [...(ic.Entrypoint ?? [])],
      cmd: [...(ic.Cmd ?? [])],
      user: ic.User ?? '',
      workingDir: ic.WorkingDir ?? '',
      exposedPorts: Object.keys(ic.ExposedPorts ?? {}).sort(byCodeUnits),
    },
    args: [...c.args],
    entrypoint: [...c.entrypoint],
    cmd: [...c.cmd],
    user: { spec: c.user.spec, uid: c.user.uid, gid: c.user.gid, additionalGids: [...c.user.additionalGids] },
    workingDir: c.workingDir,
    env: [...c.env],
    labels: sortedPairs(c.labels),
    mounts: (c.mounts ?? []).map(policyMount),
    resources: {
      memory: big(l.memory),
      memorySwap: big(l.memorySwap),
      memoryReservation: big(l.memoryReservation),
      cpuQuota: big(l.cpuQuota),
      cpuPeriod: big(l.cpuPeriod),
      cpuShares: big(l.cpuShares),
      cpusetCpus: l.cpusetCpus,
      cpusetMems: l.cpusetMems,
      pidsLimit: big(l.pidsLimit),
      ulimits: c.ulimits.map((u) => ({ name: u.name, soft: BigInt(u.soft), hard: BigInt(u.hard) })),
    },
    security: {
      privileged: c.privileged,
      capabilities: caps,
      seccompProfile: c.seccomp,
      noNewPrivileges: c.noNewPrivileges,
      readOnlyRootfs: c.readOnly,
    },
    namespaces: {
      pid: { tag: 'private' },
      ipc: { tag: 'private' },
      uts: { tag: 'private' },
      user: { tag: 'private' },
      cgroup: { tag: 'private' },
    },
    network: policyNetwork(c, networks),
    restart: { condition: c.restart?.name ?? 'no', maximumRetries: c.restart?.maxRetries ?? 0 },
    tty: c.tty,
    init: c.init,
  };
}

/**
 * A mount as policies see it: a bind's source is the host path box resolved (no symlink left in
 * it); a volume that binds a host directory is that bind (with `volume=NAME` among its options).
 */
function policyMount(m: MountConfig): PolicyMount {
  // A build step's mount of what box made under its storage (a cache, a copy of a context or stage
  // path, a secret's file) is box-managed storage, like a volume: shown as one, named by its origin.
  const built = m.origin === 'build' && m.type === 'bind';
  const options = [
    ...(m.origin === 'build' ? ['build'] : []),
    ...(m.hostSource ? [`volume=${m.source}`] : []),
    ...(m.nonRecursive ? ['bind-nonrecursive'] : []),
    ...(m.noCopy ? ['nocopy'] : []),
    ...(m.anonymous ? ['anonymous'] : []),
    ...(m.tmpfsOptions ?? '').split(',').filter(Boolean),
  ];
  return {
    kind: built ? 'volume' : m.hostSource ? 'bind' : m.type,
    source: built ? (m.buildSource ?? '') : (m.hostSource ?? m.source),
    destination: m.target,
    readOnly: m.readOnly,
    propagation: m.type === 'tmpfs' ? undefined : (m.propagation ?? 'rprivate'),
    options,
  };
}

function policyNetwork(c: ContainerConfig, facts: Record<string, NetworkFacts>): PolicyNetwork {
  return {
    mode: networkMode(c.network),
    networks: (c.networks ?? []).map((e) => policyEndpoint(e, facts[e.networkId])),
    publishedPorts: (c.ports ?? []).map((p) => ({
      hostIp: p.hostIp,
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: p.protocol,
    })),
    dns: {
      servers: [...(c.dns?.servers ?? [])],
      search: [...(c.dns?.search ?? [])],
      options: [...(c.dns?.options ?? [])],
    },
    extraHosts: [...(c.extraHosts ?? [])],
  };
}

/** An endpoint; a network the store no longer knows is shown as a plain bridge. */
function policyEndpoint(e: NetworkEndpointConfig, facts: NetworkFacts | undefined): PolicyEndpoint {
  const asked = e.ip === undefined ? {} : e.ip.includes(':') ? { ipv6Address: e.ip } : { ipv4Address: e.ip };
  return {
    name: e.name,
    driver: facts?.driver ?? 'bridge',
    internal: facts?.internal ?? false,
    ...asked,
    ...(e.mac === undefined ? {} : { macAddress: e.mac }),
    aliases: [...e.aliases],
  };
}

/** none, host, or bridge(NAME) for the default bridge and user networks alike */
function networkMode(mode: string): NetworkMode {
  if (mode === 'none' || mode === 'host') return { tag: mode };
  return { tag: 'bridge', val: mode };
}

export function policyRequest(config: ContainerConfig, ctx: RequestContext): PolicyRequest {
  const host: PolicyHost = { ...ctx.host, memoryTotal: BigInt(ctx.host.memoryTotal) };
  return {
    container: policyContainer(ctx.name, config, ctx.networks),
    host,
    caller: { ...ctx.caller },
    args: ctx.args.map(([k, v]) => [k, v]),
    boxVersion: BOX_VERSION,
  };
}

/** A request for tests and `box policy eval`: every field present, overridable in part. */
export function emptyRequest(): PolicyRequest {
  return {
    container: {
      name: 'example',
      hostname: 'example',
      image: {
        reference: 'docker.io/library/busybox:latest',
        id: 'sha256:' + '0'.repeat(64),
        digest: undefined,
        labels: [],
        env: [],
        entrypoint: [],
        cmd: ['sh'],
        user: '',
        workingDir: '',
        exposedPorts: [],
      },
      args: ['sh'],
      entrypoint: [],
      cmd: ['sh'],
      user: { spec: '', uid: 0, gid: 0, additionalGids: [] },
      workingDir: '/',
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      labels: [],
      mounts: [],
      resources: { ulimits: [] },
      security: {
        privileged: false,
        capabilities: [],
        seccompProfile: 'default',
        noNewPrivileges: false,
        readOnlyRootfs: false,
      },
      namespaces: {
        pid: { tag: 'private' },
        ipc: { tag: 'private' },
        uts: { tag: 'private' },
        user: { tag: 'private' },
        cgroup: { tag: 'private' },
      },
      network: {
        mode: { tag: 'none' },
        networks: [],
        publishedPorts: [],
        dns: { servers: [], search: [], options: [] },
        extraHosts: [],
      },
      restart: { condition: 'no', maximumRetries: 0 },
      tty: false,
      init: false,
    },
    host: {
      cpus: 2,
      memoryTotal: 4n << 30n,
      cgroupVersion: 2,
      committed: { containers: 0, memory: 0n, unlimitedMemory: 0, millicpus: 0n, unlimitedCpu: 0, pids: 0n },
      storageRoot: '/var/lib/box',
      runtimeRoot: '/run/box',
    },
    caller: { uid: 0, gid: 0 },
    args: [],
    boxVersion: BOX_VERSION,
  };
}
