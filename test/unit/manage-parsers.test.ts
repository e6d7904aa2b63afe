// Parsers behind box stats, top, update and cp: cgroup v1/v2 files, /proc files, Docker's units.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBlkioServiceBytes, parseFlatKeyed, parseIoStat } from '../../src/linux/cgroup-files';
import {
  binarySize,
  cpuPercent,
  decimalSize,
  parseNetDev,
  parseProcStatCpu,
  ZERO_SAMPLE,
} from '../../src/runtime/stats';
import { cpuTime, parseProcStat, startTime, ttyName, userNames } from '../../src/runtime/top';
import { mergeLimits } from '../../src/runtime/update';
import { splitContainerPath } from '../../src/runtime/copy';

describe('stats parsers', () => {
  it('reads usage_usec from a real cgroup2 cpu.stat', () => {
    const file = ['/sys/fs/cgroup/unified/cpu.stat', '/sys/fs/cgroup/cpu.stat'].find((f) => fs.existsSync(f));
    if (!file) return;
    const m = parseFlatKeyed(fs.readFileSync(file, 'utf8'));
    expect(m.get('usage_usec')).toBeGreaterThan(0);
    expect(m.get('user_usec')! + m.get('system_usec')!).toBeLessThanOrEqual(m.get('usage_usec')! + 1000);
  });

  it('parses cgroup v2 io.stat and memory.stat', () => {
    const io =
      '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n';
    expect(parseIoStat(io)).toEqual({ read: 4196, write: 8192 });
    expect(parseIoStat('')).toEqual({ read: 0, write: 0 });
    expect(parseFlatKeyed('anon 1234\nfile 10\ninactive_file 4096\n').get('inactive_file')).toBe(4096);
  });

  it('parses cgroup v1 blkio service bytes', () => {
    const text = '8:0 Read 1000\n8:0 Write 24\n8:0 Sync 0\n8:0 Async 1024\n8:0 Total 1024\n8:16 Read 1\nTotal 1025\n';
    expect(parseBlkioServiceBytes(text)).toEqual({ read: 1001, write: 24 });
  });

  it("sums /proc/PID/net/dev without loopback, and reads this host's /proc/stat", () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:  500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0',
      '  eth0: 1200      10    0    0    0     0          0         0      300       3    0    0    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(text)).toEqual({ rx: 1200, tx: 300 });
    const host = parseProcStatCpu(fs.readFileSync('/proc/stat', 'utf8'));
    expect(host.cpus).toBeGreaterThanOrEqual(1);
    expect(host.totalNs).toBeGreaterThan(0);
  });

  it("computes CPU % as Docker does and formats sizes with Docker's units", () => {
    const a = { ...ZERO_SAMPLE, cpuNs: 0, systemNs: 0, cpus: 2 };
    const b = { ...a, cpuNs: 5e8, systemNs: 2e9 };
    expect(cpuPercent(a, b)).toBeCloseTo(50);
    expect(cpuPercent(a, a)).toBe(0);
    expect(binarySize(0)).toBe('0B');
    expect(binarySize(1536 * 1024)).toBe('1.5MiB');
    expect(binarySize(64 * 1024 * 1024)).toBe('64MiB');
    expect(binarySize(8200000000)).toBe('7.637GiB');
    expect(decimalSize(648)).toBe('648B');
    expect(decimalSize(1234)).toBe('1.23kB');
    expect(decimalSize(12_345_678)).toBe('12.3MB');
  });
});

describe('top parsers', () => {
  it('parses /proc/PID/stat with spaces and parentheses in the command name', () => {
    const st = parseProcStat(
      '42 (my (odd) prog) S 1 42 42 34816 42 4194560 100 0 0 0 250 50 0 0 20 0 1 0 123456 1000 10 18446744073709551615',
    );
    expect(st).toMatchObject({
      pid: 42,
      comm: 'my (odd) prog',
      state: 'S',
      ppid: 1,
      ttyNr: 34816,
      utime: 250,
      stime: 50,
      starttime: 123456,
    });
    expect(parseProcStat(fs.readFileSync('/proc/self/stat', 'utf8')).pid).toBe(process.pid);
  });

  it('formats tty, cpu time, start time and user names like ps', () => {
    expect(ttyName(0)).toBe('?');
    expect(ttyName(34816)).toBe('pts/0');
    expect(ttyName((136 << 8) | 5)).toBe('pts/5');
    expect(cpuTime(3)).toBe('00:00:03');
    expect(cpuTime(3723)).toBe('01:02:03');
    expect(cpuTime(90061)).toBe('1-01:01:01');
    const now = new Date(2025, 4, 20, 15, 0);
    expect(startTime(new Date(2025, 4, 20, 9, 5), now)).toBe('09:05');
    expect(startTime(new Date(2025, 0, 3, 9, 5), now)).toBe('Jan03');
    expect(userNames('root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n').get(1000)).toBe('app');
  });
});

describe('update and cp helpers', () => {
  it('merges limits and refuses memory above an explicit memory+swap', () => {
    expect(mergeLimits({ memory: 32 << 20 }, { memory: 64 << 20, pidsLimit: 5 })).toEqual({
      memory: 64 << 20,
      pidsLimit: 5,
    });
    expect(mergeLimits({}, { cpuQuota: 50000 })).toEqual({ cpuQuota: 50000, cpuPeriod: 100000 });
    expect(() => mergeLimits({ memory: 32 << 20, memorySwap: 48 << 20 }, { memory: 64 << 20 })).toThrow(/memory-swap/);
    expect(
      mergeLimits({ memory: 32 << 20, memorySwap: 48 << 20 }, { memory: 64 << 20, memorySwap: 128 << 20 }).memorySwap,
    ).toBe(128 << 20);
  });

  it('splits CONTAINER:PATH arguments as docker cp does', () => {
    expect(splitContainerPath('web:/etc/hosts')).toEqual({ container: 'web', path: '/etc/hosts' });
    expect(splitContainerPath('web:')).toEqual({ container: 'web', path: '' });
    expect(splitContainerPath('/tmp/a:b')).toBeUndefined();
    expect(splitContainerPath('./a:b')).toBeUndefined();
    expect(splitContainerPath('dir/a:b')).toBeUndefined();
    expect(splitContainerPath('file.txt')).toBeUndefined();
  });
});
