// Resource limits through cgroups, read back from inside the container (its cgroup namespace makes
// its own cgroup the root it sees), and enforced for real: an OOM kill and a fork bomb stopped.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, cgroupDirsOf } from '../support/box';

const V1 = !fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
const file = (v1: string, v2: string) => (V1 ? v1 : v2);

describe('box run: resource limits', () => {
  const t = busyboxRoot();
  const run = (...args: string[]) => t.box(['run', '--rm', ...args]);
  const read = (flags: string[], path: string) => run(...flags, 'busybox', 'cat', path);

  it('sets the memory limit, reservation and swap limit', () => {
    const r = read(
      ['--memory', '64m'],
      file('/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory.max'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(String(64 * 1024 * 1024));
    expect(
      read(
        ['--memory', '64m', '--memory-reservation', '32m'],
        file('/sys/fs/cgroup/memory/memory.soft_limit_in_bytes', '/sys/fs/cgroup/memory.low'),
      ).stdout.trim(),
    ).toBe(String(32 * 1024 * 1024));
    // memory+swap: --memory-swap as given, twice --memory when not given (Docker's default), -1 unlimited
    const swapFile = file('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes', '/sys/fs/cgroup/memory.swap.max');
    if (fs.existsSync(V1 ? '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes' : '/sys/fs/cgroup/memory.swap.max')) {
      const swap = (...flags: string[]) => read(['--memory', '64m', ...flags], swapFile).stdout.trim();
      const mib = (n: number) => String(n * 1024 * 1024);
      expect(swap('--memory-swap', '96m')).toBe(V1 ? mib(96) : mib(32));
      expect(swap()).toBe(V1 ? mib(128) : mib(64));
      expect(swap('--memory-swap', '-1')).toBe(V1 ? '9223372036854771712' : 'max');
    }
  });

  it('sets the CPU quota from --cpus and from --cpu-period/--cpu-quota, and the shares', () => {
    if (V1) {
      expect(read(['--cpus', '0.5'], '/sys/fs/cgroup/cpu/cpu.cfs_quota_us').stdout.trim()).toBe('50000');
      expect(
        read(['--cpu-period', '50000', '--cpu-quota', '25000'], '/sys/fs/cgroup/cpu/cpu.cfs_period_us').stdout.trim(),
      ).toBe('50000');
      expect(
        read(['--cpu-period', '50000', '--cpu-quota', '25000'], '/sys/fs/cgroup/cpu/cpu.cfs_quota_us').stdout.trim(),
      ).toBe('25000');
      expect(read(['--cpu-quota', '30000'], '/sys/fs/cgroup/cpu/cpu.cfs_quota_us').stdout.trim()).toBe('30000');
      expect(read(['--cpu-shares', '512'], '/sys/fs/cgroup/cpu/cpu.shares').stdout.trim()).toBe('512');
    } else {
      expect(read(['--cpus', '0.5'], '/sys/fs/cgroup/cpu.max').stdout.trim()).toBe('50000 100000');
    }
  });

  it('pins CPUs with --cpuset-cpus and refuses CPUs the host does not have', () => {
    expect(
      read(
        ['--cpuset-cpus', '0'],
        file('/sys/fs/cgroup/cpuset/cpuset.cpus', '/sys/fs/cgroup/cpuset.cpus'),
      ).stdout.trim(),
    ).toBe('0');
    const r = run('--cpuset-cpus', '0-63', 'busybox', 'true');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/not available/);
  });

  it('the pids limit stops a bounded fork loop', () => {
    // The inner shell forks until the limit refuses (ash gives up on a failed fork with exit 2);
    // the outer one then reads the counters with builtins only, which need no fork.
    const current = file('/sys/fs/cgroup/pids/pids.current', '/sys/fs/cgroup/pids.current');
    const max = file('/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/pids.max');
    const r = run(
      '--pids-limit',
      '10',
      'busybox',
      'sh',
      '-c',
      `sh -c 'i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); done'; echo $?; read n < ${current}; echo $n; read m < ${max}; echo $m`,
    );
    const [inner, n, m] = r.stdout.trim().split('\n');
    expect(inner).toBe('2');
    expect(r.stderr).toMatch(/can't fork/);
    expect(m).toBe('10');
    expect(Number(n)).toBeLessThanOrEqual(10);
    expect(Number(n)).toBeGreaterThan(1);
  });

  it('a memory hog is OOM-killed: exit 137 and box says so', () => {
    // A string doubled 26 times wants 512 MiB of the shell's own (anonymous) memory.
    const r = run(
      '--memory',
      '16m',
      '--memory-swap',
      '16m',
      'busybox',
      'sh',
      '-c',
      'x=aaaaaaaa; i=0; while [ $i -lt 26 ]; do x=$x$x; i=$((i+1)); done; echo survived',
    );
    expect(r.stdout).not.toContain('survived');
    expect(r.status).toBe(137);
    expect(r.stderr).toMatch(/killed by the OOM killer \(memory limit 16 MiB\)/);
  });

  it('removes the cgroup when the container exits', () => {
    const r = t.box(['run', '--name', 'cg-check', '--memory', '32m', 'busybox', 'true']);
    expect(r.status).toBe(0);
    const rec = JSON.parse(
      t
        .box(['ps', '-a', '--format', 'json'])
        .stdout.trim()
        .split('\n')
        .find((l) => l.includes('cg-check'))!,
    );
    expect(cgroupDirsOf(rec.ID)).toEqual([]);
    t.box(['rm', 'cg-check']);
  });

  it('refuses malformed limits with a one-line error before creating anything', () => {
    const before = t.containerIds();
    for (const bad of [
      ['--memory', '12x'],
      ['--cpus=-1'],
      ['--cpus', 'lots'],
      ['--memory', '1k'],
      ['--pids-limit', 'many'],
      ['--memory-swap', '8m', '--memory', '16m'],
      ['--ulimit', 'nofile=5:2'],
      ['--cpu-shares', '1'],
    ]) {
      const r = run(...bad, 'busybox', 'true');
      expect(r.status, bad.join(' ')).toBe(125);
      expect(r.stderr.trim().split('\n'), bad.join(' ')).toHaveLength(1);
    }
    expect(t.containerIds()).toEqual(before);
  });
});
