// `box compose up` recreating a container: its successor takes over its anonymous volumes (a
// service's `volumes: [/path]` and the image's VOLUME paths), as Docker Compose's does, and `-V`
// gives it new ones; either way no anonymous volume of the old container is left behind. Scaling
// down keeps the removed replicas' anonymous volumes, as Docker Compose does.
import { describe, expect, it } from 'vitest';
import { busyboxRoot, busyboxTarball, inspectOne, leftovers, snapshot } from '../support/box';
import { composeProject } from '../support/compose';

const t = busyboxRoot();

const volumes = () => t.box(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean);

describe('compose up recreating a container', () => {
  it('hands the old anonymous volumes to the new container, -V renews them, none is leaked', () => {
    const before = snapshot(t);
    const imported = t.box(['import', busyboxTarball(t.dir), 'cached:1', '--change', 'VOLUME ["/cache"]']);
    expect(imported.status).toBe(0);
    const yaml = (gen: number, vols: string) => `services:
  db:
    image: cached:1
    command: sleep 1000
    init: true
    environment: {GEN: "${gen}"}
    volumes: ${vols}
`;
    const p = composeProject(t, yaml(1, '[/data]'));
    const volumesBefore = volumes();
    const ours = () => volumes().filter((v) => !volumesBefore.includes(v));
    const id = () => inspectOne<{ Id: string }>(t, `${p.name}-db-1`).Id;
    const read = () => t.box(p.compose('exec', '-T', 'db', 'sh', '-c', 'cat /data/f /cache/f 2>&1')).stdout;

    const created = t.box(p.compose('up', '-d'));
    expect(created.status, created.stderr).toBe(0);
    const first = id();
    const anonymous = ours();
    expect(anonymous).toHaveLength(2); // /data and the image's /cache
    expect(t.box(p.compose('exec', '-T', 'db', 'sh', '-c', 'echo d > /data/f; echo c > /cache/f')).status).toBe(0);

    // a changed environment recreates the container: it gets the same volumes, with their files
    p.write(yaml(2, '[/data]'));
    const up = t.box(p.compose('up', '-d'));
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toContain('Removed');
    expect(id()).not.toBe(first);
    expect(read()).toBe('d\nc\n');
    expect(ours().sort()).toEqual(anonymous.sort());

    // so does --force-recreate
    const second = id();
    const forced = t.box(p.compose('up', '-d', '--force-recreate'));
    expect(forced.status, forced.stderr).toBe(0);
    expect(id()).not.toBe(second);
    expect(read()).toBe('d\nc\n');
    expect(ours().sort()).toEqual(anonymous.sort());

    // -V: new, empty volumes; the old ones went with the old container
    p.write(yaml(3, '[/data]'));
    expect(t.box(p.compose('up', '-d', '--renew-anon-volumes')).status).toBe(0);
    expect(read()).toMatch(/^cat: can't open '\/data\/f': No such file or directory\ncat: can't open/);
    const renewed = ours();
    expect(renewed).toHaveLength(2);
    expect(renewed.filter((v) => anonymous.includes(v))).toEqual([]);

    // a path the service no longer mounts: its volume goes with the old container, the image's stays
    expect(t.box(p.compose('exec', '-T', 'db', 'sh', '-c', 'echo c2 > /cache/f')).status).toBe(0);
    p.write(yaml(3, '[]'));
    const dropped = t.box(p.compose('up', '-d'));
    expect(dropped.status, dropped.stderr).toBe(0);
    expect(t.box(p.compose('exec', '-T', 'db', 'cat', '/cache/f')).stdout).toBe('c2\n');
    const last = ours();
    expect(last).toHaveLength(1);
    expect(renewed).toContain(last[0]);

    expect(t.box(p.compose('down', '-v', '-t', '0')).status).toBe(0);
    expect(ours()).toEqual([]);
    expect(t.box(['rmi', 'cached:1']).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });
});

describe('compose up scaling a service down', () => {
  it("keeps the removed replicas' anonymous volumes, as Docker Compose does; volume prune takes them", () => {
    const before = snapshot(t);
    const p = composeProject(
      t,
      'services:\n  web: {image: busybox, command: sleep 1000, init: true, volumes: [/data]}\n',
    );
    const volumesBefore = volumes();
    const ours = () => volumes().filter((v) => !volumesBefore.includes(v));
    const anonymousOf = (n: number) =>
      inspectOne<{ Mounts: { Name: string }[] }>(t, `${p.name}-web-${n}`).Mounts.map((m) => m.Name);
    const up = t.box(p.compose('up', '-d', '--scale', 'web=3'));
    expect(up.status, up.stderr).toBe(0);
    const [kept, ...removed] = [1, 2, 3].flatMap(anonymousOf);
    expect(ours().sort()).toEqual([kept, ...removed].sort());

    // Docker Compose removes surplus replicas without their volumes (RemoveVolumes: false)
    const down = t.box(p.compose('up', '-d', '--scale', 'web=1'));
    expect(down.status).toBe(0);
    expect(down.stderr).toContain(`Container ${p.name}-web-3  Removed`);
    expect(ours().sort()).toEqual([kept, ...removed].sort());
    const dangling = t.box(['volume', 'ls', '-q', '--filter', 'dangling=true']).stdout.split('\n').filter(Boolean);
    expect(dangling.sort()).toEqual(removed.sort());
    expect(t.box(['volume', 'prune', '-f']).status).toBe(0);
    expect(ours()).toEqual([kept]);

    expect(t.box(p.compose('down', '-v', '-t', '0')).status).toBe(0);
    expect(ours()).toEqual([]);
    expect(leftovers(t, before)).toEqual([]);
  });
});
