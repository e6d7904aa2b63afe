// Test-only specs for box-helper, encoded by box's own encoder (src/runtime/spec.ts), for
// native/test-helper.sh, which bundles this file with esbuild and runs it with node. Writes the
// binary spec to stdout (`--hex`: as hex text, for a nested `health-exec` spec).
//
//   --json '[["op","arg",...],...]'        records as given (may be malformed on purpose)
//   --rootfs DIR --work TMP [opts] -- CMD   a typical container spec (overlay rootfs)
//   --join PID [opts] -- CMD                a `box-helper exec` spec for a running container
//
// Health checks of a detached container: --health INTERVAL:START_INTERVAL:START_PERIOD:TIMEOUT:RETRIES:FILE
// (nanoseconds) with --health-cmd "SHELL CMD" (the nested exec spec: the container's attributes,
// args /bin/sh -c CMD), --health-event FILE and --health-on-failure ACTION:SIGNAL:GRACE_NS.
// Strings in --json (and --extra) may be {"hex": "..."} for raw bytes (seccomp programs).
// --version N writes another protocol version into the header.
import { parseArgs } from 'node:util';
import { CLONE, HelperSpec, MS, SpecArg } from '../../src/runtime/spec';

type Raw = string | number | { hex: string };
type Rec = Raw[];

const DEFAULT_CAPS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31]; // docker's default set

const { values: a, positionals: cmd } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'string' },
    rootfs: { type: 'string' },
    work: { type: 'string' },
    hostname: { type: 'string', default: 'testbox' },
    tty: { type: 'boolean' },
    init: { type: 'boolean' },
    nnp: { type: 'boolean' },
    'readonly-root': { type: 'boolean' },
    caps: { type: 'string' },
    user: { type: 'string' },
    cwd: { type: 'string' },
    bind: { type: 'string', multiple: true, default: [] },
    env: { type: 'string', multiple: true, default: [] },
    sysctl: { type: 'string', multiple: true, default: [] },
    cgroup: { type: 'string', multiple: true, default: [] },
    cgroupns: { type: 'boolean' },
    seccomp: { type: 'string' },
    extra: { type: 'string', multiple: true, default: [] },
    // a raw record (JSON) among the child-side steps, before pivot: host paths still visible
    step: { type: 'string', multiple: true, default: [] },
    detach: { type: 'boolean' },
    log: { type: 'string' },
    state: { type: 'string' },
    'on-exit': { type: 'string', multiple: true, default: [] },
    join: { type: 'string' },
    'cgroup-join': { type: 'string', multiple: true, default: [] },
    health: { type: 'string' },
    'health-cmd': { type: 'string', default: 'true' },
    'health-event': { type: 'string' },
    'health-on-failure': { type: 'string' },
    hex: { type: 'boolean' },
    version: { type: 'string' },
  },
});

function encode(recs: Rec[]): Buffer {
  const spec = new HelperSpec();
  const bytes = (x: Raw): SpecArg => (typeof x === 'object' ? Buffer.from(x.hex, 'hex') : String(x));
  for (const [name, ...args] of recs) spec.record(String(name), ...args.map(bytes));
  const buf = spec.encode();
  if (a.version) buf.writeUInt32LE(Number(a.version), 8);
  return buf;
}

/** The process attributes, shared by run and exec specs. */
function attrs(recs: Rec[], extra: string[]): Rec[] {
  recs.push(['rlimit', 7, 1024, 1024]); // RLIMIT_NOFILE
  if (a.caps !== undefined) {
    const m = a.caps === 'default' ? DEFAULT_CAPS.reduce((s, c) => s + 2 ** c, 0) : Number(a.caps);
    recs.push(['caps', m, m, m, 0, 0]);
  }
  if (a.user) recs.push(['user', ...a.user.split(':')], ['groups']);
  if (a.nnp) recs.push(['no-new-privs']);
  if (a.cwd) recs.push(['cwd', a.cwd]);
  recs.push(['env', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/', 'TERM=xterm', ...a.env]);
  if (a.seccomp) recs.push(['seccomp', { hex: a.seccomp }]);
  recs.push(['args', ...cmd]);
  return [...recs, ...extra.map((x) => JSON.parse(x) as Rec)];
}

function container(): Rec[] {
  const nosx = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const w = a.work!;
  const recs: Rec[] = [
    ['clone', CLONE.NEWNS | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWPID | CLONE.NEWNET],
    ['propagation', MS.REC | MS.PRIVATE],
    ['hostname', a.hostname!],
    ['rootfs', 'overlay', 'overlay', 0, `lowerdir=${a.rootfs},upperdir=${w}/upper,workdir=${w}/work`, `${w}/mnt`],
    ['mount', 'proc', '/proc', 'proc', nosx, ''],
    ['mount', 'sysfs', '/sys', 'sysfs', nosx | MS.RDONLY, ''],
    ['mount', 'tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k'],
    ['mount', 'devpts', '/dev/pts', 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5'],
    ['mount', 'shm', '/dev/shm', 'tmpfs', nosx, 'mode=1777,size=65536k'],
    ['mount', 'mqueue', '/dev/mqueue', 'mqueue', nosx, ''],
  ];
  for (const [name, minor] of [
    ['null', 3],
    ['zero', 5],
    ['full', 7],
    ['random', 8],
    ['urandom', 9],
  ] as const) {
    recs.push(['mknod', `/dev/${name}`, 0o20666, 1, minor]);
  }
  recs.push(['mknod', '/dev/tty', 0o20666, 5, 0]);
  const links = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
    ['pts/ptmx', '/dev/ptmx'],
  ];
  for (const [target, link] of links) recs.push(['symlink', target, link]);
  for (const b of a.bind!) {
    const [src, dst, ro] = b.split(':');
    recs.push(['mount', src, dst, '', MS.BIND | MS.REC | (ro === 'ro' ? MS.RDONLY : 0), '']);
  }
  for (const x of a.step!) recs.push(JSON.parse(x) as Rec);
  recs.push(['pivot']);
  for (const kv of a.sysctl!) {
    const eq = kv.indexOf('=');
    recs.push(['sysctl', kv.slice(0, eq), kv.slice(eq + 1)]);
  }
  const masked = [
    '/proc/kcore',
    '/proc/keys',
    '/proc/timer_list',
    '/proc/acpi',
    '/sys/firmware',
    '/proc/does-not-exist',
  ];
  for (const p of masked) recs.push(['mask', p]);
  for (const p of ['/proc/sys', '/proc/sysrq-trigger', '/proc/bus']) recs.push(['readonly', p]);
  if (a['readonly-root']) recs.push(['remount', '/', MS.BIND | MS.RDONLY]);
  if (a.tty) recs.push(['tty']);
  if (a.init) recs.push(['init']);
  for (const c of a.cgroup!) recs.push(['cgroup', c]);
  if (a.cgroupns) recs.push(['cgroupns']);
  if (a.detach) recs.push(['detach']);
  if (a.log) {
    const [maxFiles, maxBytes, ...file] = a.log.split(':').reverse();
    recs.push(['log', file.reverse().join(':'), maxBytes, maxFiles]);
  }
  if (a.state) recs.push(['state', a.state]);
  if (a['on-exit']!.length) recs.push(['on-exit', ...a['on-exit']!]);
  if (a.health) {
    const h = a.health.split(':');
    recs.push(['health', ...h.slice(0, 5), h.slice(5).join(':')]);
    const probe = attrs([], []);
    probe[probe.findIndex((r) => r[0] === 'args')] = ['args', '/bin/sh', '-c', a['health-cmd']!];
    recs.push(['health-exec', { hex: encode(probe).toString('hex') }]);
  }
  if (a['health-event']) {
    const tpl = '{"Action":"health_status: {{status}}","time":{{time}},"timeNano":{{timeNano}}}';
    recs.push(['health-event', a['health-event'], tpl]);
  }
  if (a['health-on-failure']) recs.push(['health-on-failure', ...a['health-on-failure'].split(':')]);
  return attrs(recs, a.extra!);
}

function execSpec(): Rec[] {
  const recs: Rec[] = [['join', a.join!], ...a['cgroup-join']!.map((c): Rec => ['cgroup-join', c])];
  if (a.tty) recs.push(['tty']);
  return attrs(recs, a.extra!);
}

const recs = a.json ? (JSON.parse(a.json) as Rec[]) : a.join ? execSpec() : container();
const out = encode(recs);
process.stdout.write(a.hex ? out.toString('hex') + '\n' : out);
