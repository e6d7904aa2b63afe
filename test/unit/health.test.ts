import { describe, expect, it } from 'vitest';
import {
  healthEventTemplate,
  nanosToRfc3339,
  parseHealthFile,
  parseHealthFlags,
  probeArgs,
} from '../../src/runtime/health';

const S = 1e9;

describe('health check options', () => {
  it("--health-cmd gives a CMD-SHELL check with Docker's defaults", () => {
    expect(parseHealthFlags({ healthCmd: 'curl -f localhost' }, {})).toEqual({
      test: ['CMD-SHELL', 'curl -f localhost'],
      interval: 30 * S,
      timeout: 30 * S,
      startPeriod: 0,
      startInterval: 5 * S,
      retries: 3,
      onFailure: 'none',
    });
    expect(probeArgs(parseHealthFlags({ healthCmd: 'true' }, {})!)).toEqual(['/bin/sh', '-c', 'true']);
  });

  it("flags override the image's HEALTHCHECK field by field; zero fields inherit", () => {
    const image = { Healthcheck: { Test: ['CMD', '/bin/check', '--quick'], Interval: 2 * S, Timeout: 0, Retries: 7 } };
    const h = parseHealthFlags({ healthTimeout: '3s', healthOnFailure: 'restart' }, image)!;
    expect(h).toMatchObject({
      test: ['CMD', '/bin/check', '--quick'],
      interval: 2 * S,
      timeout: 3 * S,
      retries: 7,
      onFailure: 'restart',
    });
    expect(probeArgs(h)).toEqual(['/bin/check', '--quick']);
    expect(parseHealthFlags({ healthCmd: 'x' }, image)!.test).toEqual(['CMD-SHELL', 'x']);
  });

  it('no health check: none given, NONE, or --no-healthcheck', () => {
    expect(parseHealthFlags({}, {})).toBeUndefined();
    expect(parseHealthFlags({}, { Healthcheck: { Test: ['NONE'] } })).toBeUndefined();
    expect(parseHealthFlags({ noHealthcheck: true }, { Healthcheck: { Test: ['CMD-SHELL', 'true'] } })).toBeUndefined();
  });

  it('refuses conflicting and bad values', () => {
    expect(() => parseHealthFlags({ noHealthcheck: true, healthCmd: 'true' }, {})).toThrow(
      /--no-healthcheck conflicts with --health-cmd/,
    );
    expect(() => parseHealthFlags({ healthCmd: 'true', healthRetries: '-1' }, {})).toThrow(/--health-retries/);
    expect(() => parseHealthFlags({ healthCmd: 'true', healthInterval: '10us' }, {})).toThrow(/at least 1ms/);
    expect(() => parseHealthFlags({ healthCmd: 'true', healthOnFailure: 'explode' }, {})).toThrow(
      /--health-on-failure/,
    );
    expect(() => parseHealthFlags({ healthInterval: '1s' }, {})).toThrow(/need a health check/);
  });
});

describe('health file and events', () => {
  it('parses the monitor health file, output bytes included', () => {
    const out = Buffer.from('line1\nresult 1 2 3 4\n');
    const file = Buffer.concat([
      Buffer.from('status unhealthy\nfailing 3\naction kill 1700000000000000000\n'),
      Buffer.from(`result 1700000000123456789 1700000000223456789 1 ${out.length}\n`),
      out,
      Buffer.from('\n'),
      Buffer.from('result 1700000001000000000 1700000001000000001 -1 0\n\n'),
    ]);
    const st = parseHealthFile(file)!;
    expect(st).toMatchObject({ status: 'unhealthy', failingStreak: 3, action: { name: 'kill' } });
    expect(st.log.map((r) => [r.exitCode, r.output.toString()])).toEqual([
      [1, out.toString()],
      [-1, ''],
    ]);
    expect(nanosToRfc3339(st.log[0].start)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(parseHealthFile(Buffer.from('status healthy\nresult 1 2 0 99\nshort\n'))).toBeUndefined();
  });

  it('the event template becomes an event line in events.ts shape', () => {
    const tpl = healthEventTemplate({
      id: 'abc',
      name: 'web',
      config: { image: { ref: 'img:1', id: 'sha256:x' } } as never,
    });
    const line = tpl
      .replace(/\{\{status\}\}/g, 'healthy')
      .replace('{{timeNano}}', '1700000000123456789')
      .replace('{{time}}', '1700000000');
    const ev = JSON.parse(line);
    expect(ev).toMatchObject({
      Type: 'container',
      Action: 'health_status: healthy',
      status: 'health_status: healthy',
      id: 'abc',
      from: 'img:1',
      Actor: { ID: 'abc', Attributes: { image: 'img:1', name: 'web' } },
      scope: 'local',
      time: 1700000000,
    });
    expect(Object.keys(ev)).toEqual(['Type', 'Action', 'status', 'id', 'from', 'Actor', 'scope', 'time', 'timeNano']);
  });

  it("carries the container's labels among its attributes, as every other event", () => {
    const config = { image: { ref: 'img:1', id: 'sha256:x' }, labels: { 'com.docker.compose.project': 'shop' } };
    const tpl = healthEventTemplate({ id: 'abc', name: 'web', config: config as never });
    const ev = JSON.parse(tpl.replace('{{status}}', 'healthy').replace('{{timeNano}}', '1').replace('{{time}}', '1'));
    expect(ev.Actor.Attributes).toEqual({ 'com.docker.compose.project': 'shop', image: 'img:1', name: 'web' });
  });
});
