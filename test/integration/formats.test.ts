// --format (Go templates, json, table) and --filter on the real commands: ps, inspect, images,
// stats, events, version, info; inspect --type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRoot, busyboxTarball, runDetached } from '../support/box';

describe('--format and --filter', () => {
  const t = busyboxRoot();
  const ok = (args: string[]) => {
    const r = t.box(args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  };
  let upId = '';

  beforeAll(() => {
    // `web` labelled and running, `done` exited 0, `failed` exited 3, `fresh` only created
    ok(['import', '--change', 'LABEL tier=base', '--change', 'CMD ["sh"]', busyboxTarball(t.dir), 'other:2']);
    ok(['run', '--name', 'done', 'busybox', 'true']);
    expect(t.box(['run', '--name', 'failed', '--label', 'tier=back', 'busybox', 'sh', '-c', 'exit 3']).status).toBe(3);
    upId = runDetached(t, '--name', 'web', '--label', 'tier=web', '--label', 'team=a', 'busybox', 'sleep', '300');
    ok(['create', '--name', 'fresh', 'other:2', 'true']);
  });
  afterAll(() => {
    t.box(['rm', '-f', 'web', 'done', 'failed', 'fresh']);
  });

  it('ps runs a Go template per container, table lines up under Docker headers', () => {
    expect(ok(['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Label "tier"}}'])).toBe(
      'fresh created base\nweb running web\nfailed exited back\ndone exited \n',
    );
    const table = ok(['ps', '--format', 'table {{.ID}}\\t{{.Names}}\\t{{.Labels}}\\t{{.Networks}}']);
    expect(table).toBe(
      `CONTAINER ID   NAMES     LABELS            NETWORKS\n${upId.slice(0, 12)}   web       team=a,tier=web   bridge\n`,
    );
    const row = JSON.parse(ok(['ps', '--format', '{{json .}}']));
    expect(row).toMatchObject({ ID: upId.slice(0, 12), Names: 'web', Command: '"sleep 300"', State: 'running' });
    expect(row.CreatedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    expect(ok(['ps', '--no-trunc', '--format', '{{.ID}}'])).toBe(`${upId}\n`);
    expect(ok(['ps', '--size', '--format', '{{.Size}}'])).toMatch(/^\d[\d.]*k?B \(virtual \d[\d.]*[kM]B\)\n$/);
    expect(ok(['ps', '-s']).split('\n')[0]).toMatch(/ NAMES +SIZE$/);
    expect(ok(['ps', '--format', 'table']).split('\n')[0]).toMatch(
      /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/,
    );
  });

  it('a template error is one line pointing at it, exit 1 as Docker, and prints nothing else', () => {
    for (const [args, message] of [
      [
        ['ps', '--format', '{{.Nmes}}'],
        new RegExp(
          '^box: template parsing error: template: :1:2: executing "" at <\\.Nmes>: ' +
            "can't evaluate field Nmes in type container \\(its fields: \\.ID .*\\)\n$",
        ),
      ],
      [['ps', '--format', '{{.Names'], /^box: template parsing error: template: :1: unclosed action\n$/],
      [
        ['inspect', '-f', '{{.State.Nope}}', 'web'],
        /^box: template parsing error: template: :1:2: executing "" at <\.State\.Nope>: map has no entry for key "Nope"\n$/,
      ],
      [
        ['images', '--format', '{{nosuch .ID}}'],
        /^box: template parsing error: template: :1: function "nosuch" not defined\n$/,
      ],
    ] as const) {
      const r = t.box([...args]);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.status, args.join(' ')).toBe(1);
    }
  });

  it('ps --filter: status, name, id, label, exited, ancestor, since, before, health, expose, network', () => {
    const names = (...filters: string[]) =>
      ok(['ps', ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Names}}'])
        .split('\n')
        .filter(Boolean)
        .sort();
    expect(names('status=exited')).toEqual(['done', 'failed']);
    expect(names('status=exited', 'status=created')).toEqual(['done', 'failed', 'fresh']);
    expect(names('name=^/?we')).toEqual(['web']);
    expect(names(`id=${upId.slice(0, 6)}`)).toEqual(['web']);
    expect(names('label=tier')).toEqual(['failed', 'fresh', 'web']);
    expect(names('label=tier=back')).toEqual(['failed']);
    expect(names('exited=3')).toEqual(['failed']);
    expect(names('exited=0', 'status=exited')).toEqual(['done']);
    expect(names('ancestor=other:2')).toEqual(['fresh']);
    expect(names('ancestor=busybox')).toEqual(['done', 'failed', 'web']);
    expect(names('since=failed')).toEqual(['fresh', 'web']);
    expect(names('before=failed')).toEqual(['done']);
    expect(names('health=none', 'status=running')).toEqual(['web']);
    expect(names('expose=80')).toEqual([]);
    expect(names('publish=8080/tcp')).toEqual([]);
    expect(names('network=bridge')).toEqual(['done', 'failed', 'fresh', 'web']);
    expect(names('network=none')).toEqual([]);
    expect(names('network=host')).toEqual([]);
    for (const bad of ['colour=red', 'status=sleeping', 'exited=x', 'since=nope', 'expose=80/ftp', 'name=(']) {
      const r = t.box(['ps', '--filter', bad]);
      expect(r.status, bad).toBe(125);
      expect(r.stderr.split('\n').length, bad).toBe(2);
    }
  });

  it('inspect: -f on containers and images, --type, any object by name, json', () => {
    expect(ok(['inspect', '-f', '{{.State.Status}} {{.Name}} {{index .Config.Labels "tier"}}', 'web', 'done'])).toBe(
      'running /web web\nexited /done \n',
    );
    expect(ok(['inspect', '--format', '{{.State.Pid}}', 'web'])).toMatch(/^[1-9]\d*\n$/);
    expect(ok(['inspect', '-f', '{{json .Config.Labels}}', 'fresh'])).toBe('{"tier":"base"}\n');
    expect(ok(['inspect', '-f', '{{.RepoTags}} {{.Config.Labels.tier}}', 'other:2'])).toBe('[other:2] base\n');
    expect(ok(['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', 'busybox'])).toMatch(/^linux\/\w+\n$/);
    expect(ok(['container', 'inspect', '-f', '{{.Name}}', 'web'])).toBe('/web\n');
    expect(JSON.parse(ok(['inspect', '--format', 'json', 'web', 'busybox'])).length).toBe(2);
    const wrongType = t.box(['inspect', '--type', 'container', 'busybox']);
    expect(wrongType.stderr).toBe('box: no such container: busybox\n');
    expect(wrongType.status).toBe(1);
    expect(t.box(['inspect', '--type', 'volcano', 'web']).stderr).toMatch(
      /^box: invalid --type "volcano": use container or image/,
    );
  });

  it('images: --format with Docker fields and table, --filter dangling, label, reference, before, since', () => {
    expect(ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n').filter(Boolean).sort()).toEqual([
      'busybox:latest',
      'other:2',
    ]);
    const table = ok(['images', '--format', 'table {{.Repository}}\\t{{.Tag}}', '--filter', 'reference=oth*']);
    expect(table).toBe('REPOSITORY   TAG\nother        2\n');
    const repos = (...f: string[]) =>
      ok(['images', ...f.flatMap((x) => ['--filter', x]), '--format', '{{.Repository}}'])
        .split('\n')
        .filter(Boolean);
    expect(repos('label=tier=base')).toEqual(['other']);
    expect(repos('label=tier')).toEqual(['other']);
    expect(repos('dangling=true')).toEqual([]);
    expect(repos('dangling=false').sort()).toEqual(['busybox', 'other']);
    expect(repos('reference=busybox:latest')).toEqual(['busybox']);
    expect(repos('since=busybox')).toEqual(['other']);
    expect(repos('before=other:2')).toEqual(['busybox']);
    expect(t.box(['images', '--filter', 'reference=[']).status).toBe(125);
  });

  it('stats, events, version and info take templates with Docker field names', () => {
    expect(ok(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'web'])).toBe('web 1\n');
    const stat = JSON.parse(ok(['stats', '--no-stream', '--format', 'json', 'web']));
    expect(stat).toMatchObject({ Container: 'web', ID: upId.slice(0, 12), Name: 'web', PIDs: '1' });
    expect(stat.MemUsage).toMatch(/^[\d.]+\w*B \/ [\d.]+\w*B$/);
    const prom = ok(['stats', '--format', 'prometheus', 'web']);
    const series = `{id="${upId}",name="web",image="busybox"}`;
    expect(prom).toContain(`box_container_running${series} 1\n`);
    expect(prom).toContain(`box_container_pids${series} 1\n`);
    expect(Number(/box_container_memory_usage_bytes\{.*\} (\d+)/.exec(prom)?.[1])).toBeGreaterThan(0);
    const events = ok([
      'events',
      '--since',
      '10m',
      '--until',
      '0s',
      '--filter',
      'name=failed',
      '--format',
      '{{.Action}} {{.Actor.Attributes.name}} {{.Type}}',
    ]);
    expect(events).toBe('create failed container\nstart failed container\ndie failed container\n');
    const one = JSON.parse(
      ok(['events', '--since', '10m', '--until', '0s', '--filter', 'event=die', '--format', '{{json .}}']).split(
        '\n',
      )[0],
    );
    expect(one).toMatchObject({ Type: 'container', Action: 'die', scope: 'local' });
    expect(ok(['version', '--format', '{{.Client.Version}}'])).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(
      ok(['info', '--format', '{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}} {{.OSType}}']),
    ).toBe('4 1 3 2 linux\n');
  });
});
