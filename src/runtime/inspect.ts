// `box inspect`: a container as Docker-shaped JSON, for tools and people used to docker inspect.
import { capsToNames, resolveCapabilities } from '../linux/capabilities';
import { ContainerStore } from './containers';
import { isPaused } from './freezer';
import { healthForInspect } from './health';
import { ContainerRecord } from '../model';
import { logFile } from './monitor-state';
import { configVolumes, hostConfigMounts, inspectMounts } from '../volume/inspect';
import { endpointSettings } from '../network/manage';

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Docker's port maps: "80/tcp" -> [{HostIp, HostPort}], HostPort a string as Docker's JSON has it. */
function portMap(ports: Array<{ containerPort: number; protocol: string; hostIp: string; hostPort: number | string }>) {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    out[key] = [...(out[key] ?? []), { HostIp: p.hostIp, HostPort: String(p.hostPort) }];
  }
  return out;
}

const NO_ENDPOINT = {
  IPAMConfig: null,
  Links: null,
  Aliases: null,
  MacAddress: '',
  NetworkID: '',
  EndpointID: '',
  Gateway: '',
  IPAddress: '',
  IPPrefixLen: 0,
  IPv6Gateway: '',
  GlobalIPv6Address: '',
  GlobalIPv6PrefixLen: 0,
  DriverOpts: null,
};

/**
 * Docker's NetworkSettings: one entry per network (its address while the container runs, from
 * IPAM), and the first network's address at the top, as Docker's default bridge shows it.
 */
function networkSettings(c: ContainerRecord, store: ContainerStore): Record<string, unknown> {
  const Networks: Record<string, object> = {};
  const endpoints = c.config.networks ?? [];
  if (!endpoints.length) Networks[c.config.network] = NO_ENDPOINT;
  for (const e of endpoints) {
    const live = c.state.status === 'running' ? endpointSettings(store.roots, e, c.id) : undefined;
    Networks[e.name] = {
      ...NO_ENDPOINT,
      IPAMConfig: e.ip ? { IPv4Address: e.ip } : null,
      Aliases: e.aliases.length ? e.aliases : null,
      MacAddress: live?.mac ?? e.mac ?? '',
      NetworkID: e.networkId,
      EndpointID: live?.endpointId ?? '',
      Gateway: live?.gateway ?? '',
      IPAddress: live?.address ?? '',
      IPPrefixLen: live?.prefixLength ?? 0,
    };
  }
  const first = Object.values(Networks)[0] as typeof NO_ENDPOINT;
  return {
    Bridge: '',
    SandboxKey: c.state.status === 'running' && c.state.pid ? `/proc/${c.state.pid}/ns/net` : '',
    Ports: c.state.status === 'running' ? portMap(c.config.ports ?? []) : {},
    Gateway: first.Gateway,
    IPAddress: first.IPAddress,
    IPPrefixLen: first.IPPrefixLen,
    MacAddress: first.MacAddress,
    Networks,
  };
}

export function inspectContainer(c: ContainerRecord, store: ContainerStore): Record<string, unknown> {
  const health = healthForInspect(c, store.roots);
  const cfg = c.config;
  const st = c.state;
  const l = cfg.limits;
  const paused = isPaused(c);
  return {
    Id: c.id,
    Created: c.created,
    Path: cfg.args[0],
    Args: cfg.args.slice(1),
    State: {
      // Docker's: a frozen container is "paused", one waiting out its restart back-off "restarting"
      Status: st.restarting ? 'restarting' : paused ? 'paused' : st.status,
      Running: st.status === 'running',
      Paused: paused,
      Restarting: st.restarting ?? false,
      OOMKilled: st.oomKilled ?? false,
      Dead: st.status === 'dead',
      Pid: st.status === 'running' ? (st.pid ?? 0) : 0,
      ExitCode: st.exitCode ?? 0,
      Error: st.error ?? '',
      StartedAt: st.startedAt ?? ZERO_TIME,
      FinishedAt: st.finishedAt ?? ZERO_TIME,
      ...(health ? { Health: health } : {}),
    },
    Image: cfg.image.id,
    LogPath: logFile(store.dir(c.id)),
    Name: `/${c.name}`,
    RestartCount: st.restartCount ?? 0,
    // box's own: the admission policies that decided on this container, in order
    Policies: (c.admittedBy ?? []).map((p) => ({
      Name: p.name,
      Source: p.source,
      Digest: `sha256:${p.sha256}`,
      Mode: p.mode,
      Decision: p.decision,
      Applied: p.applied,
      Warnings: p.warnings,
    })),
    NetworkSettings: networkSettings(c, store),
    HostConfig: {
      NetworkMode: cfg.network,
      Dns: cfg.dns?.servers ?? [],
      DnsSearch: cfg.dns?.search ?? [],
      DnsOptions: cfg.dns?.options ?? [],
      ExtraHosts: cfg.extraHosts ?? null,
      PortBindings: portMap(cfg.portBindings ?? []),
      RestartPolicy: { Name: cfg.restart?.name ?? 'no', MaximumRetryCount: cfg.restart?.maxRetries ?? 0 },
      AutoRemove: c.autoRemove,
      Privileged: cfg.privileged,
      ReadonlyRootfs: cfg.readOnly,
      Init: cfg.init,
      CapAdd: cfg.capAdd,
      CapDrop: cfg.capDrop,
      SecurityOpt: [
        cfg.noNewPrivileges ? 'no-new-privileges' : undefined,
        cfg.seccomp !== 'default' ? `seccomp=${cfg.seccomp}` : undefined,
      ].filter(Boolean),
      Memory: l.memory ?? 0,
      MemorySwap: l.memorySwap ?? 0,
      MemoryReservation: l.memoryReservation ?? 0,
      NanoCpus: l.cpuQuota && l.cpuPeriod === 100000 ? l.cpuQuota * 10000 : 0,
      CpuShares: l.cpuShares ?? 0,
      CpuPeriod: l.cpuPeriod ?? 0,
      CpuQuota: l.cpuQuota ?? 0,
      CpusetCpus: l.cpusetCpus ?? '',
      PidsLimit: l.pidsLimit ?? null,
      Ulimits: cfg.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      ...hostConfigMounts(cfg.mounts),
    },
    Config: {
      Hostname: cfg.hostname,
      User: cfg.user.spec,
      Env: cfg.env,
      Cmd: cfg.cmd,
      Entrypoint: cfg.entrypoint.length ? cfg.entrypoint : null,
      Image: cfg.image.ref,
      WorkingDir: cfg.workingDir,
      // from the image: box has no --expose yet (Docker omits an empty ExposedPorts); Volumes adds -v /path
      ExposedPorts: cfg.image.config?.ExposedPorts,
      Volumes: configVolumes(cfg.image.config?.Volumes, cfg.mounts),
      // the image's labels with --label over them, resolved at create (run-options.ts)
      Labels: cfg.labels,
      Tty: cfg.tty,
      OpenStdin: cfg.openStdin,
      StopSignal: cfg.stopSignal ?? 'SIGTERM',
    },
    EffectiveCaps: capsToNames(
      resolveCapabilities({ privileged: cfg.privileged, capAdd: cfg.capAdd, capDrop: cfg.capDrop }),
    ),
    Mounts: inspectMounts(store.roots, cfg.mounts),
  };
}
