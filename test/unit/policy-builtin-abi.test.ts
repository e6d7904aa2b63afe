// policies/builtin/policy.h is the canonical ABI layout of box:policy@0.2.0: a C policy written
// against it reads back every field of a request (as jco's bindings lay it out) and returns a
// verdict with every patch field set, which box reads back exactly. The built-ins read only some
// fields; this covers the rest, for authors of policies in C. Both ways box calls a policy hold
// to it: jco's glue, and the core module called directly (admission-abi.ts), as for the built-ins.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildComponent } from '../../build/policies.mjs';
import { Policy } from '../../src/policy/engine';
import { loadPolicy } from '../../src/policy/load';
import type { PolicyRequest } from '../../src/policy/types';

const BUILTIN = path.join(__dirname, '..', '..', 'policies', 'builtin');

// Prints every request field as `path=value`; lists as `path[i]=value`; options as the value or
// `none`; enums and variant tags as their index.
const ECHO_C = `
#include "policy.h"

static strlist out;
static void s(const char *k, str v) { say(&out, "%c=%s", k, v); }
static void u(const char *k, uint64_t v) { say(&out, "%c=%u", k, v); }
static void d(const char *k, int64_t v) { say(&out, "%c=%d", k, v); }
static void strs(const char *k, box_list_string l) {
	for (uint32_t i = 0; i < l.len; i++) say(&out, "%c[%u]=%s", k, (uint64_t)i, l.ptr[i]);
}
static void pairs(const char *k, box_list_pair l) {
	for (uint32_t i = 0; i < l.len; i++) say(&out, "%c[%u]=%s:%s", k, (uint64_t)i, l.ptr[i].key, l.ptr[i].value);
}
static void ostr(const char *k, box_option_string o) { if (o.is_some) s(k, o.val); else say(&out, "%c=none", k); }
static void ou(const char *k, box_option_u64 o) { if (o.is_some) u(k, o.val); else say(&out, "%c=none", k); }
static void od(const char *k, box_option_s64 o) { if (o.is_some) d(k, o.val); else say(&out, "%c=none", k); }
static void ns(const char *k, box_namespace_mode m) { if (m.tag == BOX_NS_CONTAINER) say(&out, "%c=%u:%s", k, (uint64_t)m.tag, m.val); else u(k, m.tag); }

void policy_describe(box_info *info)
{
	static box_argument a[2];
	a[0] = (box_argument){ str_c("first"), str_c("one") };
	a[1] = (box_argument){ str_c("second"), str_c("two") };
	*info = (box_info){ str_c("echo"), str_c("1.2.3"), str_c("echoes its request"), { a, 2 } };
}

void policy_evaluate(const box_request *req, box_verdict *v)
{
	out = (strlist){ 0 };
	const box_container *c = &req->container;
	s("name", c->name);
	s("hostname", c->hostname);
	s("image.reference", c->image.reference);
	s("image.id", c->image.id);
	ostr("image.digest", c->image.digest);
	pairs("image.labels", c->image.labels);
	strs("image.env", c->image.env);
	strs("image.entrypoint", c->image.entrypoint);
	strs("image.cmd", c->image.cmd);
	s("image.user", c->image.user);
	s("image.workingDir", c->image.working_dir);
	strs("image.exposedPorts", c->image.exposed_ports);
	strs("args", c->args);
	strs("entrypoint", c->entrypoint);
	strs("cmd", c->cmd);
	s("user.spec", c->user.spec);
	u("user.uid", c->user.uid);
	u("user.gid", c->user.gid);
	for (uint32_t i = 0; i < c->user.additional_gids.len; i++) say(&out, "user.additionalGids[%u]=%u", (uint64_t)i, (uint64_t)c->user.additional_gids.ptr[i]);
	s("workingDir", c->working_dir);
	strs("env", c->env);
	pairs("labels", c->labels);
	for (uint32_t i = 0; i < c->mounts.len; i++) {
		const box_mount *m = &c->mounts.ptr[i];
		say(&out, "mounts[%u]=%u %s %s %u", (uint64_t)i, (uint64_t)m->kind, m->source, m->destination, (uint64_t)m->read_only);
		if (m->propagation.is_some) say(&out, "mounts[%u].propagation=%u", (uint64_t)i, (uint64_t)m->propagation.val);
		strs("mounts.options", m->options);
	}
	const box_resources *r = &c->resources;
	ou("memory", r->memory);
	od("memorySwap", r->memory_swap);
	ou("memoryReservation", r->memory_reservation);
	od("cpuQuota", r->cpu_quota);
	ou("cpuPeriod", r->cpu_period);
	ou("cpuShares", r->cpu_shares);
	ostr("cpusetCpus", r->cpuset_cpus);
	ostr("cpusetMems", r->cpuset_mems);
	od("pidsLimit", r->pids_limit);
	for (uint32_t i = 0; i < r->ulimits.len; i++)
		say(&out, "ulimits[%u]=%s %d %d", (uint64_t)i, r->ulimits.ptr[i].name, r->ulimits.ptr[i].soft,
		    r->ulimits.ptr[i].hard);
	u("privileged", c->security.privileged);
	strs("capabilities", c->security.capabilities);
	s("seccompProfile", c->security.seccomp_profile);
	u("noNewPrivileges", c->security.no_new_privileges);
	u("readOnlyRootfs", c->security.read_only_rootfs);
	ns("pid", c->namespaces.pid);
	ns("ipc", c->namespaces.ipc);
	ns("uts", c->namespaces.uts);
	ns("user", c->namespaces.user);
	ns("cgroup", c->namespaces.cgroup);
	if (c->network.mode.tag >= BOX_NET_BRIDGE) say(&out, "network=%u:%s", (uint64_t)c->network.mode.tag, c->network.mode.val);
	else u("network", c->network.mode.tag);
	for (uint32_t i = 0; i < c->network.networks.len; i++) {
		const box_endpoint *e = &c->network.networks.ptr[i];
		say(&out, "networks[%u]=%s %s %u", (uint64_t)i, e->name, e->driver, (uint64_t)e->internal);
		ostr("networks.ipv4", e->ipv4_address);
		ostr("networks.ipv6", e->ipv6_address);
		ostr("networks.mac", e->mac_address);
		strs("networks.aliases", e->aliases);
	}
	for (uint32_t i = 0; i < c->network.published_ports.len; i++) {
		const box_port_mapping *p = &c->network.published_ports.ptr[i];
		say(&out, "ports[%u]=%s %u %u %u", (uint64_t)i, p->host_ip, (uint64_t)p->host_port, (uint64_t)p->container_port, (uint64_t)p->protocol);
	}
	strs("dns.servers", c->network.dns.servers);
	strs("dns.search", c->network.dns.search);
	strs("dns.options", c->network.dns.options);
	strs("extraHosts", c->network.extra_hosts);
	u("restart.condition", c->restart.condition);
	u("restart.maximumRetries", c->restart.maximum_retries);
	u("tty", c->tty);
	u("init", c->init);
	const box_host *h = &req->host;
	u("host.cpus", h->cpus);
	u("host.memoryTotal", h->memory_total);
	u("host.cgroupVersion", h->cgroup_version);
	u("committed.containers", h->committed.containers);
	u("committed.memory", h->committed.memory);
	u("committed.unlimitedMemory", h->committed.unlimited_memory);
	u("committed.millicpus", h->committed.millicpus);
	u("committed.unlimitedCpu", h->committed.unlimited_cpu);
	u("committed.pids", h->committed.pids);
	s("host.storageRoot", h->storage_root);
	s("host.runtimeRoot", h->runtime_root);
	u("caller.uid", req->caller.uid);
	u("caller.gid", req->caller.gid);
	pairs("args", req->args);
	s("boxVersion", req->box_version);

	static box_string reasons[2];
	reasons[0] = str_c("first reason");
	reasons[1] = str_c("second reason");
	v->decision = BOX_DENY;
	v->reasons = (box_list_string){ reasons, 2 };
	v->warnings = list_done(&out);
	v->patch.is_some = 1;
	box_patch *p = &v->patch.val;
	p->limits.is_some = 1;
	p->limits.val = (box_limits_patch){ { 1, UINT64_MAX }, { 1, -2 }, { 1, 3 }, { 1, INT64_MIN }, { 1, 5 }, { 1, 6 }, { 1, str_c("0-3") }, { 1, -7 }, r->ulimits };
	p->drop_capabilities = c->security.capabilities;
	p->read_only_mounts = c->image.exposed_ports;
	p->read_only_rootfs = true;
	p->no_new_privileges = false;
	p->add_env = c->labels;
	p->add_labels = c->image.labels;
	p->network = (box_option_network_restriction){ 1, BOX_RESTRICT_UNPUBLISH_PORTS };
}
`;

let tmp: string;
const loaded: Partial<Record<'jco' | 'direct', Policy>> = {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-abi-'));
  const src = path.join(tmp, 'echo.c');
  fs.writeFileSync(src, ECHO_C);
  const out = path.join(tmp, 'echo.wasm');
  await buildComponent({ sources: [path.join(BUILTIN, 'lib.c'), path.join(BUILTIN, 'jsnum.c'), src], out });
  // The probe reports every field as a warning: more than box keeps of a verdict by default.
  const messages = { count: 1000, chars: 1024, totalChars: 1 << 20 };
  const opts = { cacheDir: path.join(tmp, 'cache'), name: 'echo', limits: { messages } };
  loaded.jco = await loadPolicy({ path: out }, opts);
  loaded.direct = await loadPolicy({ path: out }, { ...opts, direct: true });
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const MAX_U64 = 2n ** 64n - 1n;
const MIN_S64 = -(2n ** 63n);

/** Every field set, to values that differ from their neighbours and reach the types' limits. */
function fullRequest(): PolicyRequest {
  return {
    container: {
      name: 'échø',
      hostname: 'host-1',
      image: {
        reference: 'quay.io/x/y:1',
        id: 'sha256:abc',
        digest: 'sha256:def',
        labels: [
          ['l1', 'v1'],
          ['l2', ''],
        ],
        env: ['A=1', 'B=2'],
        entrypoint: ['/bin/sh', '-c'],
        cmd: ['echo hi'],
        user: 'nobody',
        workingDir: '/w',
        exposedPorts: ['80/tcp', '53/udp'],
      },
      args: ['/bin/sh', '-c', 'echo hi'],
      entrypoint: ['/bin/sh'],
      cmd: ['-c', 'echo hi'],
      user: { spec: '1000:1001', uid: 4294967295, gid: 1001, additionalGids: [7, 4294967294] },
      workingDir: '/work',
      env: ['PATH=/bin', 'Z=🦀'],
      labels: [
        ['k', 'v'],
        ['k2', 'v2'],
      ],
      mounts: [
        {
          kind: 'image',
          source: 'img',
          destination: '/i',
          readOnly: true,
          propagation: 'rslave',
          options: ['nosuid', 'nodev'],
        },
        { kind: 'tmpfs', source: '', destination: '/t', readOnly: false, options: [] },
        { kind: 'volume', source: 'vol', destination: '/v', readOnly: true, propagation: 'private', options: ['ro'] },
      ],
      resources: {
        memory: MAX_U64,
        memorySwap: -1n,
        memoryReservation: 12345n,
        cpuQuota: MIN_S64,
        cpuPeriod: 100000n,
        cpuShares: undefined,
        cpusetCpus: '0-1',
        cpusetMems: undefined,
        pidsLimit: 2n ** 63n - 1n,
        ulimits: [
          { name: 'nofile', soft: 1024n, hard: -1n },
          { name: 'core', soft: MIN_S64, hard: 0n },
        ],
      },
      security: {
        privileged: true,
        capabilities: ['CHOWN', 'NET_RAW'],
        seccompProfile: 'unconfined',
        noNewPrivileges: true,
        readOnlyRootfs: false,
      },
      namespaces: {
        pid: { tag: 'host' },
        ipc: { tag: 'container', val: 'other' },
        uts: { tag: 'private' },
        user: { tag: 'container', val: 'u' },
        cgroup: { tag: 'host' },
      },
      network: {
        mode: { tag: 'namespace', val: '/proc/1/ns/net' },
        networks: [
          {
            name: 'br0',
            driver: 'bridge',
            internal: true,
            ipv4Address: '10.1.2.3',
            ipv6Address: undefined,
            macAddress: '02:42:ac:11:00:02',
            aliases: ['db', 'sql'],
          },
          { name: 'app', driver: 'd', internal: false, ipv6Address: 'fd00::7', aliases: [] },
        ],
        publishedPorts: [
          { hostIp: '127.0.0.1', hostPort: 65535, containerPort: 80, protocol: 'sctp' },
          { hostIp: '', hostPort: 0, containerPort: 65534, protocol: 'udp' },
        ],
        dns: { servers: ['192.0.2.53', '::1'], search: ['example.com'], options: ['ndots:2', 'edns0'] },
        extraHosts: ['gw:192.0.2.1'],
      },
      restart: { condition: 'unless-stopped', maximumRetries: 4294967295 },
      tty: true,
      init: false,
    },
    host: {
      cpus: 64,
      memoryTotal: MAX_U64 - 1n,
      cgroupVersion: 255,
      committed: {
        containers: 4294967295,
        memory: 2n ** 40n,
        unlimitedMemory: 3,
        millicpus: MAX_U64,
        unlimitedCpu: 4,
        pids: 99n,
      },
      storageRoot: '/var/lib/box',
      runtimeRoot: '/run/box',
    },
    caller: { uid: 1234, gid: 4294967295 },
    args: [
      ['k', 'v'],
      ['k', 'w=x'],
    ],
    boxVersion: '9.9.9-test',
  };
}

describe.each(['jco', 'direct'] as const)('through %s', (way) => {
  it('describe: the info record', () => {
    const policy = loaded[way] as Policy;
    expect(policy.describe()).toEqual({
      name: 'echo',
      version: '1.2.3',
      description: 'echoes its request',
      arguments: [
        { name: 'first', description: 'one' },
        { name: 'second', description: 'two' },
      ],
    });
  });

  it('evaluate: every request field read where policy.h says, every verdict field written where box reads it', () => {
    const req = fullRequest();
    const e = (loaded[way] as Policy).evaluate(req);
    expect(e.failure).toBeUndefined();
    const c = req.container;
    const r = c.resources;
    const list = (k: string, l: string[]) => l.map((v, i) => `${k}[${i}]=${v}`);
    const pairs = (k: string, l: Array<[string, string]>) => l.map(([a, b], i) => `${k}[${i}]=${a}:${b}`);
    const opt = (k: string, v: unknown) => `${k}=${v === undefined ? 'none' : String(v)}`;
    const b = (v: boolean) => (v ? 1 : 0);
    const kinds = ['bind', 'volume', 'tmpfs', 'image'];
    const props = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
    const nsTags = ['private', 'host', 'container'];
    const netTags = ['none', 'host', 'bridge', 'container', 'namespace'];
    const ns = (k: string, m: PolicyRequest['container']['namespaces']['pid']) =>
      m.tag === 'container' ? `${k}=2:${m.val}` : `${k}=${nsTags.indexOf(m.tag)}`;
    expect(e.verdict.warnings).toEqual([
      `name=${c.name}`,
      `hostname=${c.hostname}`,
      `image.reference=${c.image.reference}`,
      `image.id=${c.image.id}`,
      opt('image.digest', c.image.digest),
      ...pairs('image.labels', c.image.labels),
      ...list('image.env', c.image.env),
      ...list('image.entrypoint', c.image.entrypoint),
      ...list('image.cmd', c.image.cmd),
      `image.user=${c.image.user}`,
      `image.workingDir=${c.image.workingDir}`,
      ...list('image.exposedPorts', c.image.exposedPorts),
      ...list('args', c.args),
      ...list('entrypoint', c.entrypoint),
      ...list('cmd', c.cmd),
      `user.spec=${c.user.spec}`,
      `user.uid=${c.user.uid}`,
      `user.gid=${c.user.gid}`,
      ...c.user.additionalGids.map((g, i) => `user.additionalGids[${i}]=${g}`),
      `workingDir=${c.workingDir}`,
      ...list('env', c.env),
      ...pairs('labels', c.labels),
      ...c.mounts.flatMap((m, i) => [
        `mounts[${i}]=${kinds.indexOf(m.kind)} ${m.source} ${m.destination} ${b(m.readOnly)}`,
        ...(m.propagation ? [`mounts[${i}].propagation=${props.indexOf(m.propagation)}`] : []),
        ...list('mounts.options', m.options),
      ]),
      opt('memory', r.memory),
      opt('memorySwap', r.memorySwap),
      opt('memoryReservation', r.memoryReservation),
      opt('cpuQuota', r.cpuQuota),
      opt('cpuPeriod', r.cpuPeriod),
      opt('cpuShares', r.cpuShares),
      opt('cpusetCpus', r.cpusetCpus),
      opt('cpusetMems', r.cpusetMems),
      opt('pidsLimit', r.pidsLimit),
      ...r.ulimits.map((u, i) => `ulimits[${i}]=${u.name} ${u.soft} ${u.hard}`),
      `privileged=${b(c.security.privileged)}`,
      ...list('capabilities', c.security.capabilities),
      `seccompProfile=${c.security.seccompProfile}`,
      `noNewPrivileges=${b(c.security.noNewPrivileges)}`,
      `readOnlyRootfs=${b(c.security.readOnlyRootfs)}`,
      ns('pid', c.namespaces.pid),
      ns('ipc', c.namespaces.ipc),
      ns('uts', c.namespaces.uts),
      ns('user', c.namespaces.user),
      ns('cgroup', c.namespaces.cgroup),
      'val' in c.network.mode
        ? `network=${netTags.indexOf(c.network.mode.tag)}:${c.network.mode.val}`
        : `network=${netTags.indexOf(c.network.mode.tag)}`,
      ...c.network.networks.flatMap((n, i) => [
        `networks[${i}]=${n.name} ${n.driver} ${b(n.internal)}`,
        opt('networks.ipv4', n.ipv4Address),
        opt('networks.ipv6', n.ipv6Address),
        opt('networks.mac', n.macAddress),
        ...list('networks.aliases', n.aliases),
      ]),
      ...c.network.publishedPorts.map(
        (p, i) =>
          `ports[${i}]=${p.hostIp} ${p.hostPort} ${p.containerPort} ${['tcp', 'udp', 'sctp'].indexOf(p.protocol)}`,
      ),
      ...list('dns.servers', c.network.dns.servers),
      ...list('dns.search', c.network.dns.search),
      ...list('dns.options', c.network.dns.options),
      ...list('extraHosts', c.network.extraHosts),
      `restart.condition=${['no', 'always', 'on-failure', 'unless-stopped'].indexOf(c.restart.condition)}`,
      `restart.maximumRetries=${c.restart.maximumRetries}`,
      `tty=${b(c.tty)}`,
      `init=${b(c.init)}`,
      `host.cpus=${req.host.cpus}`,
      `host.memoryTotal=${req.host.memoryTotal}`,
      `host.cgroupVersion=${req.host.cgroupVersion}`,
      ...Object.entries(req.host.committed).map(([k, v]) => `committed.${k}=${v}`),
      `host.storageRoot=${req.host.storageRoot}`,
      `host.runtimeRoot=${req.host.runtimeRoot}`,
      `caller.uid=${req.caller.uid}`,
      `caller.gid=${req.caller.gid}`,
      ...pairs('args', req.args),
      `boxVersion=${req.boxVersion}`,
    ]);
    expect(e.verdict.decision).toBe('deny');
    expect(e.verdict.reasons).toEqual(['first reason', 'second reason']);
    expect(e.verdict.patch).toEqual({
      limits: {
        memory: MAX_U64,
        memorySwap: -2n,
        memoryReservation: 3n,
        cpuQuota: MIN_S64,
        cpuPeriod: 5n,
        cpuShares: 6n,
        cpusetCpus: '0-3',
        pidsLimit: -7n,
        ulimits: r.ulimits,
      },
      dropCapabilities: c.security.capabilities,
      readOnlyMounts: c.image.exposedPorts,
      readOnlyRootfs: true,
      noNewPrivileges: false,
      addEnv: c.labels,
      addLabels: c.image.labels,
      network: 'unpublish-ports',
    });
  });
});
