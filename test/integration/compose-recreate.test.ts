// `box compose up` recreating a container: its successor takes over its anonymous volumes (a
// service's `volumes: [/path]` and the image's VOLUME paths), as Docker Compose's does, and `-V`
// gives it new ones; either way no anonymous volume of the old container is left behind.
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

    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    const first = id();
    const anonymous = ours();
    expect(anonymous).toHaveLength(2); // /data and the image's /cache
    expect(t.box(p.compose('exec', '-T', 'db', 'sh', '-c', 'echo d > /data/f; echo c > /cache/f')).status).toBe(0);

    // a changed environment recreates the container: it gets the same volumes, with their files
    p.write(yaml(2, '[/data]'));
    const up = t.box(p.compose('up', '-d'));
    expect(up.status).toBe(0);
    expect(up.stderr).toContain('Removed');
    expect(id()).not.toBe(first);
    expect(read()).toBe('d\nc\n');
    expect(ours().sort()).toEqual(anonymous.sort());

    // so does --force-recreate
    const second = id();
    expect(t.box(p.compose('up', '-d', '--force-recreate')).status).toBe(0);
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
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
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
