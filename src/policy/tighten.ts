// Does a patched configuration only tighten? A policy's patch may lower limits, never raise them:
// each limit a patch can set is compared, as the kernel will apply it, with the value before the
// patch (what the user asked for, or what an earlier policy's patch made of it). Where nothing was
// requested the container would run with the kernel's default, so a patch may set any limit that
// is no looser than that default.
//
// Which way is tighter, field by field (unlimited is the loosest value of every limit):
//   memory, memory-swap (memory plus swap; unset: twice the memory, as runs get it), pids-limit
//   (0 and -1: unlimited): lower. memory-reservation: lower, unset counts as 0, because on cgroup
//   v2 it is memory.low, a protection the container is granted. cpu quota/period: the share of a
//   CPU they allow (quota/period; no quota: unlimited). cpu-shares: lower (unset: the kernel's
//   1024). cpuset-cpus: a subset (unset: every online CPU). ulimits: soft and hard each lower
//   (unset: the limits box itself runs with, which the container would inherit).
import * as fs from 'node:fs';
import type { CgroupLimits } from '../linux/cgroups';
import { rlimitNumber } from '../linux/rlimits';
import type { ContainerConfig, Ulimit } from '../model';
import { expandCpuList } from '../util/units';

const UNLIMITED = -1n;
const DEFAULT_CPU_SHARES = 1024n;
const DEFAULT_CPU_PERIOD = 100000n;

/** A limit as a bigint where -1n means unlimited. */
function limitOf(v: number | undefined): bigint {
  return v === undefined || v < 0 ? UNLIMITED : BigInt(v);
}

/** a is looser than b (both bigints, -1n: unlimited) */
function looser(a: bigint, b: bigint): boolean {
  if (a === b) return false;
  if (a === UNLIMITED) return true;
  if (b === UNLIMITED) return false;
  return a > b;
}

const show = (v: bigint): string => (v === UNLIMITED ? 'unlimited' : String(v));

function swapOf(l: CgroupLimits): bigint {
  if (l.memorySwap === -1) return UNLIMITED;
  if (l.memorySwap !== undefined) return BigInt(l.memorySwap);
  return l.memory === undefined ? UNLIMITED : BigInt(l.memory) * 2n;
}

function pidsOf(l: CgroupLimits): bigint {
  return l.pidsLimit === undefined || l.pidsLimit <= 0 ? UNLIMITED : BigInt(l.pidsLimit);
}

/** quota and period, or undefined for no CPU bandwidth limit */
function cpuOf(l: CgroupLimits): { quota: bigint; period: bigint } | undefined {
  if (l.cpuQuota === undefined || l.cpuQuota <= 0) return undefined;
  return { quota: BigInt(l.cpuQuota), period: l.cpuPeriod === undefined ? DEFAULT_CPU_PERIOD : BigInt(l.cpuPeriod) };
}

function cpuText(c: { quota: bigint; period: bigint } | undefined): string {
  if (!c) return 'unlimited';
  const cpus = (Number(c.quota) / Number(c.period)).toFixed(3).replace(/\.?0+$/, '');
  return `${c.quota}/${c.period} (${cpus} CPUs)`;
}

function onlineCpus(): number[] {
  return expandCpuList(fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
}

/** The limits box runs with (a container inherits them when it asks for none), by name, from /proc/self/limits. */
export function inheritedUlimits(names: string[]): Map<string, { soft: bigint; hard: bigint }> {
  // /proc/self/limits lists the resources in RLIMIT_* order after a header line.
  const rows = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').slice(1);
  const out = new Map<string, { soft: bigint; hard: bigint }>();
  for (const name of names) {
    const m = /\s(unlimited|\d+)\s+(unlimited|\d+)/.exec(rows[rlimitNumber(name)] ?? '');
    const value = (s: string | undefined): bigint => (s === undefined || s === 'unlimited' ? UNLIMITED : BigInt(s));
    out.set(name, { soft: value(m?.[1]), hard: value(m?.[2]) });
  }
  return out;
}

/**
 * What `after` loosens compared with `before`, one phrase per limit ("pids-limit from 100 to
 * unlimited"); empty when it only tightens or keeps.
 */
export function loosenedLimits(before: ContainerConfig, after: ContainerConfig): string[] {
  const out: string[] = [];
  const b = before.limits;
  const a = after.limits;
  const compare = (name: string, was: bigint, now: bigint): void => {
    if (looser(now, was)) out.push(`${name} from ${show(was)} to ${show(now)}`);
  };
  compare('memory', limitOf(b.memory), limitOf(a.memory));
  compare('memory-swap', swapOf(b), swapOf(a));
  compare('memory-reservation', BigInt(b.memoryReservation ?? 0), BigInt(a.memoryReservation ?? 0));
  compare('pids-limit', pidsOf(b), pidsOf(a));
  const shares = (l: CgroupLimits): bigint => (l.cpuShares ? BigInt(l.cpuShares) : DEFAULT_CPU_SHARES);
  compare('cpu-shares', shares(b), shares(a));
  const cb = cpuOf(b);
  const ca = cpuOf(a);
  // a larger share of a CPU: quota/period compared without division
  if (cb && (!ca || ca.quota * cb.period > cb.quota * ca.period)) {
    out.push(`the CPU quota from ${cpuText(cb)} to ${cpuText(ca)}`);
  }
  if (a.cpusetCpus !== undefined && a.cpusetCpus !== b.cpusetCpus) {
    const allowed = b.cpusetCpus === undefined ? onlineCpus() : expandCpuList(b.cpusetCpus);
    const extra = expandCpuList(a.cpusetCpus).filter((c) => !allowed.includes(c));
    if (extra.length) {
      out.push(`cpuset-cpus from ${b.cpusetCpus ?? 'all'} to ${a.cpusetCpus} (adds CPUs ${extra.join(',')})`);
    }
  }
  const wasUlimit = new Map(before.ulimits.map((u) => [u.name, u] as const));
  const unset = after.ulimits.filter((u) => !wasUlimit.has(u.name)).map((u) => u.name);
  const inherited = unset.length ? inheritedUlimits(unset) : new Map<string, { soft: bigint; hard: bigint }>();
  for (const u of after.ulimits) {
    const prev: Ulimit | undefined = wasUlimit.get(u.name);
    const was = prev
      ? { soft: limitOf(prev.soft), hard: limitOf(prev.hard) }
      : (inherited.get(u.name) ?? { soft: UNLIMITED, hard: UNLIMITED });
    compare(`ulimit ${u.name} (soft)`, was.soft, limitOf(u.soft));
    compare(`ulimit ${u.name} (hard)`, was.hard, limitOf(u.hard));
  }
  return out;
}
