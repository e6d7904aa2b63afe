// config.json (runtime-spec 1.0-1.3) into box's terms: real clients' documents are read whole,
// every field box cannot honour is refused naming the field, and the plan holds what was asked.
import { describe, expect, it } from 'vitest';
import { hugepageSizeName } from '../../../src/linux/hugepages';
import { parseOciConfig } from '../../../src/oci/config';
import { buildOciSpec } from '../../../src/oci/plan';
import { ociSecurity } from '../../../src/oci/security';
import { decodeSpec } from '../../../src/runtime/spec';
import { containerdCriSpec, Doc, runcSpecDefault } from './examples';

const parse = (doc: unknown) => parseOciConfig(JSON.stringify(doc));
const refusal = (doc: unknown) => {
  try {
    parse(doc);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};
const bit = (n: number) => 1n << BigInt(n);

describe('config.json', () => {
  it("reads runc spec's default bundle", () => {
    const c = parse(runcSpecDefault());
    expect(c.process.args).toEqual(['sh']);
    expect(c.process.caps.bounding).toBe(bit(29) | bit(5) | bit(10));
    expect(c.process.caps.inheritable).toBe(0n);
    // runc's example lists ambient capabilities the kernel cannot raise without inheritable ones
    expect(c.process.caps.ambient).toBe(0n);
    expect(c.warnings).toEqual([
      'process.capabilities.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE not raised (not both permitted and inheritable)',
    ]);
    expect(c.process.rlimits).toEqual([{ name: 'nofile', soft: 1024, hard: 1024 }]);
    expect(c.root).toEqual({ path: 'rootfs', readonly: true });
    expect([...c.namespaces].sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    expect(c.mounts[1]).toMatchObject({ destination: '/dev', flags: 2 | (1 << 24), data: 'mode=755,size=65536k' });
    expect(c.mounts[5]).toMatchObject({ type: 'sysfs', flags: 2 | 4 | 8 | 1 });
    expect(c.allDevices).toBe(false);
  });

  it("reads containerd's CRI spec: limits, cgroup path, seccomp, sysctl, annotations", () => {
    const c = parse(containerdCriSpec());
    expect(c.limits).toEqual({
      memory: 268435456,
      memorySwap: 268435456,
      cpuShares: 512,
      cpuQuota: 50000,
      cpuPeriod: 100000,
      pidsLimit: 100,
    });
    expect(c.cgroupsPath).toBe('kubepods/burstable/podabc/abc');
    expect(c.process.user.additionalGids).toEqual([0, 10]);
    expect(c.process.oomScoreAdj).toBe(1000);
    expect(c.annotations['io.kubernetes.cri.image-name']).toBe('docker.io/library/nginx:1.25');
    expect(c.mounts[7]).toMatchObject({ bind: true, flags: 4096 | 16384, propagation: (1 << 18) | 16384 });
    const sec = ociSecurity(c);
    expect(sec.seccomp!.length % 8).toBe(0);
    expect(sec.seccomp!.length).toBeGreaterThan(8);
  });

  it.each([
    ['ociVersion', (d: Doc) => (d.ociVersion = '2.0.0'), 'ociVersion: 2.0.0 is not supported'],
    ['an unknown field', (d: Doc) => (d.process.frobnicate = 1), 'process.frobnicate: unknown field'],
    ['a Windows field', (d: Doc) => (d.windows = { layerFolders: ['x'] }), 'windows: is for other operating systems'],
    [
      'a hook inside the container with a relative path',
      (d: Doc) => (d.hooks = { createContainer: [{ path: 'true' }] }),
      'hooks.createContainer[0].path: must be an absolute path',
    ],
    [
      'a console size out of range',
      (d: Doc) => (d.process.consoleSize = { height: 70000, width: 80 }),
      'process.consoleSize.height',
    ],
    [
      'apparmor',
      (d: Doc) => (d.process.apparmorProfile = 'p'),
      'process.apparmorProfile: needs a Linux security module',
    ],
    ['a capability', (d: Doc) => (d.process.capabilities.bounding = ['CAP_FLY']), 'process.capabilities.bounding[0]'],
    ['an rlimit', (d: Doc) => (d.process.rlimits[0].type = 'RLIMIT_NOPE'), 'process.rlimits[0].type'],
    ['a umask', (d: Doc) => (d.process.user.umask = 0o077), 'process.user.umask'],
    [
      'a user namespace',
      (d: Doc) => d.linux.namespaces.push({ type: 'user' }),
      'linux.namespaces[6]: box runs as root',
    ],
    [
      'a mount namespace path',
      (d: Doc) => (d.linux.namespaces[4].path = '/proc/1/ns/mnt'),
      'linux.namespaces[4].path: box-runc can join existing network, ipc, uts, pid namespaces only',
    ],
    ['no mount namespace', (d: Doc) => d.linux.namespaces.splice(4, 1), 'linux.namespaces: box-runc needs a new mount'],
    ['blockIO weight', (d: Doc) => (d.linux.resources.blockIO = { weight: 10 }), 'linux.resources.blockIO.weight'],
    [
      'a unified key that is a path',
      (d: Doc) => (d.linux.resources.unified = { '../memory.max': '1' }),
      'linux.resources.unified.../memory.max: is not the name of a cgroup v2 file',
    ],
    [
      'a blockIO throttle without its device',
      (d: Doc) => (d.linux.resources.blockIO = { throttleReadBpsDevice: [{ rate: 10 }] }),
      'linux.resources.blockIO.throttleReadBpsDevice[0]: needs major and minor',
    ],
    ['swappiness', (d: Doc) => (d.linux.resources.memory = { swappiness: 10 }), 'linux.resources.memory.swappiness'],
    [
      'an extra device',
      (d: Doc) => d.linux.resources.devices.push({ allow: true, type: 'b', major: 8, minor: 0, access: 'rw' }),
      'linux.resources.devices[1]: b 8:0 rw is outside',
    ],
    [
      'systemd cgroups',
      (d: Doc) => (d.linux.cgroupsPath = 'system.slice:box:abc'),
      "linux.cgroupsPath: system.slice:box:abc is systemd's form",
    ],
    ['a cgroup path escaping', (d: Doc) => (d.linux.cgroupsPath = '/a/../..'), 'linux.cgroupsPath'],
    ['personality', (d: Doc) => (d.linux.personality = { domain: 'LINUX32' }), 'linux.personality'],
    [
      'a seccomp agent',
      (d: Doc) => (d.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s' }),
      'linux.seccomp.listenerPath',
    ],
    [
      'an id-mapped mount',
      (d: Doc) => (d.mounts[0].uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]),
      'mounts[0].uidMappings',
    ],
    [
      'a recursive read-only mount',
      (d: Doc) => (d.mounts[0].options = ['rro']),
      'mounts[0].options[0]: rro: recursive',
    ],
    ['a relative cwd', (d: Doc) => (d.process.cwd = 'tmp'), 'process.cwd: must be an absolute path'],
    ['no args', (d: Doc) => (d.process.args = []), 'process.args: missing'],
    ['a hostname without uts', (d: Doc) => d.linux.namespaces.splice(3, 1), 'hostname: needs a new uts namespace'],
  ])('refuses %s naming the field', (_what, change, message) => {
    const doc = runcSpecDefault();
    change(doc);
    expect(refusal(doc)).toContain(`config.json: ${message}`);
  });

  it('takes empty refused fields as absent (clients write them out empty)', () => {
    const doc = runcSpecDefault();
    doc.process.apparmorProfile = '';
    doc.linux.mountLabel = '';
    doc.hooks = { prestart: [] };
    doc.linux.resources.blockIO = { weight: 0, weightDevice: [], throttleReadBpsDevice: null }; // as dockerd writes it
    expect(refusal(doc)).toBe('accepted');
  });

  it("reads kubelet's hugepageLimits: one entry per page size, uint64's max as no limit", () => {
    const doc = runcSpecDefault();
    doc.linux.resources.hugepageLimits = [
      { pageSize: '2MB', limit: 0 },
      { pageSize: '1GB', limit: 2 ** 64 },
    ];
    expect(parse(doc).limits.hugetlb).toEqual({ '2MB': 0, '1GB': -1 });
    doc.linux.resources.hugepageLimits[1].pageSize = '2 MB';
    expect(refusal(doc)).toContain('config.json: linux.resources.hugepageLimits[1].pageSize: "2 MB" is no page size');
    doc.linux.resources.hugepageLimits[1].pageSize = '2MB';
    expect(refusal(doc)).toContain('config.json: linux.resources.hugepageLimits[1]: a second limit for 2MB pages');
  });

  it('reads the blockIO throttles into one entry per device', () => {
    const doc = runcSpecDefault();
    doc.linux.resources.blockIO = {
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 100 }],
      throttleWriteIOPSDevice: [
        { major: 8, minor: 0, rate: 5 },
        { major: 8, minor: 16, rate: 0 },
      ],
    };
    expect(parse(doc).limits.ioThrottle).toEqual([
      { major: 8, minor: 0, readBps: 100, writeIops: 5 },
      { major: 8, minor: 16, writeIops: 0 },
    ]);
  });

  it('names huge page sizes as the hugetlb controller does', () => {
    expect([64, 2048, 32768, 1048576, 16777216].map(hugepageSizeName)).toEqual(['64KB', '2MB', '32MB', '1GB', '16GB']);
  });

  it('reads the hooks it runs itself', () => {
    const doc = runcSpecDefault();
    doc.hooks = { prestart: [{ path: '/usr/bin/netns-setup', args: ['netns-setup', 'up'], timeout: 5 }] };
    expect(parse(doc).hooks).toEqual({
      prestart: [{ path: '/usr/bin/netns-setup', args: ['netns-setup', 'up'], env: [], timeout: 5 }],
    });
    doc.hooks.poststop = [{ path: 'relative' }];
    expect(refusal(doc)).toContain('config.json: hooks.poststop[0].path: must be an absolute path');
  });

  it("takes dockerd's denial of a device box's allowlist does not open, saying the node may be created", () => {
    const doc = runcSpecDefault();
    doc.linux.resources.devices.push({ allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' });
    expect(parse(doc).warnings).toContain(
      'linux.resources.devices[1]: c 10:229 rwm may still be created (mknod), as box lets any node be; it cannot be opened',
    );
    doc.linux.resources.devices[1].minor = 200; // /dev/net/tun, which the allowlist opens
    expect(refusal(doc)).toContain(
      "linux.resources.devices[1]: denies c 10:200 rwm, which box's device allowlist opens",
    );
  });

  it('takes a 1.3 bundle and RLIM_INFINITY', () => {
    const doc = runcSpecDefault();
    doc.ociVersion = '1.3.0';
    doc.process.rlimits = [{ type: 'RLIMIT_CORE', hard: 1, soft: 0 }];
    const text = JSON.stringify(doc).replace('"hard":1,', '"hard":18446744073709551615,');
    expect(parseOciConfig(text).process.rlimits).toEqual([{ name: 'core', soft: 0, hard: -1 }]);
  });
});

describe('the plan of a bundle', () => {
  const state = {
    ociVersion: '1.2.0',
    id: 'x',
    status: 'creating',
    pid: 0,
    bundle: '/b',
    annotations: { a: '"pid":0' },
  };
  const hookState = { creating: state, created: { ...state, status: 'created' } };
  const plan = (doc: Doc) => {
    const config = parse(doc);
    const cgroup = {
      helperWrites: [],
      selfWrites: ['/sys/fs/cgroup/pids/box-runc/x/tasks'],
      mounts: [
        { source: 'tmpfs', target: '/sys/fs/cgroup', fstype: 'tmpfs', data: 'mode=755', readOnly: false },
        { source: 'cgroup', target: '/sys/fs/cgroup/pids', fstype: 'cgroup', data: 'pids', readOnly: true },
      ],
      remountTop: true,
    };
    return decodeSpec(
      buildOciSpec({ config, bundle: '/b', cgroup, security: ociSecurity(config), hookState }).encode(),
    );
  };

  it('has the init run createContainer hooks before pivot and startContainer hooks last, the state cut at its pid', () => {
    const doc = runcSpecDefault();
    doc.hooks = {
      createContainer: [{ path: '/usr/bin/ldconfig', timeout: 5 }],
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'true'], env: ['A=1'] }],
    };
    const recs = plan(doc);
    const names = recs.map((r) => r[0]);
    expect(names.indexOf('hook')).toBe(names.indexOf('pivot') - 1);
    expect(names.at(-1)).toBe('start-hook');
    const [, label, timeout, head, tail, nargs, ...rest] = recs[names.indexOf('hook')];
    expect([label, timeout, nargs, rest]).toEqual([
      'createContainer[0]',
      '5',
      '1',
      ['/usr/bin/ldconfig', '/usr/bin/ldconfig'],
    ]);
    expect(JSON.parse(`${head}1${tail}`)).toEqual({ ...state, pid: 1 });
    const start = recs[names.indexOf('start-hook')];
    expect(JSON.parse(`${start[3]}7${start[4]}`)).toMatchObject({ status: 'created', pid: 7 });
    expect(start.slice(5)).toEqual(['3', '/bin/sh', 'sh', '-c', 'true', 'A=1']);
  });

  it('sizes the pty as process.consoleSize says, and only a terminal, only a size with no zero in it', () => {
    const doc = runcSpecDefault();
    doc.process.terminal = true;
    doc.process.consoleSize = { height: 40, width: 120 };
    expect(plan(doc).find((r) => r[0] === 'tty-size')).toEqual(['tty-size', '40', '120']);
    doc.process.consoleSize.width = 0;
    expect(plan(doc).find((r) => r[0] === 'tty-size')).toBeUndefined();
    doc.process.consoleSize.width = 120;
    doc.process.terminal = false;
    expect(plan(doc).find((r) => r[0] === 'tty-size')).toBeUndefined();
  });

  it("follows the config's order and adds only the standard /dev nodes", () => {
    const recs = plan(runcSpecDefault());
    const names = recs.map((r) => r[0]);
    expect(recs[0]).toEqual(['clone', String(0x00020000 | 0x20000000 | 0x04000000 | 0x08000000 | 0x40000000)]);
    expect(names).toContain('cgroupns');
    expect(recs.find((r) => r[0] === 'rootfs')).toEqual([
      'rootfs',
      '/b/rootfs',
      '',
      String(4096 | 16384),
      '',
      '/b/rootfs',
    ]);
    const mounts = recs.filter((r) => r[0] === 'mount').map((r) => r[2]);
    expect(mounts).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
      '/sys/fs/cgroup/pids',
    ]);
    // the cgroup file system comes after the init joined its cgroup
    expect(names.indexOf('await-cgroups')).toBe(names.lastIndexOf('mount') - 2);
    expect(recs.filter((r) => r[0] === 'mknod').map((r) => r[1])).toContain('/dev/null');
    expect(names.slice(names.indexOf('pivot'))).toEqual([
      'pivot',
      ...Array(10).fill('mask'),
      ...Array(5).fill('readonly'),
      'remount',
      'remount',
      'rlimit',
      'no-new-privs',
      'user',
      'groups',
      'caps',
      'cwd',
      'env',
      'args',
    ]);
    expect(recs.at(-4)).toEqual(['caps', ...Array(3).fill(String(bit(29) | bit(5) | bit(10))), '0', '0']);
  });

  it("joins a network namespace by path (a CNI plugin's), and mounts sysfs in it", () => {
    const doc = runcSpecDefault();
    doc.linux.namespaces[1].path = '/var/run/netns/cni-1';
    const recs = plan(doc);
    expect(recs.find((r) => r[0] === 'setns')).toEqual(['setns', 'net', '/var/run/netns/cni-1']);
    expect(Number(recs[0][1]) & 0x40000000).toBe(0); // no new network namespace
    expect(recs.find((r) => r[0] === 'mount' && r[2] === '/sys')?.[3]).toBe('sysfs');
  });

  it('binds sysfs when the container shares the host network, and resolves bind sources in the bundle', () => {
    const doc = containerdCriSpec();
    doc.linux.namespaces = doc.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    doc.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['bind', 'ro'] });
    const recs = plan(doc);
    expect(recs.find((r) => r[0] === 'mount' && r[2] === '/sys')).toEqual([
      'mount',
      '/sys',
      '/sys',
      '',
      String(4096 | 16384 | 15),
      '',
    ]);
    expect(recs.find((r) => r[0] === 'mount' && r[2] === '/data')).toEqual([
      'mount',
      '/b/data',
      '/data',
      '',
      String(4096 | 1),
      '',
    ]);
    expect(recs.find((r) => r[0] === 'oom-score-adj')).toEqual(['oom-score-adj', '1000']);
    expect(recs.filter((r) => r[0] === 'seccomp')).toHaveLength(1);
    expect(recs.find((r) => r[0] === 'sysctl')).toEqual(['sysctl', 'net.ipv4.ip_unprivileged_port_start', '0']);
  });
});
