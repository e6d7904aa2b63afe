import { describe, expect, it } from 'vitest';
import { parseTimeArg } from '../../src/runtime/logs';
import {
  expandCpuList,
  parseBytes,
  parseCpuList,
  parseCpus,
  parseDuration,
  parseDurationNs,
} from '../../src/util/units';
import { parseImageRef } from '../../src/image/reference';
import { sharesToWeight } from '../../src/linux/cgroup-v2';

describe('value parsers', () => {
  it('parses sizes as Docker does', () => {
    expect(parseBytes('--memory', '256m')).toBe(256 * 1024 ** 2);
    expect(parseBytes('--memory', '1g')).toBe(1024 ** 3);
    expect(parseBytes('--memory', '1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('--memory', '4096')).toBe(4096);
    expect(parseBytes('--memory', '512kb')).toBe(512 * 1024);
    expect(() => parseBytes('--memory', '12x')).toThrow(/invalid value "12x" for --memory/);
    expect(() => parseBytes('--memory', '-1m')).toThrow();
  });
  it('parses CPUs and CPU lists', () => {
    expect(parseCpus('--cpus', '1.5')).toBe(1.5);
    expect(() => parseCpus('--cpus', '-1')).toThrow(/positive/);
    expect(() => parseCpus('--cpus', '0')).toThrow();
    expect(parseCpuList('--cpuset-cpus', '0-2,4')).toBe('0-2,4');
    expect(expandCpuList('0-2,4')).toEqual([0, 1, 2, 4]);
    expect(() => parseCpuList('--cpuset-cpus', '3-1')).toThrow();
    expect(() => parseCpuList('--cpuset-cpus', 'a')).toThrow();
  });
  it("parses durations as Go's time.ParseDuration does (Docker's duration flags), in ns or ms", () => {
    const S = 1e9;
    expect(parseDurationNs('--x', '30s')).toBe(30 * S);
    expect(parseDurationNs('--x', '1m30s')).toBe(90 * S);
    expect(parseDurationNs('--x', '1h2m3s4ms5us6ns')).toBe(3723 * S + 4e6 + 5e3 + 6);
    expect(parseDurationNs('--x', '100ms')).toBe(100e6);
    expect(parseDurationNs('--x', '1.5s')).toBe(1.5 * S);
    expect(parseDurationNs('--x', '.5s')).toBe(0.5 * S);
    expect(parseDurationNs('--x', '1.s')).toBe(S);
    expect(parseDurationNs('--x', '+2s')).toBe(2 * S);
    expect(parseDurationNs('--x', '3\u00b5s')).toBe(3000); // micro sign
    expect(parseDurationNs('--x', '3\u03bcs')).toBe(3000); // Greek mu
    expect(parseDurationNs('--x', '0')).toBe(0);
    expect(parseDuration('--t', '1m30s')).toBe(90000);
    expect(parseDuration('--t', '500ms')).toBe(500);
    expect(parseDuration('--t', '0')).toBe(0);
    for (const bad of ['', '10', '1.5', 's', '.s', '1m30', '1d', '1 s', 'soon', '1s ', '2562048h']) {
      expect(() => parseDurationNs('--x', bad), bad).toThrow(
        `invalid value "${bad}" for --x: expected a duration like 30s, 1m30s or 500ms`,
      );
    }
    expect(() => parseDuration('--t', '-1s')).toThrow('invalid value "-1s" for --t: a duration cannot be negative');
  });

  it('--since and --until take a duration before now in the same syntax', () => {
    const now = 1_800_000_000_000;
    expect(parseTimeArg('--since', '10m', now)).toBe(now - 600_000);
    expect(parseTimeArg('--since', '1h30m', now)).toBe(now - 5_400_000);
    expect(parseTimeArg('--since', '1.5s', now)).toBe(now - 1500);
    expect(parseTimeArg('--since', '1700000000', now)).toBe(1_700_000_000_000);
    expect(parseTimeArg('--since', '2026-01-02T15:04:05Z', now)).toBe(Date.parse('2026-01-02T15:04:05Z'));
    expect(() => parseTimeArg('--until', '10x', now)).toThrow(/invalid value "10x" for --until/);
  });
  it('converts cpu shares to cgroup v2 weights as Docker does', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
  });
  it('parses image references', () => {
    expect(parseImageRef('busybox')).toMatchObject({ name: 'busybox', tag: 'latest', full: 'busybox:latest' });
    expect(parseImageRef('localhost:5000/team/app:1.2')).toMatchObject({ name: 'localhost:5000/team/app', tag: '1.2' });
    expect(() => parseImageRef('UPPER')).toThrow(/invalid image name/);
    expect(() => parseImageRef('app:bad tag')).toThrow(/invalid tag/);
  });
});
