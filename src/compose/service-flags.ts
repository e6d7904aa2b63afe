// A compose service as the flags of `box run`: each container of a project is created by the
// same code as `box run` (runtime/create.ts), from the same flags, so every value is checked the
// same way and the policies see the same request. What box cannot do yet is an error naming the
// service and the key, never dropped. `expose` is metadata only, as in Docker: nothing to do.
import { createHash } from 'node:crypto';
import { BoxError } from '../errors';
import type { ParsedFlags } from '../util/flag-table';
import { Condition, networksByPriority, PortSpec, Project, Service, VolumeMount } from './model';
import { shellJoin } from './shlex';

/** Docker Compose's labels, which tell a project's containers apart (and `docker compose` reads). */
export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  hash: 'com.docker.compose.config-hash',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  /** `SERVICE:CONDITION:RESTART,...` as Docker Compose writes it: what `box system boot` waits for */
  dependsOn: 'com.docker.compose.depends_on',
} as const;

/** The dependencies a container's depends_on label names, with their conditions. */
export function dependenciesOf(labels: Record<string, string>): { service: string; condition: Condition }[] {
  const text = labels[LABEL.dependsOn];
  if (!text) return [];
  return text.split(',').map((e) => {
    const [service, condition] = e.split(':');
    return { service, condition: condition as Condition };
  });
}

/** Container names as Docker Compose gives them: `<project>-<service>-<n>`, `<project>-<service>-run-<id>`. */
export function containerName(project: string, service: string, n: number): string {
  return `${project}-${service}-${n}`;
}

/**
 * The service's configuration hash: what a second `up` compares to decide whether a container
 * must be recreated. The number of replicas is not part of it (scaling keeps the containers).
 */
export function configHash(service: Service): string {
  const { scale: _, deploy, ...rest } = service;
  const kept = deploy ? { ...rest, deploy: { ...deploy, replicas: undefined } } : rest;
  return createHash('sha256').update(stableJson(kept)).digest('hex');
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v)
      .filter(([, e]) => e !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, e]) => `${JSON.stringify(k)}:${stableJson(e)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface ServiceRun {
  image: string;
  command: string[];
  /** `box run`'s flags by key (runtime/run-flags.ts) */
  flags: ParsedFlags;
}

/** A long-form port as `-p [HOST_IP:][PUBLISHED:]TARGET/PROTOCOL`. */
export function publishFlag(p: PortSpec): string {
  const host = p.host_ip?.includes(':') ? `[${p.host_ip}]` : p.host_ip;
  const published = p.published ?? (host ? '' : undefined);
  return [host, published, `${p.target}/${p.protocol}`].filter((x) => x !== undefined).join(':');
}

/**
 * A long-form volume as box's `-v` (a short-syntax bind, whose missing source is made, as
 * Docker Compose does) or `--mount` (everything else); a named volume by its project name.
 */
function mountFlag(project: Project, v: VolumeMount): string {
  const ro = v.read_only ? ',readonly' : '';
  if (v.type === 'bind' && v.bind?.create_host_path) return `${v.source}:${v.target}${v.read_only ? ':ro' : ''}`;
  if (v.type === 'bind') return `type=bind,source=${v.source},target=${v.target}${ro}`;
  if (v.type === 'tmpfs') return `type=tmpfs,target=${v.target}${v.tmpfs?.size ? `,tmpfs-size=${v.tmpfs.size}` : ''}`;
  const source = v.source ? `source=${project.volumes[v.source].name},` : '';
  return `type=volume,${source}target=${v.target}${ro}${v.volume?.nocopy ? ',volume-nocopy' : ''}`;
}

/** What box cannot do for a service yet, with the key to name. */
function unsupported(name: string, key: string, why = 'is not supported by box yet'): never {
  throw new BoxError(`service "${name}": ${key} ${why}: remove it`);
}

/** The `box run` flags of one container of a service (number n, or a one-off `run`). */
export function serviceRun(project: Project, name: string, n: number, oneoff = false): ServiceRun {
  const s = project.services[name];
  const flags: Record<string, string | boolean | string[]> = {};
  const list = (key: string, values: string[]) => {
    if (values.length) flags[key] = [...((flags[key] as string[] | undefined) ?? []), ...values];
  };
  const set = (key: string, v: string | number | boolean | undefined) => {
    if (v !== undefined) flags[key] = typeof v === 'number' ? String(v) : v;
  };
  if (!s.image) unsupported(name, 'a service without image');
  for (const v of s.volumes ?? [])
    list(v.type === 'bind' && v.bind?.create_host_path ? 'volume' : 'mount', [mountFlag(project, v)]);
  list('tmpfs', s.tmpfs ?? []);
  for (const kind of ['secrets', 'configs'] as const) {
    for (const r of s[kind] ?? []) {
      const file = project[kind][r.source].file;
      if (!file) unsupported(name, `${kind.slice(0, -1)} "${r.source}"`, 'is not from a file, which box needs');
      list('mount', [`type=bind,source=${file},target=${r.target},readonly`]);
    }
  }
  if (s.network_mode && !['none', 'host', 'bridge'].includes(s.network_mode))
    unsupported(name, `network_mode "${s.network_mode}"`, 'is not supported (box has none, host and bridge)');
  const [first, ...others] = networksByPriority(s);
  if (s.network_mode) set('network', s.network_mode);
  else if (first) {
    // the first network at creation (what `box run --network` takes); the others are connected before the start
    const [key, endpoint] = first;
    set('network', project.networks[key].name);
    list('networkAlias', oneoff ? [] : [name, ...(endpoint?.aliases ?? [])]);
    set('ip', endpoint?.ipv4_address);
    set('macAddress', endpoint?.mac_address);
  }
  // box sets a MAC address at creation only (`box network connect` takes none)
  for (const [key, endpoint] of others)
    if (endpoint?.mac_address) unsupported(name, `networks.${key}.mac_address`, 'is for the first network only');
  const endpointMac = first?.[1]?.mac_address;
  if (s.mac_address && endpointMac && s.mac_address !== endpointMac)
    unsupported(name, 'mac_address', `differs from networks.${first[0]}.mac_address`);
  // a one-off container publishes nothing (its service's ports are the service's), as docker compose run
  if (!oneoff) list('publish', (s.ports ?? []).map(publishFlag));
  list('dns', s.dns ?? []);
  list('dnsSearch', s.dns_search ?? []);
  list('dnsOption', s.dns_opt ?? []);
  set('macAddress', s.mac_address); // the same as its first network's, if that has one
  list(
    'addHost',
    (s.extra_hosts ?? []).map((h) => h.replace('=', ':')),
  );

  set('name', s.container_name ?? (oneoff ? undefined : containerName(project.name, name, n)));
  list(
    'env',
    Object.entries(s.environment ?? {}).map(([k, v]) => `${k}=${v}`),
  );
  const labels: Record<string, string> = {
    ...s.labels,
    [LABEL.project]: project.name,
    [LABEL.service]: name,
    [LABEL.number]: String(n),
    [LABEL.oneoff]: oneoff ? 'True' : 'False',
    [LABEL.hash]: configHash(s),
    [LABEL.workingDir]: project.workingDir,
    [LABEL.configFiles]: project.files.join(','),
  };
  const deps = Object.entries(s.depends_on ?? {}).map(([d, c]) => `${d}:${c.condition}:${c.restart === true}`);
  if (deps.length) labels[LABEL.dependsOn] = deps.join(',');
  list(
    'label',
    Object.entries(labels).map(([k, v]) => `${k}=${v}`),
  );

  let command = s.command ?? [];
  if (s.entrypoint) {
    set('entrypoint', s.entrypoint[0] ?? '');
    command = [...s.entrypoint.slice(1), ...command];
  }
  set('user', s.user);
  set('workdir', s.working_dir);
  set('hostname', s.hostname);
  set('stopSignal', s.stop_signal);
  set('restart', s.restart === 'no' ? undefined : s.restart);
  set('init', s.init);
  set('readOnly', s.read_only);
  set('privileged', s.privileged);
  set('tty', s.tty);
  set('interactive', s.stdin_open);
  list('capAdd', s.cap_add ?? []);
  list('capDrop', s.cap_drop ?? []);
  list('securityOpt', s.security_opt ?? []);
  list(
    'ulimit',
    Object.entries(s.ulimits ?? {}).map(([k, u]) => `${k}=${u.soft}:${u.hard}`),
  );

  const limits = s.deploy?.resources?.limits;
  const reservations = s.deploy?.resources?.reservations;
  if (reservations?.cpus) unsupported(name, 'deploy.resources.reservations.cpus');
  set('memory', s.mem_limit ?? limits?.memory);
  set('memorySwap', s.memswap_limit);
  set('memoryReservation', s.mem_reservation ?? reservations?.memory);
  set('cpus', s.cpus ?? limits?.cpus);
  set('cpuShares', s.cpu_shares);
  set('cpuQuota', s.cpu_quota);
  set('cpuPeriod', s.cpu_period);
  set('cpusetCpus', s.cpuset);
  set('pidsLimit', s.pids_limit ?? limits?.pids);

  const h = s.healthcheck;
  if (h?.disable || h?.test?.[0] === 'NONE') flags.noHealthcheck = true;
  else if (h) {
    const [kind, ...rest] = h.test ?? [];
    if (kind === 'CMD') set('healthCmd', shellJoin(rest));
    else if (kind === 'CMD-SHELL') set('healthCmd', rest.join(' '));
    else if (kind !== undefined)
      throw new BoxError(`service "${name}": healthcheck.test must start with CMD, CMD-SHELL or NONE`);
    set('healthInterval', h.interval);
    set('healthTimeout', h.timeout);
    set('healthRetries', h.retries);
    set('healthStartPeriod', h.start_period);
    set('healthStartInterval', h.start_interval);
  }

  const log = s.logging;
  if (log?.driver && log.driver !== 'json-file' && log.driver !== 'local')
    unsupported(name, `logging driver "${log.driver}"`, 'is not supported (box writes json-file logs)');
  list(
    'logOpt',
    Object.entries(log?.options ?? {}).map(([k, v]) => `${k}=${v}`),
  );
  const pull = s.pull_policy === 'if_not_present' ? 'missing' : s.pull_policy;
  if (pull === 'build') unsupported(name, 'pull_policy "build"');
  set('pull', pull);
  return { image: s.image, command, flags };
}
