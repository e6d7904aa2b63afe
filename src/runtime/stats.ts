// `box stats`: resource usage of running containers from their cgroups (read by the cgroup
// manager, whichever the version), /proc/PID/net/dev of the container's init and /proc/stat.
// CPU % needs two samples: the container's CPU time over the host's over the same interval, times
// the number of CPUs, as Docker computes it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { CgroupManager } from '../linux/cgroups';

/** /proc/PID/net/dev: bytes received and sent on every interface but loopback. */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (name === 'lo' || f.length < 9) continue;
    rx += f[0];
    tx += f[8];
  }
  return { rx, tx };
}

/** /proc/stat: the host's total CPU time in nanoseconds (user..steal) and the number of CPUs. */
export function parseProcStatCpu(text: string): { totalNs: number; cpus: number } {
  const lines = text.split('\n');
  const first = lines.find((l) => l.startsWith('cpu '));
  const ticks = first
    ? first
        .trim()
        .split(/\s+/)
        .slice(1, 9)
        .reduce((a, b) => a + Number(b), 0)
    : 0;
  const cpus = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { totalNs: (ticks * 1e9) / 100, cpus: Math.max(cpus, 1) };
}

export interface Sample {
  cpuNs: number;
  systemNs: number;
  cpus: number;
  memUsage: number;
  memLimit: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

export const ZERO_SAMPLE: Sample = {
  cpuNs: 0,
  systemNs: 0,
  cpus: 1,
  memUsage: 0,
  memLimit: 0,
  netRx: 0,
  netTx: 0,
  blkRead: 0,
  blkWrite: 0,
  pids: 0,
};

function readIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** One reading of a container's counters; absent files (controllers the host lacks) count as 0. */
export function sample(cgroup: CgroupManager, pid: number | undefined, hostNetwork: boolean): Sample {
  const host = parseProcStatCpu(fs.readFileSync('/proc/stat', 'utf8'));
  const hostMem = os.totalmem();
  const { memLimit, ...usage } = cgroup.stats();
  const s: Sample = { ...ZERO_SAMPLE, ...usage, systemNs: host.totalNs, cpus: host.cpus, memLimit: hostMem };
  if (memLimit !== undefined && memLimit < hostMem) s.memLimit = memLimit;
  if (pid && !hostNetwork) {
    const net = parseNetDev(readIfThere(`/proc/${pid}/net/dev`) ?? '');
    s.netRx = net.rx;
    s.netTx = net.tx;
  }
  return s;
}

/** Docker's CPU %: the container's share of the host's CPU time over the interval, times the CPUs. */
export function cpuPercent(before: Sample, after: Sample): number {
  const cpu = after.cpuNs - before.cpuNs;
  const system = after.systemNs - before.systemNs;
  return cpu > 0 && system > 0 ? (cpu / system) * after.cpus * 100 : 0;
}

/** Go's %.<precision>g of a number below 10^precision (what Docker's size formatting prints). */
function g(value: number, precision: number): string {
  return String(Number(value.toPrecision(precision)));
}

/** Docker's BytesSize: binary units, 4 significant digits ("1.5MiB", "7.637GiB"). */
export function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${g(v, 4)}${units[i]}`;
}

/** Docker's HumanSizeWithPrecision(n, 3): decimal units, 3 significant digits ("648B", "1.23kB"). */
export function decimalSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${g(v, 3)}${units[i]}`;
}

export const STATS_TITLES = [
  'CONTAINER ID',
  'NAME',
  'CPU %',
  'MEM USAGE / LIMIT',
  'MEM %',
  'NET I/O',
  'BLOCK I/O',
  'PIDS',
];

export function statsRow(id: string, name: string, before: Sample, after: Sample): string[] {
  const memPct = after.memLimit > 0 ? (after.memUsage / after.memLimit) * 100 : 0;
  return [
    id.slice(0, 12),
    name,
    `${cpuPercent(before, after).toFixed(2)}%`,
    `${binarySize(after.memUsage)} / ${binarySize(after.memLimit)}`,
    `${memPct.toFixed(2)}%`,
    `${decimalSize(after.netRx)} / ${decimalSize(after.netTx)}`,
    `${decimalSize(after.blkRead)} / ${decimalSize(after.blkWrite)}`,
    String(after.pids),
  ];
}
