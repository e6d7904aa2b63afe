// The cgroup v2 files and values each limit flag becomes (this host binds its controllers to v1,
// so the values are checked here; the v2 code path itself runs in the integration tests).
import { describe, expect, it } from 'vitest';
import { sharesToWeight, v2LimitFiles } from '../../src/linux/cgroup-v2';
import { RunFlags, runFlagsFrom } from '../../src/runtime/run-flags';
import { parseLimits } from '../../src/runtime/run-options';

const files = (flags: Partial<RunFlags>, swapAccounted = true) => {
  const limits = parseLimits(runFlagsFrom(flags));
  return Object.fromEntries(v2LimitFiles(limits, limits, swapAccounted));
};
const MiB = 1024 * 1024;

describe('cgroup v2 limit files', () => {
  it('--memory sets memory.max and, as Docker, as much swap again', () => {
    expect(files({ memory: '64m' })).toEqual({ 'memory.max': 64 * MiB, 'memory.swap.max': 64 * MiB });
    expect(files({ memory: '64m' }, false)).toEqual({ 'memory.max': 64 * MiB });
  });

  it('--memory-swap is memory plus swap: v2 gets the difference, or max for -1', () => {
    expect(files({ memory: '64m', memorySwap: '96m' })).toEqual({
      'memory.max': 64 * MiB,
      'memory.swap.max': 32 * MiB,
    });
    expect(files({ memory: '64m', memorySwap: '64m' })).toEqual({ 'memory.max': 64 * MiB, 'memory.swap.max': 0 });
    expect(files({ memory: '64m', memorySwap: '-1' })).toEqual({ 'memory.max': 64 * MiB, 'memory.swap.max': 'max' });
  });

  it("box-runc's hugetlb limits, I/O throttles and unified files (written last, as given)", () => {
    const limits = {
      pidsLimit: 10,
      hugetlb: { '2MB': 0, '1GB': -1 },
      ioThrottle: [{ major: 8, minor: 0, readBps: 1000, writeIops: 0 }],
      unified: { 'pids.max': '20' },
    };
    expect(v2LimitFiles(limits, limits, true)).toEqual([
      ['pids.max', 10],
      ['io.max', '8:0 rbps=1000 wiops=max'],
      ['hugetlb.2MB.max', 0],
      ['hugetlb.1GB.max', 'max'],
      ['pids.max', '20'],
    ]);
  });

  it('--memory-reservation sets memory.low', () => {
    expect(files({ memoryReservation: '32m' })).toEqual({ 'memory.low': 32 * MiB });
  });

  it('--cpus, --cpu-period and --cpu-quota set cpu.max as "QUOTA PERIOD"', () => {
    expect(files({ cpus: '0.5' })).toEqual({ 'cpu.max': '50000 100000' });
    expect(files({ cpus: '2' })).toEqual({ 'cpu.max': '200000 100000' });
    expect(files({ cpuPeriod: '50000', cpuQuota: '25000' })).toEqual({ 'cpu.max': '25000 50000' });
    expect(files({ cpuQuota: '30000' })).toEqual({ 'cpu.max': '30000 100000' });
    expect(files({ cpuPeriod: '50000' })).toEqual({ 'cpu.max': 'max 50000' });
    expect(files({ cpuQuota: '-1' })).toEqual({ 'cpu.max': 'max 100000' });
  });

  it("--cpu-shares becomes cpu.weight by Docker's formula", () => {
    expect(files({ cpuShares: '1024' })).toEqual({ 'cpu.weight': 39 });
    expect(files({ cpuShares: '2' })).toEqual({ 'cpu.weight': 1 });
    expect(files({ cpuShares: '262144' })).toEqual({ 'cpu.weight': 10000 });
    expect(sharesToWeight(512)).toBe(20);
  });

  it('--cpuset-cpus sets cpuset.cpus; --pids-limit sets pids.max, max when 0 or -1', () => {
    expect(files({ cpusetCpus: '0-1' })).toEqual({ 'cpuset.cpus': '0-1' });
    expect(files({ pidsLimit: '100' })).toEqual({ 'pids.max': 100 });
    expect(files({ pidsLimit: '-1' })).toEqual({ 'pids.max': 'max' });
    expect(files({ pidsLimit: '0' })).toEqual({ 'pids.max': 'max' });
  });

  it('box update writes only what changed, computed on the merged limits', () => {
    const merged = { memory: 128 * MiB, memorySwap: 256 * MiB, cpuQuota: 50000, cpuPeriod: 100000, pidsLimit: 50 };
    expect(v2LimitFiles(merged, { pidsLimit: 50 }, true)).toEqual([['pids.max', 50]]);
    expect(v2LimitFiles(merged, { memory: 128 * MiB }, true)).toEqual([
      ['memory.max', 128 * MiB],
      ['memory.swap.max', 128 * MiB],
    ]);
  });
});
