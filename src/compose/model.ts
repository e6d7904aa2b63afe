// The normalised compose model: what `box compose config` prints and the engine starts. Every
// field is in its long form (shape.ts), merged (merge.ts) and checked (project.ts).
import { parseDuration } from '../util/units';

export type Condition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface Dependency {
  condition: Condition;
  required: boolean;
  restart?: boolean;
}

export interface PortSpec {
  mode: string;
  target: number;
  published?: string;
  host_ip?: string;
  protocol: string;
}

export interface VolumeMount {
  type: 'volume' | 'bind' | 'tmpfs';
  source?: string;
  target: string;
  read_only?: boolean;
  bind?: { create_host_path?: boolean };
  volume?: { nocopy?: boolean };
  tmpfs?: { size?: string | number };
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  mac_address?: string;
  /** the order networks are joined in: the highest first (eth0, the default route); default 0 */
  priority?: number;
}

export interface Healthcheck {
  test?: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
  disable?: boolean;
}

export interface Service {
  image?: string;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string>;
  labels?: Record<string, string>;
  ports?: PortSpec[];
  expose?: string[];
  volumes?: VolumeMount[];
  tmpfs?: string[];
  /** joined in networksByPriority's order (an object's own key order puts names like "10" first) */
  networks?: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  depends_on?: Record<string, Dependency>;
  healthcheck?: Healthcheck;
  restart?: string;
  deploy?: {
    replicas?: number;
    resources?: {
      limits?: { cpus?: string; memory?: string; pids?: number };
      reservations?: { cpus?: string; memory?: string };
    };
  };
  scale?: number;
  mem_limit?: string;
  mem_reservation?: string;
  memswap_limit?: string;
  cpus?: string;
  cpu_shares?: number;
  cpu_quota?: number;
  cpu_period?: number;
  cpuset?: string;
  pids_limit?: number;
  user?: string;
  working_dir?: string;
  hostname?: string;
  container_name?: string;
  stop_signal?: string;
  stop_grace_period?: string;
  init?: boolean;
  read_only?: boolean;
  privileged?: boolean;
  tty?: boolean;
  stdin_open?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  ulimits?: Record<string, { soft: number; hard: number }>;
  logging?: { driver?: string; options?: Record<string, string> };
  extra_hosts?: string[];
  dns?: string[];
  dns_search?: string[];
  dns_opt?: string[];
  mac_address?: string;
  secrets?: { source: string; target: string }[];
  configs?: { source: string; target: string }[];
  profiles?: string[];
  pull_policy?: string;
}

export interface NetworkSpec {
  name: string;
  external?: boolean;
  internal?: boolean;
  /** recorded (network inspect's Attachable), as Docker does for a bridge network */
  attachable?: boolean;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: { driver?: string; config?: { subnet?: string; gateway?: string; ip_range?: string }[] };
  labels?: Record<string, string>;
}

export interface VolumeSpec {
  name: string;
  external?: boolean;
  driver?: string;
  driver_opts?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface FileResource {
  name: string;
  file?: string;
  environment?: string;
  external?: boolean;
  content?: string;
}

export interface Project {
  name: string;
  /** the project directory: relative paths were resolved from it */
  workingDir: string;
  /** the compose files, in merge order ("-" for stdin) */
  files: string[];
  services: Record<string, Service>;
  networks: Record<string, NetworkSpec>;
  volumes: Record<string, VolumeSpec>;
  secrets: Record<string, FileResource>;
  configs: Record<string, FileResource>;
  /** services the files define but whose profiles are inactive: theirs are no orphans */
  disabledServices: string[];
}

/** A service's stop_grace_period in whole seconds (default 10, as Docker's). */
export function stopGraceSeconds(project: Project, service: string): number {
  const g = project.services[service]?.stop_grace_period;
  return g === undefined ? 10 : Math.ceil(parseDuration(`stop_grace_period of ${service}`, g) / 1000);
}

/** How many containers a service runs: `scale`, else `deploy.replicas`, else one. */
export function replicasOf(s: Service): number {
  return s.scale ?? s.deploy?.replicas ?? 1;
}

/**
 * A service's networks in the order its container joins them, as Docker Compose's: the highest
 * `priority` first (its eth0 and default route), equal priorities by name, byte by byte (numeric
 * names too: "10" before "2").
 */
export function networksByPriority(s: Service): [string, ServiceNetwork | null][] {
  const byName = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return Object.entries(s.networks ?? {}).sort(
    ([a, x], [b, y]) => (y?.priority ?? 0) - (x?.priority ?? 0) || byName(a, b),
  );
}
