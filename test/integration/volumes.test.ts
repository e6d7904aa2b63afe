// Volumes, bind mounts and tmpfs mounts of containers (issue 11): data kept across containers,
// copy-up of the image's content (owners, modes, links, hard links, xattrs), read-only mounts, tmpfs sizes,
// --volumes-from, anonymous volumes (the image's VOLUME, -v /path) removed by run --rm and rm -v,
// bad flags refused before anything exists, and a start that fails midway leaving nothing.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  busyboxRoot,
  busyboxTarball,
  exitOf,
  mountsOf,
  mountsUnder,
  storeSnapshot,
  TestRoot,
  until,
  holdLockFile,
} from '../support/box';

const t = busyboxRoot();

const volumes = (root: TestRoot = t) => root.box(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean).sort();
const run = (...args: string[]) => t.box(['run', '--rm', ...args]);

/** The busybox image plus /data (owned 1000:1000, with a link, a FIFO, an xattr and `many` more files), optionally a VOLUME. */
function importDataImage(name: string, change: string[] = [], many = 0): void {
  const dir = fs.mkdtempSync(path.join(t.dir, 'img-'));
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(rootfs);
  expect(spawnSync('tar', ['-C', rootfs, '-xf', busyboxTarball(t.dir)]).status).toBe(0);
  const data = path.join(rootfs, 'data');
  fs.mkdirSync(path.join(data, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(data, 'sub', 'file'), 'from the image\n');
  fs.symlinkSync('sub/file', path.join(data, 'link'));
  spawnSync('mkfifo', [path.join(data, 'fifo')]);
  const file = path.join(data, 'sub', 'file');
  expect(
    spawnSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "user.origin", b"image")', file]).status,
  ).toBe(0);
  spawnSync('chown', ['-R', '-h', '1000:1000', data]);
  fs.chmodSync(data, 0o750);
  fs.chmodSync(path.join(data, 'sub', 'file'), 0o640);
  if (many) fs.mkdirSync(path.join(data, 'many'));
  for (let i = 0; i < many; i++) fs.writeFileSync(path.join(data, 'many', `f${i}`), `${i}\n`);
  const tar = path.join(dir, 'img.tar');
  const r = spawnSync('tar', ['--xattrs', '--xattrs-include=user.*', '--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
  expect(r.status).toBe(0);
  const imported = t.box(['import', tar, name, '--change', 'CMD ["sh"]', ...change.flatMap((c) => ['--change', c])]);
  expect(imported.stderr).toBe('');
  fs.rmSync(dir, { recursive: true, force: true });
}

describe('volumes and bind mounts', () => {
  it('keeps a named volume’s data for the next container, after the first is removed', () => {
    const w = t.box(['run', '--name', 'writer', '-v', 'shared:/v', 'busybox', 'sh', '-c', 'echo kept > /v/f']);
    expect(w.status).toBe(0);
    // in use while the container exists, also with -f (Docker's rule)
    for (const force of [[], ['-f']]) {
      const busy = t.box(['volume', 'rm', ...force, 'shared']);
      expect(busy.status).toBe(1);
      expect(busy.stderr).toMatch(
        /^box: remove shared: volume is in use - \[[0-9a-f]{12}\]: remove those containers first\n$/,
      );
    }
    expect(t.box(['volume', 'prune', '-a']).stdout).not.toContain('shared');
    expect(t.box(['rm', 'writer']).status).toBe(0);
    expect(run('-v', 'shared:/w', 'busybox', 'cat', '/w/f').stdout).toBe('kept\n');
    expect(t.box(['volume', 'rm', 'shared']).status).toBe(0);
  });

  it('copies the image’s content into a new empty volume (owners, modes, links, xattrs), not with nocopy', async () => {
    importDataImage('data:1');
    const show = 'cd /data && stat -c "%n %u:%g %a %F" . sub sub/file link fifo && readlink link && cat link';
    const r = run('-v', 'copied:/data', 'data:1', 'sh', '-c', show);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        '. 1000:1000 750 directory',
        'sub 1000:1000 755 directory',
        'sub/file 1000:1000 640 regular file',
        'link 1000:1000 777 symbolic link',
        'fifo 1000:1000 644 fifo',
        'sub/file',
        'from the image',
        '',
      ].join('\n'),
    );
    const file = path.join(t.root, 'volumes', 'copied', '_data', 'sub', 'file');
    const getXattr = 'import os,sys; print(os.getxattr(sys.argv[1], "user.origin").decode())';
    expect(spawnSync('python3', ['-c', getXattr, file], { encoding: 'utf8' }).stdout).toBe('image\n');
    // a volume that is not empty any more is never written over
    expect(run('-v', 'copied:/data', 'busybox', 'sh', '-c', 'rm /data/sub/file').status).toBe(0);
    expect(run('-v', 'copied:/data', 'data:1', 'ls', '/data/sub').stdout).toBe('');
    // containers starting at once with the same new volume over many files: one copies, none fails
    importDataImage('many:1', [], 2000);
    const starts = Array.from({ length: 4 }, () =>
      exitOf(t.start(['run', '--rm', '-v', 'together:/data', 'many:1', 'sh', '-c', 'ls /data/many | wc -l'])),
    );
    for (const r of await Promise.all(starts)) {
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('2000');
    }
    expect(t.box(['volume', 'rm', 'together']).status).toBe(0);
    // nocopy: the new volume stays empty
    expect(run('-v', 'empty:/data:nocopy', 'data:1', 'ls', '-A', '/data').stdout).toBe('');
    expect(run('--mount', 'source=empty2,target=/data,volume-nocopy', 'data:1', 'ls', '-A', '/data').stdout).toBe('');
    expect(t.box(['volume', 'rm', 'copied', 'empty', 'empty2']).status).toBe(0);
  });

  it('keeps files hard-linked in the image hard-linked in the volume, and follows no link out', () => {
    const dir = fs.mkdtempSync(path.join(t.dir, 'img-'));
    const rootfs = path.join(dir, 'rootfs');
    fs.mkdirSync(rootfs);
    expect(spawnSync('tar', ['-C', rootfs, '-xf', busyboxTarball(t.dir)]).status).toBe(0);
    const data = path.join(rootfs, 'data');
    fs.mkdirSync(path.join(data, 'a', 'deep'), { recursive: true });
    fs.mkdirSync(path.join(data, 'b'));
    fs.writeFileSync(path.join(data, 'a', 'deep', 'first'), 'one inode\n');
    fs.linkSync(path.join(data, 'a', 'deep', 'first'), path.join(data, 'b', 'second'));
    fs.linkSync(path.join(data, 'a', 'deep', 'first'), path.join(data, 'third'));
    fs.writeFileSync(path.join(data, 'alone'), 'its own\n');
    // links out of the image's directory: copied as links, never followed
    fs.symlinkSync('/etc/hostname', path.join(data, 'out'));
    fs.symlinkSync('../../..', path.join(data, 'up'));
    const tar = path.join(dir, 'img.tar');
    expect(spawnSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', tar, '.']).status).toBe(0);
    expect(t.box(['import', tar, 'hardlinks:1']).status).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });

    const show = 'cd /data && stat -c "%n %h" a/deep/first b/second third alone && cat b/second';
    const r = run('-v', 'linked:/data', 'hardlinks:1', 'sh', '-c', show);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('a/deep/first 3\nb/second 3\nthird 3\nalone 1\none inode\n');
    const vol = path.join(t.root, 'volumes', 'linked', '_data');
    const ino = (p: string) => fs.lstatSync(path.join(vol, p)).ino;
    expect(ino('b/second')).toBe(ino('a/deep/first'));
    expect(ino('third')).toBe(ino('a/deep/first'));
    expect(ino('alone')).not.toBe(ino('a/deep/first'));
    expect(fs.readlinkSync(path.join(vol, 'out'))).toBe('/etc/hostname');
    expect(fs.readlinkSync(path.join(vol, 'up'))).toBe('../../..');
    expect(t.box(['volume', 'rm', 'linked']).status).toBe(0);
    expect(t.box(['rmi', 'hardlinks:1']).status).toBe(0);
  });

  it('drops the use a `run` killed before its record left, at the next ps or volume ls', async () => {
    expect(t.box(['create', '--name', 'taken', 'busybox', 'true']).status).toBe(0);
    onTestFinished(() => void t.box(['rm', '-f', 'taken']));
    const uses = path.join(t.root, 'volumes', 'held', 'uses');
    const usesNow = () => (fs.existsSync(uses) ? fs.readdirSync(uses) : []);
    for (const next of [
      ['ps', '-a'],
      ['volume', 'ls', '-q', '--filter', 'dangling=true'],
    ]) {
      // the names lock held: a `run` asking for a name in use waits there, after it registered the
      // volume's use and before it writes its record
      const lockFile = path.join(t.root, 'run', 'locks', 'names.lock');
      const holder = holdLockFile(lockFile);
      const box = t.start(['run', '--name', 'taken', '-v', 'held:/x', 'busybox', 'true']);
      onTestFinished(() => void box.kill('SIGKILL'));
      const done = exitOf(box);
      const [id] = until('the use registered', usesNow, (u) => u.length === 1);
      expect(fs.existsSync(path.join(t.root, 'containers', id))).toBe(false);
      box.kill('SIGKILL');
      expect((await done).signal).toBe('SIGKILL');
      holder.kill('SIGKILL');
      await exitOf(holder);
      expect(usesNow()).toEqual([id]);
      const r = t.box(next);
      expect(r.status).toBe(0);
      expect(usesNow()).toEqual([]);
      if (next[0] === 'volume') expect(r.stdout).toContain('held\n');
    }
    expect(t.box(['volume', 'rm', 'held']).status).toBe(0);
  });

  it('refuses writes to a read-only volume or bind with EROFS, and binds a host directory', () => {
    const host = fs.mkdtempSync(path.join(t.dir, 'bind-'));
    fs.writeFileSync(path.join(host, 'h'), 'host file\n');
    const r = run('-v', `${host}:/h:ro`, '-v', 'rov:/r:ro', 'busybox', 'sh', '-c', 'cat /h/h; touch /h/x; touch /r/x');
    expect(r.stdout).toBe('host file\n');
    expect(r.stderr).toBe('touch: /h/x: Read-only file system\ntouch: /r/x: Read-only file system\n');
    const w = run('--mount', `type=bind,source=${host},target=/h`, 'busybox', 'sh', '-c', 'echo back > /h/w');
    expect(w.status).toBe(0);
    expect(fs.readFileSync(path.join(host, 'w'), 'utf8')).toBe('back\n');
    // -v makes a missing host directory; --mount refuses it
    const missing = path.join(host, 'made', 'here');
    expect(run('-v', `${missing}:/m`, 'busybox', 'true').status).toBe(0);
    expect(fs.statSync(missing).isDirectory()).toBe(true);
    const m = run('--mount', `type=bind,source=${host}/nope,target=/m`, 'busybox', 'true');
    expect(m.status).toBe(125);
    expect(m.stderr).toMatch(/bind source path does not exist/);
    t.box(['volume', 'rm', 'rov']);
  });

  it('enforces a tmpfs size, with Docker’s default flags', () => {
    const r = run(
      '--tmpfs',
      '/t:size=1m',
      '--mount',
      'type=tmpfs,target=/u,tmpfs-mode=1770',
      'busybox',
      'sh',
      '-c',
      'grep -E " /(t|u) " /proc/mounts; dd if=/dev/zero of=/t/big bs=1k count=2048 2>&1 | grep -o "No space left on device"; stat -c %a /u',
    );
    expect(r.stdout).toMatch(/^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/m);
    expect(r.stdout).toMatch(/^tmpfs \/u tmpfs rw,nosuid,nodev,noexec,relatime,mode=1770/m);
    expect(r.stdout).toMatch(/No space left on device/);
    expect(r.stdout.trim().split('\n').pop()).toBe('1770');
  });

  it('mounts another container’s volumes and binds with --volumes-from, read-only on request', () => {
    const src = t.box(['create', '--name', 'source', '-v', 'fromvol:/a', '-v', '/anon', 'busybox']);
    expect(src.status).toBe(0);
    expect(run('--volumes-from', 'source', 'busybox', 'sh', '-c', 'echo 1 > /a/f && echo 2 > /anon/g').status).toBe(0);
    const ro = run('--volumes-from', 'source:ro', 'busybox', 'sh', '-c', 'cat /a/f /anon/g; touch /a/x');
    expect(ro.stdout).toBe('1\n2\n');
    expect(ro.stderr).toMatch(/Read-only file system/);
    const bad = run('--volumes-from', 'nosuch', 'busybox', 'true');
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/no such container: nosuch/);
    expect(t.box(['rm', '-v', 'source']).status).toBe(0);
    expect(volumes()).toEqual(['fromvol']);
    t.box(['volume', 'rm', 'fromvol']);
  });

  it('gives the image’s VOLUME paths anonymous volumes, removed by run --rm and rm -v, kept by rm', async () => {
    importDataImage('data:vol', ['VOLUME ["/data"]']);
    expect(run('data:vol', 'cat', '/data/sub/file').stdout).toBe('from the image\n');
    expect(volumes()).toEqual([]);
    expect(run('-v', '/x', 'busybox', 'true').status).toBe(0);
    expect(volumes()).toEqual([]);
    // also while another command holds the store's lock (a pull, a starting run)
    const lockFile = path.join(t.root, 'run', 'locks', 'store.lock');
    const holder = spawn('flock', ['--shared', lockFile, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const released = exitOf(holder);
    try {
      until(
        'the store lock held',
        () => spawnSync('flock', ['-n', '-x', lockFile, 'true']).status,
        (st) => st !== 0,
      );
      expect(run('-v', '/x', 'busybox', 'true').status).toBe(0);
      expect(volumes()).toEqual([]);
    } finally {
      holder.stdin!.end();
      await released; // the event loop must run for the pipe to close
    }
    expect(t.box(['run', '--name', 'keeps', 'data:vol', 'true']).status).toBe(0);
    const [anon] = volumes();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect(t.box(['volume', 'ls', '-q', '--filter', 'dangling=true']).stdout).toBe('');
    expect(t.box(['rm', 'keeps']).status).toBe(0);
    expect(t.box(['volume', 'ls', '-q', '--filter', 'dangling=true']).stdout).toBe(`${anon}\n`);
    expect(t.box(['run', '--name', 'goes', 'data:vol', 'true']).status).toBe(0);
    expect(t.box(['rm', '-v', 'goes']).status).toBe(0);
    expect(volumes()).toEqual([anon]);
    expect(t.box(['volume', 'prune']).stdout).toContain(anon);
    // a mount given for the path replaces the image's anonymous volume
    expect(run('-v', 'given:/data', 'data:vol', 'true').status).toBe(0);
    expect(volumes()).toEqual(['given']);
    t.box(['volume', 'rm', 'given']);
  });

  it('refuses bad mount flags in one line with exit 125, before anything is created', () => {
    const before = storeSnapshot(t.root);
    const cases: Array<[string[], RegExp]> = [
      [['-v', 'rel/path:/x'], /invalid volume specification: 'rel\/path:\/x'/],
      [['-v', 'vol:relative'], /mount path must be absolute/],
      [['-v', 'vol:/'], /destination can't be '\/'/],
      [['-v', 'vol:/x:rw,ro'], /invalid mode: rw,ro/],
      [['-v', 'vol:/x:bogus'], /invalid mode: bogus/],
      [['-v', '/a:/b:c:d'], /invalid volume specification/],
      [['-v', '/h:/x:nocopy'], /nocopy is for volumes only/],
      [['-v', 'av:/x', '--tmpfs', '/x'], /Duplicate mount point: \/x/],
      [['--mount', 'type=nfs,target=/x'], /invalid type "nfs"/],
      [['--mount', 'source=v'], /target is required/],
      [['--mount', 'type=bind,target=/x'], /field Source must not be empty/],
      [['--mount', 'type=tmpfs,source=x,target=/x'], /field Source must not be specified/],
      [
        ['--mount', 'type=volume,target=/x,bind-propagation=shared'],
        /cannot mix 'bind-propagation' options with type 'volume'/,
      ],
      [['--mount', 'target=/x,colour=red'], /unexpected key 'colour'/],
      [['--tmpfs', '/t:size=lots'], /invalid tmpfs option "size=lots"/],
      [['--tmpfs', 't'], /mount path must be absolute/],
      [['--volumes-from', 'c:rx'], /invalid --volumes-from 'c:rx'/],
      [['-v', `${t.root}/containers:/x`], /inside box's own storage/],
    ];
    for (const [flags, message] of cases) {
      const r = t.box(['run', '--rm', ...flags, 'busybox', 'true']);
      expect(r.status, flags.join(' ')).toBe(125);
      expect(r.stderr, flags.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(storeSnapshot(t.root).filter((l) => !l.startsWith('run'))).toEqual(
      before.filter((l) => !l.startsWith('run')),
    );
  });

  it('leaves no mount and no volume use behind when a start fails after some mounts', () => {
    const host = fs.mkdtempSync(path.join(t.dir, 'fail-'));
    fs.writeFileSync(path.join(host, 'file'), '');
    const before = mountsOf(t.dir); // this root's alone: other test runs mount and unmount meanwhile
    // the volume and the tmpfs are mounted, then a file cannot be bound over the image's /bin
    const r = run('-v', 'partial:/p', '--tmpfs', '/q', '-v', `${host}/file:/bin`, 'busybox', 'true');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/cannot start the container \(bind\)/);
    expect(mountsOf(t.dir)).toEqual(before);
    expect(mountsUnder(t.dir)).toEqual([]);
    expect(fs.readdirSync(path.join(t.root, 'volumes', 'partial', 'uses'))).toEqual([]);
    expect(t.box(['volume', 'rm', 'partial']).status).toBe(0);
    // a record that cannot be written (the name is taken) takes back the volumes made for it
    expect(t.box(['create', '--name', 'taken', 'busybox']).status).toBe(0);
    const dup = t.box(['create', '--name', 'taken', '-v', '/anon', '-v', 'dupvol:/d', 'busybox']);
    expect(dup.status).toBe(125);
    expect(volumes()).toEqual([]);
    expect(t.box(['rm', 'taken']).status).toBe(0);
  });

  it('shows Mounts and HostConfig Binds/Mounts/Tmpfs as Docker does', () => {
    const host = fs.mkdtempSync(path.join(t.dir, 'insp-'));
    const c = t.box([
      'create',
      '--name',
      'shown',
      '-v',
      'iv:/v:ro',
      '-v',
      `${host}:/h`,
      '-v',
      '/anon',
      '--mount',
      `type=bind,source=${host},target=/m,readonly,bind-propagation=rslave`,
      '--tmpfs',
      '/t:size=1m',
      'busybox',
    ]);
    expect(c.stderr).toBe('');
    interface Shown {
      Mounts: Array<Record<string, unknown>>;
      HostConfig: { Binds: string[]; Mounts: Array<Record<string, unknown>>; Tmpfs: Record<string, string> };
    }
    const i = (JSON.parse(t.box(['inspect', 'shown']).stdout) as Shown[])[0];
    expect(i.HostConfig.Binds).toEqual(['iv:/v:ro', `${host}:/h`]);
    expect(i.HostConfig.Mounts).toEqual([
      { Type: 'bind', Source: host, Target: '/m', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
    ]);
    expect(i.HostConfig.Tmpfs).toEqual({ '/t': 'size=1m' });
    expect(
      (JSON.parse(t.box(['inspect', 'shown']).stdout)[0] as { Config: { Volumes: object } }).Config.Volumes,
    ).toEqual({
      '/anon': {},
    });
    const byDest = Object.fromEntries(i.Mounts.map((m) => [m.Destination, m]));
    expect(Object.keys(byDest).sort()).toEqual(['/anon', '/h', '/m', '/v']);
    expect(byDest['/v']).toEqual({
      Type: 'volume',
      Name: 'iv',
      Source: path.join(t.root, 'volumes', 'iv', '_data'),
      Destination: '/v',
      Driver: 'local',
      Mode: 'ro',
      RW: false,
      Propagation: '',
    });
    expect(byDest['/h']).toMatchObject({ Type: 'bind', Source: host, RW: true, Propagation: 'rprivate' });
    expect(byDest['/anon']).toMatchObject({ Type: 'volume', Name: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(t.box(['rm', '-v', 'shown']).status).toBe(0);
    t.box(['volume', 'rm', 'iv']);
  });

  it('copies into a mounted path of a running or stopped container into the volume; diff and export leave mounts out', () => {
    const id = t.box(['run', '-d', '--name', 'cpv', '-v', 'cpvol:/v', 'busybox', 'sleep', '600']).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const local = path.join(t.dir, 'to-copy');
    fs.writeFileSync(local, 'copied in\n');
    const data = path.join(t.root, 'volumes', 'cpvol', '_data');
    expect(t.box(['cp', local, 'cpv:/v/running']).status).toBe(0);
    expect(fs.readFileSync(path.join(data, 'running'), 'utf8')).toBe('copied in\n');
    expect(t.box(['stop', '-t', '0', 'cpv']).status).toBe(0);
    const cp = t.box(['cp', local, 'cpv:/v/stopped']);
    expect(cp.stderr).toMatch(/^Successfully copied/);
    expect(fs.readFileSync(path.join(data, 'stopped'), 'utf8')).toBe('copied in\n');
    const back = path.join(t.dir, 'copied-back');
    expect(t.box(['cp', 'cpv:/v/running', back]).status).toBe(0);
    expect(fs.readFileSync(back, 'utf8')).toBe('copied in\n');
    // nothing went into the container's own layer, and neither diff nor export show the volume
    expect(fs.existsSync(path.join(t.root, 'containers', id, 'upper', 'v', 'stopped'))).toBe(false);
    expect(t.box(['diff', 'cpv']).stdout).toBe('');
    const tar = path.join(t.dir, 'cpv.tar');
    expect(t.box(['export', '-o', tar, 'cpv']).status).toBe(0);
    const listing = spawnSync('tar', ['-tf', tar], { encoding: 'utf8' }).stdout;
    expect(listing).not.toMatch(/running|stopped/);
    expect(t.box(['rm', 'cpv']).status).toBe(0);
    t.box(['volume', 'rm', 'cpvol']);
  });

  it('propagates mounts with the host as asked: rshared to the host, rslave from it, rprivate neither', () => {
    const shared = fs.mkdtempSync(path.join(t.dir, 'shared-'));
    const sh = (...args: string[]) => expect(spawnSync(args[0], args.slice(1)).status, args.join(' ')).toBe(0);
    sh('mount', '--bind', shared, shared);
    sh('mount', '--make-shared', shared);
    const inHost = (p: string) => mountsUnder(p).includes(p);
    try {
      // a mount made in the container under an rshared bind appears on the host
      const mk = 'mkdir -p /s/in && mount -t tmpfs inner /s/in';
      expect(run('--privileged', '-v', `${shared}:/s:rshared`, 'busybox', 'sh', '-c', mk).status).toBe(0);
      expect(inHost(path.join(shared, 'in'))).toBe(true);
      sh('umount', path.join(shared, 'in'));
      // ...and not under an rprivate one (the default)
      expect(run('--privileged', '-v', `${shared}:/s`, 'busybox', 'sh', '-c', mk).status).toBe(0);
      expect(inHost(path.join(shared, 'in'))).toBe(false);
      // a mount made on the host later appears in an rslave bind, not in an rprivate one
      const slave = t.box(['run', '-d', '-v', `${shared}:/s:rslave`, 'busybox', 'sleep', '600']).stdout.trim();
      const priv = t.box(['run', '-d', '-v', `${shared}:/s`, 'busybox', 'sleep', '600']).stdout.trim();
      fs.mkdirSync(path.join(shared, 'late'), { recursive: true });
      sh('mount', '-t', 'tmpfs', 'late', path.join(shared, 'late'));
      const seen = (id: string) => t.box(['exec', id, 'grep', '-c', ' /s/late ', '/proc/self/mountinfo']).stdout.trim();
      expect(seen(slave)).toBe('1');
      expect(seen(priv)).toBe('0');
      expect(t.box(['rm', '-f', slave, priv]).status).toBe(0);
      sh('umount', path.join(shared, 'late'));
    } finally {
      for (const m of mountsUnder(shared).reverse()) spawnSync('umount', ['-l', m]);
    }
  });

  it('gives the containers using a tmpfs volume one tmpfs, mounted on the host while one of them runs', async () => {
    const opts = ['-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=4m'];
    expect(t.box(['volume', 'create', ...opts, 'shm']).status).toBe(0);
    const data = fs.realpathSync(path.join(t.root, 'volumes', 'shm', '_data'));
    const mounted = () => mountsUnder(data).length > 0;
    const write = 'echo one > /t/f && exec sleep 1000';
    expect(t.box(['run', '-d', '--name', 'shm1', '-v', 'shm:/t', 'busybox', 'sh', '-c', write]).status).toBe(0);
    until('the first container wrote', () => fs.existsSync(path.join(data, 'f')), Boolean);
    expect(mountsUnder(data)).toEqual([data]);
    const second = run('-v', 'shm:/t', 'busybox', 'sh', '-c', 'cat /t/f; echo two > /t/g; grep " /t " /proc/mounts');
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/^one\ntmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=4096k/);
    expect(t.box(['exec', 'shm1', 'cat', '/t/g']).stdout).toBe('two\n');
    // the second one's end leaves the tmpfs to the first; the last one's end unmounts it
    expect(mountsUnder(data)).toEqual([data]);
    expect(t.box(['stop', '-t', '1', 'shm1']).status).toBe(0);
    until('the tmpfs unmounted', mounted, (m) => !m);
    expect(fs.readdirSync(data)).toEqual([]);
    expect(t.box(['rm', 'shm1']).status).toBe(0);
    // its last holder killed (a foreground run): the next ps unmounts it
    const box = t.start(['run', '--name', 'shm2', '-v', 'shm:/t', 'busybox', 'sleep', '1000']);
    onTestFinished(() => void box.kill('SIGKILL'));
    // its exit, not its pipes' end: killed after its go, the helper holds box's stdio until the next command
    const done = new Promise((resolve) => box.once('exit', resolve));
    until('the tmpfs mounted', mounted, Boolean);
    box.kill('SIGKILL');
    await done;
    expect(mounted()).toBe(true);
    expect(t.box(['ps', '-a']).status).toBe(0);
    expect(mountsUnder(data)).toEqual([]);
    expect(t.box(['rm', '-f', 'shm2']).status).toBe(0);
    expect(t.box(['volume', 'rm', 'shm']).status).toBe(0);
  });

  it("volume rm removes a tmpfs volume's lock file with it, once no command holds that lock", async () => {
    const opts = ['-o', 'type=tmpfs', '-o', 'device=tmpfs'];
    expect(t.box(['volume', 'create', ...opts, 'shl']).status).toBe(0);
    expect(run('-v', 'shl:/t', 'busybox', 'true').status).toBe(0);
    const lockFile = path.join(t.root, 'run', 'locks', 'volume-mounts', 'shl.lock');
    expect(fs.existsSync(lockFile)).toBe(true); // the start and the end took it
    // a start or an end of a container using it holds the lock: rm waits for it before the file goes
    const holder = holdLockFile(lockFile);
    const rm = t.start(['volume', 'rm', 'shl']);
    const done = exitOf(rm);
    until(
      'volume rm to wait for the lock',
      () => fs.readFileSync('/proc/locks', 'utf8'),
      (locks) => locks.split('\n').some((l) => l.includes('->') && l.includes(` ${rm.pid} `)),
    );
    expect(fs.existsSync(lockFile)).toBe(true);
    holder.kill('SIGKILL');
    expect((await done).code).toBe(0);
    expect(fs.existsSync(lockFile)).toBe(false);
    expect(volumes()).not.toContain('shl');
  });

  it('mounts volumes made with the local driver’s options: a tmpfs and a bind of a host directory', () => {
    const dir = fs.mkdtempSync(path.join(t.dir, 'device-'));
    fs.writeFileSync(path.join(dir, 'f'), 'on the host\n');
    const link = `${dir}-link`;
    fs.symlinkSync(dir, link);
    expect(t.box(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'tv']).status).toBe(
      0,
    );
    expect(t.box(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${link}`, 'bv']).status).toBe(0);
    const r = run(
      '-v',
      'tv:/t',
      '-v',
      'bv:/b',
      'busybox',
      'sh',
      '-c',
      'grep " /t " /proc/mounts; cat /b/f; echo w > /b/w',
    );
    expect(r.stdout).toMatch(/^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k/);
    expect(r.stdout).toContain('on the host\n');
    expect(fs.readFileSync(path.join(dir, 'w'), 'utf8')).toBe('w\n');
    expect(t.box(['volume', 'rm', 'tv', 'bv']).status).toBe(0);
  });
});
