// `box volume create/ls/inspect/rm/prune`: Docker's output and errors, the local driver's options,
// and the leftovers of a killed volume command reclaimed by the next one that deletes or lists volumes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestRoot } from '../support/box';

const t = new TestRoot();
afterAll(() => t.cleanup());

const names = () => t.box(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean).sort();

describe('box volume', () => {
  it('creates, lists, inspects and removes named and anonymous volumes', () => {
    expect(t.box(['volume', 'create', 'data1']).stdout).toBe('data1\n');
    const c = t.box(['volume', 'create', '--label', 'team=db', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'fast']);
    expect(c.status).toBe(0);
    const anon = t.box(['volume', 'create']).stdout.trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect(names()).toEqual([anon, 'data1', 'fast'].sort());
    expect(t.box(['volume', 'ls']).stdout.split('\n')[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    expect(t.box(['volume', 'ls', '-q', '--filter', 'label=team=db']).stdout).toBe('fast\n');
    expect(t.box(['volume', 'ls', '-q', '--filter', 'name=dat']).stdout).toBe('data1\n');
    expect(t.box(['volume', 'ls', '-q', '--filter', 'dangling=false']).stdout).toBe('');
    // Docker's four volume filters: the driver one too (every box volume is local's)
    expect(t.box(['volume', 'ls', '-q', '--filter', 'driver=local', '--filter', 'name=fast']).stdout).toBe('fast\n');
    expect(t.box(['volume', 'ls', '-q', '--filter', 'driver=other']).stdout).toBe('');

    const [v] = JSON.parse(t.box(['volume', 'inspect', 'fast']).stdout);
    expect(v).toMatchObject({
      Driver: 'local',
      Name: 'fast',
      Labels: { team: 'db' },
      Options: { type: 'tmpfs', device: 'tmpfs' },
      Scope: 'local',
      Mountpoint: path.join(t.root, 'volumes', 'fast', '_data'),
    });
    expect(v.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(fs.statSync(v.Mountpoint).mode & 0o7777).toBe(0o755);
    // a second create of the same name is the same volume
    expect(t.box(['volume', 'create', 'data1']).stdout).toBe('data1\n');

    // prune without -a takes only anonymous volumes; -a the rest
    expect(t.box(['volume', 'prune', '-f']).stdout).toBe(`Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 0B\n`);
    expect(t.box(['volume', 'rm', 'data1']).stdout).toBe('data1\n');
    expect(names()).toEqual(['fast']);
    expect(t.box(['volume', 'prune', '-a']).stdout).toContain('fast\n');
    expect(names()).toEqual([]);
  });

  it('refuses bad input in one line with exit 125, creating nothing', () => {
    const cases: Array<[string[], RegExp]> = [
      [['volume', 'create', 'a/b'], /"a\/b" includes invalid characters for a local volume name/],
      [['volume', 'create', '-o', 'colour=red', 'vv'], /invalid option key: "colour"/],
      [['volume', 'create', '-o', 'device=/dev/sda1', 'vv'], /missing required option: "type"/],
      [['volume', 'create', '-o', 'type=ext4', 'vv'], /missing required option: "device"/],
      [['volume', 'create', '-d', 'nfs', 'vv'], /volume driver "nfs" is not supported/],
      [['volume', 'ls', '--filter', 'colour=red'], /invalid filter 'colour'/],
      [
        ['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${t.root}/containers`, 'vv'],
        /inside box's own storage/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = t.box(args);
      expect(r.status, args.join(' ')).toBe(125);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(names()).toEqual([]);
  });

  it('reports missing volumes as Docker does, going on with the others', () => {
    t.box(['volume', 'create', 'keep']);
    const i = t.box(['volume', 'inspect', 'nosuch']);
    expect(i.status).toBe(1);
    expect(i.stderr).toBe('box: no such volume: nosuch\n');
    const r = t.box(['volume', 'rm', 'nosuch', 'keep']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('keep\n');
    expect(t.box(['volume', 'rm', '-f', 'nosuch']).status).toBe(0);
  });

  it('reclaims what a killed creation or removal left, and uses of containers that do not exist', () => {
    t.box(['volume', 'create', 'used']);
    const dir = path.join(t.root, 'volumes');
    // a creation and a removal killed midway (pid 999999999 never exists), and a use of a container
    // whose creation died before its record was written
    fs.mkdirSync(path.join(dir, '.new-x-999999999.1-ab'));
    fs.mkdirSync(path.join(dir, '.trash-y-999999999.1-cd'));
    // a removal killed after moving a volume away, which a container (listed below) still uses
    fs.mkdirSync(path.join(dir, '.trash-back-999999999.1-ef', 'uses'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, '.trash-back-999999999.1-ef', 'volume.json'),
      JSON.stringify({
        name: 'back',
        driver: 'local',
        createdAt: new Date().toISOString(),
        labels: {},
        options: {},
        anonymous: true,
      }),
    );
    const user = 'e'.repeat(64);
    fs.writeFileSync(path.join(dir, '.trash-back-999999999.1-ef', 'uses', user), '');
    fs.mkdirSync(path.join(t.root, 'containers', user), { recursive: true });
    fs.writeFileSync(path.join(dir, 'used', 'uses', 'f'.repeat(64)), '');
    // volume ls reconciles too (nobody holds the store's lock): the dead creation's use goes
    expect(t.box(['volume', 'ls', '-q', '--filter', 'dangling=true']).stdout).toBe('used\n');
    expect(fs.readdirSync(path.join(dir, 'used', 'uses'))).toEqual([]);
    fs.writeFileSync(path.join(dir, 'used', 'uses', 'f'.repeat(64)), '');
    expect(t.box(['volume', 'prune']).status).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['back', 'used']);
    fs.rmSync(path.join(t.root, 'containers', user), { recursive: true });
    expect(t.box(['volume', 'rm', 'back']).status).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'used', 'uses'))).toEqual([]);
    expect(t.box(['volume', 'rm', 'used']).status).toBe(0);
  });
});
