import { describe, expect, it } from 'vitest';
import { expandCpuList, parseBytes, parseCpuList, parseCpus, parseDuration } from '../../src/util/units';
import { parseImageRef } from '../../src/image/reference';
import { sharesToWeight } from '../../src/linux/cgroups';

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
  it('parses durations', () => {
    expect(parseDuration('--t', '1m30s')).toBe(90000);
    expect(parseDuration('--t', '500ms')).toBe(500);
    expect(() => parseDuration('--t', '10')).toThrow(/duration/);
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
