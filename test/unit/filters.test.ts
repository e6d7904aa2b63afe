// Docker's filter values (ps, images, prune) and the Prometheus text of box stats, as pure functions.
import { describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import { globMatch, imageFilter } from '../../src/image/image-filter';
import { ImageRecord } from '../../src/image/store';
import { psContext } from '../../src/cli/container/ps-context';
import { parseEventFilters } from '../../src/cli/system/events';
import { BoxEvent } from '../../src/runtime/events';
import { ContainerRecord } from '../../src/model';
import { containerFilter, labelMatch, pruneFilter } from '../../src/runtime/container-filter';
import { prometheusText } from '../../src/runtime/stats-exposition';
import { ZERO_SAMPLE } from '../../src/runtime/stats';

describe('filters', () => {
  it("matches references as Go's path.Match: * and ? stop at /, classes, the name alone", () => {
    expect(globMatch('busy*', 'busybox:latest')).toBe(true);
    expect(globMatch('*', 'team/app')).toBe(false);
    expect(globMatch('*/*', 'team/app')).toBe(true);
    expect(globMatch('app:[0-9]', 'app:1')).toBe(true);
    expect(globMatch('app:[^0-9]', 'app:1')).toBe(false);
    expect(globMatch('a.p', 'axp')).toBe(false);
    const img = (tags: string[], created: string, labels: Record<string, string> = {}) =>
      ({
        id: `sha256:${created}`,
        tags,
        created,
        size: 0,
        repoDigests: [],
        config: { config: { Labels: labels } },
      }) as unknown as ImageRecord;
    const a = img(['busybox:latest'], '2026-01-01', { v: '1' });
    const b = img(['reg:5000/team/app:2'], '2026-02-01');
    const dangling = img([], '2026-03-01');
    const ctx = { find: (q: string) => [a, b, dangling].find((i) => i.tags.includes(q)) };
    const pick = (...f: string[]) => [a, b, dangling].filter(imageFilter(f, ctx));
    expect(pick('reference=busybox')).toEqual([a]);
    expect(pick('reference=reg:5000/team/*')).toEqual([b]);
    expect(pick('dangling=true')).toEqual([dangling]);
    expect(pick('label=v=1')).toEqual([a]);
    expect(pick('since=busybox:latest', 'dangling=false')).toEqual([b]);
    expect(pick('before=reg:5000/team/app:2')).toEqual([a]);
    expect(pick('reference=busybox', 'reference=reg*/*/*')).toEqual([a, b]); // one key: alternatives
    expect(() => pick('colour=red')).toThrow(BoxError);
    expect(() => pick('since=nope')).toThrow('no such image');
  });

  it("prune's until, label and label! must all match", () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    const keep = pruneFilter(['until=1h', 'label!=keep'], now);
    expect(keep('2026-12-04T10:00:00Z', {})).toBe(true);
    expect(keep('2026-12-04T11:30:00Z', {})).toBe(false);
    expect(keep('2026-12-04T10:00:00Z', { keep: 'yes' })).toBe(false);
    expect(pruneFilter(['until=2026-12-01T00:00:00Z'], now)('2026-11-30T00:00:00Z', {})).toBe(true);
    expect(labelMatch({ a: 'b' }, 'a=b')).toBe(true);
    expect(labelMatch({ a: 'b' }, 'a=c')).toBe(false);
    expect(() => pruneFilter(['dangling=true'])).toThrow(BoxError);
  });
});

describe('ps: a record read through filters and Docker fields', () => {
  const record = {
    id: 'b'.repeat(64),
    name: 'web',
    created: '2026-12-04T10:00:00.000Z',
    config: {
      image: { ref: 'nginx', id: `sha256:${'c'.repeat(64)}`, config: { ExposedPorts: { '80/tcp': {}, '53/udp': {} } } },
      args: ['nginx', '-g', 'daemon off; and a long tail'],
      labels: { tier: 'web', a: '1' },
      network: 'none',
    },
    state: { status: 'exited', exitCode: 0, finishedAt: '2026-12-04T11:00:00.000Z' },
  } as unknown as ContainerRecord;
  const roots = { root: '/nonexistent', runroot: '/nonexistent' };

  it('expose, network, label, exited and name match as Docker', () => {
    const ctx = { roots, resolveImage: () => undefined, findContainer: () => undefined };
    const m = (...f: string[]) => containerFilter(f, ctx)(record);
    expect(m('expose=80')).toBe(true);
    expect(m('expose=53/udp')).toBe(true);
    expect(m('expose=53')).toBe(false); // tcp unless said
    expect(m('expose=50-60/udp')).toBe(true);
    expect(m('publish=80')).toBe(false);
    expect(m('network=none', 'label=tier=web', 'exited=0', 'name=^/web$')).toBe(true);
    expect(m('ancestor=nginx')).toBe(true);
    expect(() => m('since=other')).toThrow('no such container');
  });

  it('gives the fields of docker ps --format', () => {
    const c = psContext(record, roots, { noTrunc: false });
    expect(c).toMatchObject({
      ID: 'b'.repeat(12),
      Image: 'nginx',
      Command: '"nginx -g daemon off…"',
      CreatedAt: '2026-12-04 10:00:00 +0000 UTC',
      Ports: '80/tcp, 53/udp',
      State: 'exited',
      Names: 'web',
      Labels: 'a=1,tier=web',
      Networks: 'none',
      LocalVolumes: '0',
    });
    expect(c.Label('tier')).toBe('web');
    expect(c.Status).toMatch(/^Exited \(0\) /);
  });
});

describe('events --filter', () => {
  const e = {
    Type: 'container',
    Action: 'exec_start: sh -c true',
    status: 'exec_start: sh -c true',
    id: 'd'.repeat(64),
    from: 'busybox',
    Actor: { ID: 'd'.repeat(64), Attributes: { image: 'busybox', name: 'web', tier: 'a' } },
    scope: 'local',
    time: 0,
    timeNano: 0,
  } as BoxEvent;
  const m = (...f: string[]) => parseEventFilters(f)(e);

  it("matches Docker's keys; an image with or without its :latest is the same image", () => {
    expect(m('image=busybox:latest', 'event=exec_start', 'scope=local', 'type=container')).toBe(true);
    expect(m('container=web', 'label=tier=a', `container=${'d'.repeat(6)}`)).toBe(true);
    expect(m('image=busybox:1')).toBe(false);
    expect(m('network=web')).toBe(false); // a container's event is no network's
    expect(m('type=network', 'type=container')).toBe(true);
    expect(() => m('type=boat')).toThrow(BoxError);
    expect(() => m('colour=red')).toThrow(BoxError);
  });
});

describe('prometheus exposition', () => {
  it('writes HELP and TYPE once per metric, labels escaped, health as one series per state', () => {
    const text = prometheusText([
      {
        id: 'a'.repeat(64),
        name: 'web',
        image: 'img"x\\y',
        running: true,
        restarts: 2,
        health: 'healthy',
        sample: { ...ZERO_SAMPLE, cpuNs: 1.5e9, memUsage: 1024, memLimit: 4096, pids: 3 },
      },
    ]);
    const labels = `{id="${'a'.repeat(64)}",name="web",image="img\\"x\\\\y"}`;
    expect(text).toContain('# TYPE box_container_cpu_usage_seconds_total counter\n');
    expect(text).toContain(`box_container_cpu_usage_seconds_total${labels} 1.5\n`);
    expect(text).toContain(`box_container_memory_usage_bytes${labels} 1024\n`);
    expect(text).toContain(`box_container_pids${labels} 3\n`);
    expect(text).toContain(`box_container_restarts_total${labels} 2\n`);
    expect(text).toContain(`box_container_health_status${labels.slice(0, -1)},status="healthy"} 1\n`);
    expect(text).toContain(`box_container_health_status${labels.slice(0, -1)},status="unhealthy"} 0\n`);
    // every sample line is NAME{LABELS} NUMBER
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line).toMatch(/^[a-z_]+\{.*\} -?[\d.e+]+$/);
    expect(text.match(/^# HELP /gm)?.length).toBe(text.match(/^# TYPE /gm)?.length);
  });
});
