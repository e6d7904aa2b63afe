// One compose file's keys checked and turned into their long forms, before files are merged (the
// specification merges the expanded forms): `environment` and `labels` lists become mappings,
// short `ports`, `volumes`, `depends_on`, `networks`, `secrets` and `configs` become their long
// syntax, a string `command` becomes its words. A key box does not know, or knows but does not
// support, is an error naming the file, its line, the key and the service.
import * as path from 'node:path';
import { BoxError } from '../errors';
import { isPlainObject } from './interpolate';
import { splitWords } from './shlex';
import { Override, Reset } from './tags';
import type { YamlFile } from './yaml-file';

type Obj = Record<string, unknown>;

/** Service keys of the compose specification that box takes. */
// biome-ignore format: a table
const SERVICE_KEYS = new Set([
  'image', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'expose', 'volumes', 'tmpfs',
  'networks', 'network_mode', 'depends_on', 'healthcheck', 'restart', 'deploy', 'scale', 'mem_limit',
  'mem_reservation', 'memswap_limit', 'cpus', 'cpu_shares', 'cpu_quota', 'cpu_period', 'cpuset', 'pids_limit',
  'user', 'working_dir', 'hostname', 'container_name', 'labels', 'stop_signal', 'stop_grace_period', 'init',
  'read_only', 'cap_add', 'cap_drop', 'privileged', 'security_opt', 'ulimits', 'logging', 'extra_hosts', 'dns',
  'secrets', 'configs', 'profiles', 'extends', 'tty', 'stdin_open', 'pull_policy', 'mac_address', 'dns_search',
  'dns_opt',
]);

/** Service keys of the specification that box does not support (yet): an error, never ignored. */
// biome-ignore format: a table
const UNSUPPORTED_SERVICE_KEYS = new Set([
  'build', 'devices', 'links', 'external_links', 'gpus', 'ipc', 'pid', 'userns_mode', 'volumes_from', 'sysctls',
  'shm_size', 'cgroup_parent', 'cgroup', 'isolation', 'runtime', 'storage_opt', 'domainname', 'group_add',
  'oom_score_adj', 'oom_kill_disable', 'annotations', 'attach',
  'blkio_config', 'cpu_count', 'cpu_percent', 'cpu_rt_runtime', 'cpu_rt_period', 'credential_spec',
  'device_cgroup_rules', 'develop', 'post_start', 'pre_stop', 'uts', 'label_file', 'models', 'provider',
  'use_api_socket', 'volumes_driver', 'mem_swappiness', 'platform', 'driver_opts', 'stop_timeout',
]);

/** Why IPv6 keys are refused: box's bridge networks (src/network) have IPv4 subnets and addresses only. */
const NO_IPV6 = "IPv6 is not supported by box's networks";

const TOP_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include']);

/** `[HOST_IP:][PUBLISHED[-END]:]TARGET[-END][/PROTOCOL]`; an IPv6 host address in brackets. */
const PORT_SHORT = new RegExp(
  String.raw`^(?:(?:\[([0-9a-fA-F:.]+)\]|(\d+\.\d+\.\d+\.\d+)):)?` +
    String.raw`(?:(\d*)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$`,
);

/** Checks a file's values and shapes them; the result is ready to merge (merge.ts). */
export class Shaper {
  constructor(
    private readonly file: YamlFile,
    /** the directory relative paths are resolved from (the project's) */
    private readonly baseDir: string,
    private readonly warn: (msg: string) => void,
  ) {}

  fail(keyPath: string, why: string): never {
    const line = this.file.lineOf(keyPath);
    throw new BoxError(`${this.file.name}${line ? `:${line}` : ''}: ${keyPath}: ${why}`);
  }

  /** The whole file shaped: top-level keys checked, services and resources in long form. */
  top(value: Obj): Obj {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('x-')) continue; // extensions: anchors' home, not part of the model
      if (!TOP_KEYS.has(k)) this.fail(k, `unknown top-level key (compose files have ${[...TOP_KEYS].join(', ')})`);
      if (k === 'version') {
        this.warn(`${this.file.name}: the top-level "version" is obsolete and ignored`);
        continue;
      }
      if (k === 'name' || k === 'include') out[k] = v;
      else if (k === 'services') out[k] = this.mapOf(v, k, (s, p) => this.service(s, p));
      else out[k] = this.mapOf(v, k, (r, p) => this.resource(k, r, p));
    }
    return out;
  }

  private mapOf(v: unknown, p: string, each: (v: unknown, p: string) => unknown): unknown {
    if (v instanceof Reset) return v;
    if (v === null || v === undefined) return {};
    if (!isPlainObject(v)) this.fail(p, 'expected a mapping');
    const out: Obj = {};
    for (const [name, e] of Object.entries(v)) out[name] = each(e, `${p}.${name}`);
    return out;
  }

  private resource(kind: string, v: unknown, p: string): unknown {
    if (v === null || v === undefined) return {};
    if (v instanceof Reset || v instanceof Override) return v;
    if (!isPlainObject(v)) this.fail(p, 'expected a mapping');
    const allowed: Record<string, string[]> = {
      networks: [
        'name',
        'external',
        'internal',
        'driver',
        'driver_opts',
        'ipam',
        'labels',
        'attachable',
        'enable_ipv6',
      ],
      volumes: ['name', 'external', 'driver', 'driver_opts', 'labels'],
      secrets: ['name', 'file', 'environment', 'external'],
      configs: ['name', 'file', 'environment', 'external', 'content'],
    };
    for (const k of Object.keys(v)) {
      if (k.startsWith('x-')) continue;
      if (!allowed[kind].includes(k))
        this.fail(`${p}.${k}`, `unknown key (a ${kind.slice(0, -1)} takes ${allowed[kind].join(', ')})`);
    }
    if (kind === 'networks' && v.enable_ipv6 !== undefined && this.bool(v.enable_ipv6, `${p}.enable_ipv6`))
      this.fail(`${p}.enable_ipv6`, `${NO_IPV6}: remove it or set it to false`);
    const out: Obj = { ...v };
    if ('labels' in v) out.labels = this.keyValues(v.labels, `${p}.labels`, false);
    if (typeof v.file === 'string') out.file = path.resolve(this.baseDir, v.file);
    if ('external' in v) out.external = this.bool(v.external, `${p}.external`);
    for (const k of ['internal', 'attachable', 'enable_ipv6'])
      if (kind === 'networks' && k in v) out[k] = this.bool(v[k], `${p}.${k}`);
    return out;
  }

  private service(v: unknown, p: string): unknown {
    if (v instanceof Reset || v instanceof Override) return v;
    if (v === null || v === undefined) return {};
    if (!isPlainObject(v)) this.fail(p, 'expected a mapping of service keys');
    const name = p.slice('services.'.length);
    const out: Obj = {};
    for (const [k, val] of Object.entries(v)) {
      const kp = `${p}.${k}`;
      if (k.startsWith('x-')) continue;
      if (UNSUPPORTED_SERVICE_KEYS.has(k))
        this.fail(kp, `service "${name}": "${k}" is not supported by box: remove it`);
      if (!SERVICE_KEYS.has(k)) this.fail(kp, `service "${name}": unknown key "${k}"`);
      if (val instanceof Reset) out[k] = val;
      else if (val instanceof Override) out[k] = new Override(this.serviceKey(k, val.value, kp));
      else out[k] = this.serviceKey(k, val, kp);
    }
    return out;
  }

  private serviceKey(k: string, v: unknown, p: string): unknown {
    switch (k) {
      case 'command':
      case 'entrypoint':
        if (v === null) return null;
        if (typeof v === 'string') return splitWords(v, p);
        return this.strList(v, p);
      case 'environment':
        return this.keyValues(v, p, true);
      case 'labels':
        return this.keyValues(v, p, false);
      case 'env_file':
        return (typeof v === 'string' ? [v] : this.list(v, p)).map((e, i) => {
          if (typeof e === 'string') return { path: path.resolve(this.baseDir, e), required: true };
          if (!isPlainObject(e) || typeof e.path !== 'string')
            this.fail(`${p}[${i}]`, 'expected a path or {path, required}');
          return {
            path: path.resolve(this.baseDir, e.path),
            required: e.required === undefined ? true : this.bool(e.required, p),
          };
        });
      case 'ports':
        return this.list(v, p).flatMap((e) => this.port(e, p));
      case 'expose':
        return this.list(v, p).map((e) => this.scalarString(e, p));
      case 'volumes':
        return this.list(v, p).map((e) => this.volume(e, p));
      case 'tmpfs':
      case 'dns':
      case 'dns_search':
      case 'dns_opt':
      case 'cap_add':
      case 'cap_drop':
      case 'security_opt':
      case 'profiles':
        return typeof v === 'string' ? [v] : this.strList(v, p);
      case 'extra_hosts':
        if (isPlainObject(v)) return Object.entries(v).map(([h, ip]) => `${h}=${this.scalarString(ip, p)}`);
        return this.strList(v, p).map((e) => e.replace(/^([^:=]+):/, '$1='));
      case 'networks':
        return this.networks(v, p);
      case 'depends_on':
        return this.dependsOn(v, p);
      case 'healthcheck':
        return this.healthcheck(v, p);
      case 'deploy':
        return this.deploy(v, p);
      case 'ulimits':
        return this.ulimits(v, p);
      case 'logging':
        if (!isPlainObject(v)) this.fail(p, 'expected {driver, options}');
        return {
          ...v,
          options: v.options === undefined ? undefined : this.keyValues(v.options, `${p}.options`, false),
        };
      case 'secrets':
      case 'configs':
        return this.list(v, p).map((e) => {
          const long: Obj =
            typeof e === 'string'
              ? { source: e }
              : isPlainObject(e)
                ? { ...e }
                : this.fail(p, 'expected a name or {source, target}');
          if (typeof long.source !== 'string') this.fail(p, 'each entry needs a source');
          long.target ??= k === 'secrets' ? `/run/secrets/${long.source}` : `/${long.source}`;
          return long;
        });
      case 'extends':
        if (typeof v === 'string') return { service: v };
        if (!isPlainObject(v) || typeof v.service !== 'string')
          this.fail(p, 'expected a service name or {service, file}');
        return { ...v };
      case 'init':
      case 'read_only':
      case 'privileged':
      case 'tty':
      case 'stdin_open':
        return this.bool(v, p);
      case 'scale':
      case 'pids_limit':
      case 'cpu_shares':
      case 'cpu_quota':
      case 'cpu_period':
        return this.int(v, p);
      default:
        return this.scalarString(v, p);
    }
  }

  private list(v: unknown, p: string): unknown[] {
    if (!Array.isArray(v)) this.fail(p, 'expected a list');
    return v;
  }

  private strList(v: unknown, p: string): string[] {
    return this.list(v, p).map((e) => this.scalarString(e, p));
  }

  private scalarString(v: unknown, p: string): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return this.fail(p, 'expected a string');
  }

  private bool(v: unknown, p: string): boolean {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    return this.fail(p, 'expected true or false');
  }

  private int(v: unknown, p: string): number {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) this.fail(p, 'expected a whole number');
    return n;
  }

  /** `[K=V, K]` or `{K: V}` as a mapping; with `nullable` a bare K (environment) stays null. */
  private keyValues(v: unknown, p: string, nullable: boolean): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    if (Array.isArray(v)) {
      for (const e of v) {
        const s = this.scalarString(e, p);
        const eq = s.indexOf('=');
        if (eq === 0) this.fail(p, `invalid entry "${s}": expected NAME=VALUE`);
        if (eq > 0) out[s.slice(0, eq)] = s.slice(eq + 1);
        else out[s] = nullable ? null : '';
      }
    } else if (isPlainObject(v)) {
      for (const [k, e] of Object.entries(v)) {
        out[k] = e === null || e === undefined ? (nullable ? null : '') : this.scalarString(e, `${p}.${k}`);
      }
    } else if (v !== null && v !== undefined) this.fail(p, 'expected a list of NAME=VALUE or a mapping');
    return out;
  }

  /** `[HOST_IP:][PUBLISHED[-END]:]TARGET[-END][/PROTOCOL]` or the long syntax, as long entries. */
  private port(e: unknown, p: string): Obj[] {
    if (isPlainObject(e)) {
      if (e.target === undefined) this.fail(p, 'a port needs a target');
      const out: Obj = { mode: 'ingress', ...e, target: this.int(e.target, p), protocol: e.protocol ?? 'tcp' };
      if (e.published !== undefined) out.published = this.scalarString(e.published, p);
      return [out];
    }
    const s = this.scalarString(e, p);
    const m = PORT_SHORT.exec(s);
    if (!m) this.fail(p, `invalid port "${s}": expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`);
    const [, ip6, ip4, pub, pubEnd, target, targetEnd, protocol] = m;
    const first = Number(target);
    const count = targetEnd ? Number(targetEnd) - first + 1 : 1;
    if (count < 1 || (pubEnd && pub && Number(pubEnd) - Number(pub) + 1 !== count && count > 1))
      this.fail(p, `invalid port range "${s}"`);
    const out: Obj[] = [];
    for (let i = 0; i < count; i++) {
      const entry: Obj = { mode: 'ingress', target: first + i, protocol: protocol ?? 'tcp' };
      if (ip6 ?? ip4) entry.host_ip = ip6 ?? ip4;
      if (pub) entry.published = count > 1 || !pubEnd ? String(Number(pub) + i) : `${pub}-${pubEnd}`;
      out.push(entry);
    }
    return out;
  }

  /** `SOURCE:TARGET[:MODE]`, `TARGET`, or the long syntax, as a long entry. */
  private volume(e: unknown, p: string): Obj {
    if (isPlainObject(e)) {
      if (typeof e.target !== 'string') this.fail(p, 'a volume needs a target');
      if (!['volume', 'bind', 'tmpfs'].includes(String(e.type)))
        this.fail(p, `volume type "${e.type}" is not supported: use volume, bind or tmpfs`);
      const out: Obj = { ...e };
      if (e.type === 'bind' && typeof e.source === 'string') out.source = this.hostPath(e.source);
      return out;
    }
    const s = this.scalarString(e, p);
    const parts = s.split(':');
    if (parts.length === 1) return { type: 'volume', target: s };
    if (parts.length > 3) this.fail(p, `invalid volume "${s}": expected SOURCE:TARGET[:MODE]`);
    const [source, target, mode] = parts;
    const bind = /^[./~]/.test(source);
    const out: Obj = { type: bind ? 'bind' : 'volume', source: bind ? this.hostPath(source) : source, target };
    const modes = mode ? mode.split(',') : [];
    for (const m of modes)
      if (!['ro', 'rw', 'z', 'Z'].includes(m)) this.fail(p, `invalid volume mode "${m}": use ro or rw`);
    if (modes.includes('ro')) out.read_only = true;
    if (bind) out.bind = { create_host_path: true };
    return out;
  }

  private hostPath(source: string): string {
    if (source === '~' || source.startsWith('~/')) return path.join(process.env.HOME ?? '/root', source.slice(1));
    return path.resolve(this.baseDir, source);
  }

  /** A service's `networks`: a list of names or a mapping of endpoints (aliases, ipv4_address, ...). */
  private networks(v: unknown, p: string): Obj {
    const service = p.slice('services.'.length, -'.networks'.length);
    if (Array.isArray(v)) return Object.fromEntries(this.strList(v, p).map((n) => [n, null]));
    if (!isPlainObject(v)) this.fail(p, 'expected a list of networks or a mapping');
    const out: Obj = {};
    for (const [n, e] of Object.entries(v)) {
      if (e === null || e === undefined) out[n] = null;
      else if (!isPlainObject(e)) this.fail(`${p}.${n}`, 'expected a mapping (aliases, ipv4_address)');
      else {
        for (const k of Object.keys(e)) {
          if (k === 'ipv6_address')
            this.fail(`${p}.${n}.${k}`, `service "${service}": ${NO_IPV6}: remove it (box gives IPv4 addresses only)`);
          if (!['aliases', 'ipv4_address', 'mac_address', 'priority'].includes(k))
            this.fail(`${p}.${n}.${k}`, 'unknown key');
        }
        out[n] = {
          ...e,
          ...(e.aliases === undefined ? {} : { aliases: this.strList(e.aliases, `${p}.${n}.aliases`) }),
          ...(e.priority === undefined ? {} : { priority: this.int(e.priority, `${p}.${n}.priority`) }),
        };
      }
    }
    return out;
  }

  private dependsOn(v: unknown, p: string): Obj {
    const out: Obj = {};
    if (Array.isArray(v)) {
      for (const s of this.strList(v, p)) out[s] = { condition: 'service_started', required: true };
      return out;
    }
    if (!isPlainObject(v)) this.fail(p, 'expected a list of services or a mapping');
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [s, e] of Object.entries(v)) {
      const ep = `${p}.${s}`;
      const d = e === null ? {} : isPlainObject(e) ? e : this.fail(ep, 'expected {condition, required, restart}');
      for (const k of Object.keys(d))
        if (!['condition', 'required', 'restart'].includes(k)) this.fail(`${ep}.${k}`, 'unknown key');
      const condition = d.condition ?? 'service_started';
      if (!conditions.includes(String(condition)))
        this.fail(`${ep}.condition`, `expected one of ${conditions.join(', ')}`);
      const entry: Obj = { condition, required: d.required === undefined ? true : this.bool(d.required, ep) };
      if (d.restart !== undefined) entry.restart = this.bool(d.restart, ep);
      out[s] = entry;
    }
    return out;
  }

  private healthcheck(v: unknown, p: string): Obj {
    if (!isPlainObject(v)) this.fail(p, 'expected a mapping');
    const keys = ['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'];
    for (const k of Object.keys(v))
      if (!keys.includes(k)) this.fail(`${p}.${k}`, `unknown key (a healthcheck takes ${keys.join(', ')})`);
    const out: Obj = { ...v };
    if (typeof v.test === 'string') out.test = ['CMD-SHELL', v.test];
    else if (v.test !== undefined) out.test = this.strList(v.test, `${p}.test`);
    if (v.retries !== undefined) out.retries = this.int(v.retries, `${p}.retries`);
    if (v.disable !== undefined) out.disable = this.bool(v.disable, `${p}.disable`);
    for (const k of ['interval', 'timeout', 'start_period', 'start_interval'])
      if (v[k] !== undefined) out[k] = this.scalarString(v[k], `${p}.${k}`);
    return out;
  }

  private deploy(v: unknown, p: string): Obj {
    if (!isPlainObject(v)) this.fail(p, 'expected a mapping');
    for (const k of Object.keys(v))
      if (!['replicas', 'resources'].includes(k))
        this.fail(`${p}.${k}`, `"deploy.${k}" is not supported by box: remove it`);
    const out: Obj = {};
    if (v.replicas !== undefined) out.replicas = this.int(v.replicas, `${p}.replicas`);
    if (v.resources !== undefined) {
      const r = isPlainObject(v.resources) ? v.resources : this.fail(`${p}.resources`, 'expected a mapping');
      const res: Obj = {};
      for (const [k, e] of Object.entries(r)) {
        const kp = `${p}.resources.${k}`;
        if (k !== 'limits' && k !== 'reservations') this.fail(kp, 'expected limits or reservations');
        const m = isPlainObject(e) ? e : this.fail(kp, 'expected a mapping');
        const keys = k === 'limits' ? ['cpus', 'memory', 'pids'] : ['cpus', 'memory'];
        for (const q of Object.keys(m))
          if (!keys.includes(q)) this.fail(`${kp}.${q}`, `"${q}" is not supported by box: remove it`);
        res[k] = Object.fromEntries(
          Object.entries(m).map(([q, x]) => [q, q === 'pids' ? this.int(x, kp) : this.scalarString(x, kp)]),
        );
      }
      out.resources = res;
    }
    return out;
  }

  private ulimits(v: unknown, p: string): Obj {
    if (!isPlainObject(v)) this.fail(p, 'expected a mapping');
    const out: Obj = {};
    for (const [n, e] of Object.entries(v)) {
      if (isPlainObject(e)) out[n] = { soft: this.int(e.soft, `${p}.${n}`), hard: this.int(e.hard, `${p}.${n}`) };
      else {
        const x = this.int(e, `${p}.${n}`);
        out[n] = { soft: x, hard: x };
      }
    }
    return out;
  }
}
