// What a container is attached to, read from its record in one place: its networks, the ports it
// exposes and publishes, its mounts. `ps --filter`, `ps --format` and prune read these and nothing
// else, so when records learn networks, published ports and volumes (issues 10 and 11) these
// functions are the only place that reads them.
import { ContainerRecord } from '../model';
import { mountFacts } from '../volume/inspect';

export interface PortFact {
  /** the container's port */
  port: number;
  protocol: string;
  /** where a published port listens on the host */
  hostIp?: string;
  hostPort?: number;
}

export interface MountFact {
  /** a named or anonymous volume's name; absent for a bind mount or tmpfs */
  name?: string;
  source: string;
  destination: string;
}

/** The networks a container is on, by name (`none` and `host` are Docker's names too). */
export function networksOf(c: ContainerRecord): string[] {
  const bridges = (c.config.networks ?? []).map((n) => n.name);
  return bridges.length ? bridges : [c.config.network];
}

function parsePortKey(key: string): PortFact | undefined {
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
  return m ? { port: Number(m[1]), protocol: m[2] ?? 'tcp' } : undefined;
}

/** The ports it exposes: the image's EXPOSE (ExposedPorts, "80/tcp" keys). */
export function exposedPortsOf(c: ContainerRecord): PortFact[] {
  return Object.keys(c.config.image.config?.ExposedPorts ?? {}).flatMap((k) => parsePortKey(k) ?? []);
}

/** The container ports it publishes on the host (-p, -P), as chosen when it was created. */
export function publishedPortsOf(c: ContainerRecord): PortFact[] {
  return (c.config.ports ?? []).map((p) => ({
    port: p.containerPort,
    protocol: p.protocol,
    hostIp: p.hostIp,
    hostPort: p.hostPort,
  }));
}

/** Its mounts: volumes (by name), binds and tmpfs. */
export function mountsOf(c: ContainerRecord): MountFact[] {
  return mountFacts(c.config.mounts);
}
