import { describe, expect, it } from 'vitest';
import { containerCgroup } from '../../src/linux/cgroups';
import { buildSpec } from '../../src/runtime/plan';
import { CLONE, decodeSpec, HelperSpec, MS } from '../../src/runtime/spec';
import { ContainerConfig } from '../../src/model';

// Docker's lists (moby oci/defaults.go, DefaultLinuxSpec: MaskedPaths and ReadonlyPaths), written
// out here so that a change to box's own lists cannot pass unnoticed.
const DOCKER_MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const DOCKER_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

describe('helper spec', () => {
  it('encodes records as length-prefixed strings behind a versioned magic', () => {
    const buf = new HelperSpec()
      .op('args', 'echo', 'a\nb', '')
      .op('seccomp', Buffer.from([0, 1, 2]))
      .encode();
    expect(buf.subarray(0, 8).toString('latin1')).toBe('BOXSPEC\0');
    expect(buf.readUInt32LE(8)).toBe(2);
    expect(decodeSpec(buf)).toEqual([
      ['args', 'echo', 'a\nb', ''],
      ['seccomp', '\x00\x01\x02'],
    ]);
  });

  it('writes every field as its UTF-8 bytes (multi-byte text, surrogates, numbers, bigints, bytes)', () => {
    const fields: (string | number | bigint | Buffer)[] = [
      'é€',
      '\u{1F600}x',
      'a\uD800b',
      '',
      42,
      2n ** 63n,
      Buffer.from([255, 0]),
    ];
    const buf = new HelperSpec()
      .record('env', ...fields)
      .record('args', 'sh')
      .encode();
    const u32 = (n: number) => Buffer.from(Uint32Array.of(n).buffer);
    const bytes = (v: (typeof fields)[number]) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'));
    const record = (vs: (typeof fields)[number][]) => [
      u32(vs.length),
      ...vs.flatMap((v) => [u32(bytes(v).length), bytes(v)]),
    ];
    const expected = Buffer.concat([
      Buffer.from('BOXSPEC\0', 'latin1'),
      u32(2),
      ...record(['env', ...fields]),
      ...record(['args', 'sh']),
    ]);
    expect(buf.equals(expected)).toBe(true);
  });

  it('ops are typed from the op table, and a record below its minimum of arguments is refused', () => {
    const spec = new HelperSpec();
    // @ts-expect-error an op the helper does not know
    expect(() => spec.op('bogus')).toThrow();
    // @ts-expect-error mount takes five arguments
    expect(() => spec.op('mount', 'a', 'b')).toThrow('helper op mount: 2 arguments');
    const noCommand: string[] = [];
    expect(() => spec.op('args', ...noCommand)).toThrow('helper op args: 0 arguments');
    expect(spec.ops()).toEqual([]);
  });

  const config: ContainerConfig = {
    image: { ref: 'i', id: 'sha256:1' },
    layers: [],
    hostname: 'h',
    args: ['sh'],
    entrypoint: [],
    cmd: ['sh'],
    env: ['PATH=/bin'],
    workingDir: '/',
    user: { spec: '', uid: 0, gid: 0, additionalGids: [] },
    tty: false,
    openStdin: false,
    network: 'none',
    readOnly: false,
    init: false,
    privileged: false,
    capAdd: [],
    capDrop: [],
    noNewPrivileges: true,
    seccomp: 'default',
    ulimits: [{ name: 'nofile', soft: 10, hard: 20 }],
    limits: {},
    labels: {},
  };
  const input = {
    config,
    lowerDirs: ['/l2', '/l1'],
    upperDir: '/u',
    workDir: '/w',
    rootfsDir: '/r',
    etcFiles: { hostname: '/c/hostname', hosts: '/c/hosts', resolvConf: '/c/resolv.conf' },
    cgroup: containerCgroup({ version: 1, mounts: new Map([['memory', '/sys/fs/cgroup/memory']]) }, 'x').initCgroup(),
    security: {
      caps: { bounding: 5n, effective: 5n, permitted: 5n, inheritable: 0n, ambient: 0n },
      seccomp: Buffer.alloc(8),
    },
  };

  it('describes namespaces, the overlay root, the standard mounts, masks and the process', () => {
    const recs = decodeSpec(buildSpec(input).encode());
    const find = (op: string) => recs.filter((r) => r[0] === op);
    expect(Number(find('clone')[0][1])).toBe(CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET);
    expect(find('rootfs')[0]).toEqual([
      'rootfs',
      'overlay',
      'overlay',
      '0',
      'lowerdir=/l2:/l1,upperdir=/u,workdir=/w',
      '/r',
    ]);
    expect(find('mask').map((r) => r[1])).toEqual(DOCKER_MASKED_PATHS);
    expect(find('readonly').map((r) => r[1])).toEqual(DOCKER_READONLY_PATHS);
    expect(find('mount').map((r) => r[2])).toEqual(
      expect.arrayContaining(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/etc/hosts']),
    );
    expect(find('rlimit')[0]).toEqual(['rlimit', '7', '10', '20']);
    expect(find('loopback-up')).toHaveLength(1);
    const ops = recs.map((r) => r[0]);
    expect(ops.indexOf('pivot')).toBeLessThan(ops.indexOf('mask'));
    expect(ops.at(-1)).toBe('args');
    expect(ops).toContain('seccomp');
  });

  it('host networking: no network namespace, /sys bound from the host; privileged: no masks', () => {
    const recs = decodeSpec(buildSpec({ ...input, config: { ...config, network: 'host', privileged: true } }).encode());
    expect(Number(recs[0][1]) & CLONE.NEWNET).toBe(0);
    const sys = recs.find((r) => r[0] === 'mount' && r[2] === '/sys')!;
    expect(Number(sys[4]) & MS.BIND).toBe(MS.BIND);
    expect(recs.filter((r) => r[0] === 'mask')).toHaveLength(0);
    expect(recs.filter((r) => r[0] === 'loopback-up')).toHaveLength(0);
  });
});
