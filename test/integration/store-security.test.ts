// The store against a hostile local user (issue 18, items 2 and 4): nothing under the storage and
// runtime roots is reachable by anyone but root, an older loose store is tightened by the next
// command, a root that another user owns or can write is refused, and links planted in the store
// are never followed by box's reads, writes or mounts.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, busyboxTarball, runDetached, TestRoot, until } from '../support/box';

/** Runs argv as uid/gid 65534 with no supplementary groups: an ordinary local user. */
function asNobody(argv: string[]) {
  const setpriv = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
  const r = spawnSync('setpriv', [...setpriv, ...argv], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The busybox tarball with a setuid-root copy of busybox added, as a hostile image would carry. */
function tarballWithSetuid(dir: string): string {
  const out = path.join(dir, 'busybox-suid.tar');
  fs.copyFileSync(busyboxTarball(dir), out);
  const staging = path.join(dir, 'suid-staging');
  fs.mkdirSync(path.join(staging, 'bin'), { recursive: true });
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p))!;
  fs.copyFileSync(busybox, path.join(staging, 'bin', 'suid-busybox'));
  fs.chmodSync(path.join(staging, 'bin', 'suid-busybox'), 0o4755);
  const tarArgs = ['--numeric-owner', '--owner=0', '--group=0', '-C', staging, '-rf', out, './bin/suid-busybox'];
  const r = spawnSync('tar', tarArgs, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  fs.rmSync(staging, { recursive: true });
  return out;
}

const mode = (p: string) => fs.lstatSync(p).mode & 0o7777;

/** box's refusal of a symlink found in place of one of its own files or directories. */
const linkRefused = (p: string) =>
  `box: ${p} is a symbolic link where box keeps its own file: box never follows links in its store; remove it\n`;

/** Every path under dir (not below `diff` and `upper`: an image's and a container's own files). */
function storeEntries(dir: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    out.push(p);
    if (fs.lstatSync(p).isDirectory() && name !== 'diff' && name !== 'upper') out.push(...storeEntries(p));
  }
  return out;
}

/**
 * What box made that group or others can reach: must be nothing but 0700 directories and 0600
 * files. The exceptions are what a container's user reads through its mounts (its `/` and /etc
 * files); the root-only directories above them keep everyone else out.
 */
function looseModes(root: string): string[] {
  const exceptions = new Set(['diff', 'upper', 'hostname', 'hosts', 'resolv.conf']);
  return [root, ...storeEntries(root)]
    .filter((p) => !fs.lstatSync(p).isSymbolicLink() && !exceptions.has(path.basename(p)) && mode(p) & 0o077)
    .map((p) => `${path.relative(root, p)} ${mode(p).toString(8)}`);
}

describe('the store is root-only', () => {
  const t = busyboxRoot();
  // The test's own directory (mkdtemp, 0700) must not be what keeps the user out: open it, as
  // /var/lib is open, so that only the store's own modes are tested.
  beforeAll(() => fs.chmodSync(t.dir, 0o755));

  it('an unprivileged user reaches nothing: not the roots, an image config, a setuid binary or a writable dir of a layer', () => {
    const imported = t.box(['import', tarballWithSetuid(t.dir), 'suid:1']);
    expect(imported.stderr).toBe('');
    const imageId = imported.stdout.trim().replace('sha256:', '');
    const id = runDetached(t, '--name', 'quiet', 'suid:1', 'sh', '-c', 'echo secret; sleep 600');
    const layers = fs.readdirSync(path.join(t.root, 'layers')).filter((d) => /^[0-9a-f]{64}$/.test(d));
    const suid = layers
      .map((l) => path.join(t.root, 'layers', l, 'diff', 'bin', 'suid-busybox'))
      .find((p) => fs.existsSync(p))!;
    expect(mode(suid)).toBe(0o4755); // the layer does carry it: the attempts below are not vacuous
    const worldWritable = path.join(path.dirname(path.dirname(suid)), 'tmp');
    expect(mode(worldWritable)).toBe(0o1777);
    const runroot = path.join(t.root, 'run');

    for (const dir of [t.root, runroot]) {
      expect(asNobody(['ls', dir]).status).not.toBe(0);
      expect(asNobody(['sh', '-c', `cd ${dir}`]).status).not.toBe(0);
    }
    for (const file of [
      path.join(t.root, 'blobs', 'sha256', imageId),
      path.join(t.root, 'containers', id, 'container.log'),
      path.join(t.root, 'containers', id, 'container.json'),
      path.join(runroot, 'events.jsonl'),
    ]) {
      expect(fs.existsSync(file), file).toBe(true);
      expect(asNobody(['cat', file]).status, file).not.toBe(0);
    }
    const ran = asNobody([suid, 'id', '-u']);
    expect(ran.status).not.toBe(0);
    expect(ran.stdout).toBe('');
    expect(asNobody(['touch', path.join(worldWritable, 'planted')]).status).not.toBe(0);
    expect(fs.existsSync(path.join(worldWritable, 'planted'))).toBe(false);

    expect(looseModes(t.root)).toEqual([]);
    t.box(['rm', '-f', 'quiet']);
  });

  it('whatever the umask: a store made under umask 000 is as root-only', () => {
    const fresh = new TestRoot();
    try {
      const sh = (args: string) =>
        spawnSync('sh', ['-c', `umask 000; exec ${BOX} --root ${fresh.root} ${args}`], { encoding: 'utf8' });
      expect(sh(`import ${busyboxTarball(t.dir)} bb:1`).status).toBe(0);
      const run = sh('run -d --name u --health-cmd true --health-interval 1s bb:1 sh -c "echo out; sleep 600"');
      expect(run.stderr).toBe('');
      const log = path.join(fresh.root, 'containers', run.stdout.trim(), 'container.log');
      until(
        'a log and a health status',
        () => sh('inspect u').stdout,
        (o) => /"Status": "healthy"/.test(o) && fs.existsSync(log),
      );
      expect(looseModes(fresh.root)).toEqual([]);
    } finally {
      fresh.cleanup();
    }
  });

  it('a non-root user in a container (run, run --init, exec) still sees its root, its /etc files and a writable /tmp', () => {
    const script =
      'ls / >/dev/null && cat /etc/hostname /etc/hosts /etc/resolv.conf >/dev/null && echo ok >/tmp/f && cat /tmp/f && id -u';
    for (const init of [[], ['--init']]) {
      const r = t.box(['run', '--rm', ...init, '--user', '1000', 'busybox', 'sh', '-c', script]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('ok\n1000\n');
    }
    runDetached(t, '--name', 'as-root', 'busybox', 'sleep', '600');
    const e = t.box(['exec', '--user', '1000', '-w', '/tmp', 'as-root', 'sh', '-c', script]);
    expect(e.stderr).toBe('');
    expect(e.stdout).toBe('ok\n1000\n');
    t.box(['rm', '-f', 'as-root']);
  });

  it('a store made with loose modes, as older box made them, is tightened by the next command', () => {
    const runroot = path.join(t.root, 'run');
    const audit = path.join(t.root, 'policy-audit.jsonl');
    fs.writeFileSync(audit, '');
    const loose: [string, number][] = [
      [t.root, 0o711],
      [path.join(t.root, 'layers'), 0o755],
      [path.join(t.root, 'blobs'), 0o755],
      [path.join(t.root, 'blobs', 'sha256'), 0o755],
      [path.join(t.root, 'images'), 0o755],
      [path.join(t.root, 'l'), 0o755],
      [path.join(t.root, 'repositories'), 0o755],
      [path.join(t.root, 'containers'), 0o711],
      [runroot, 0o711],
      [path.join(runroot, 'events.jsonl'), 0o644],
      [audit, 0o644],
    ];
    for (const [p, m] of loose) fs.chmodSync(p, m);
    expect(asNobody(['ls', path.join(t.root, 'layers')]).status).toBe(0); // open to all, as before
    const ps = t.box(['ps', '-a']);
    expect(ps.stderr).toBe('');
    const tight = (m: number) => (m & 0o111 ? 0o700 : 0o600).toString(8);
    for (const [p, m] of loose) expect(`${p} ${mode(p).toString(8)}`).toBe(`${p} ${tight(m)}`);
    expect(asNobody(['ls', path.join(t.root, 'layers')]).status).not.toBe(0);
    fs.rmSync(audit);
  });
});

describe('a storage root is trusted only if root owns it', () => {
  const t = new TestRoot();

  it('refuses a root owned by another user and a root writable by others, naming the path and the owner or mode', () => {
    try {
      const owned = path.join(t.dir, 'owned');
      fs.mkdirSync(owned, { mode: 0o700 });
      fs.chownSync(owned, 65534, 65534);
      const open = path.join(t.dir, 'open');
      fs.mkdirSync(open);
      fs.chmodSync(open, 0o777);
      const fine = path.join(t.dir, 'fine');
      fs.mkdirSync(fine, { mode: 0o700 });
      // root's own directory, but in one another user owns: they could rename it away and put a
      // link to any root-owned directory in its place
      const inOwned = path.join(owned, 'root');
      fs.mkdirSync(inOwned, { mode: 0o700 });
      const linked = path.join(t.dir, 'linked');
      fs.symlinkSync(inOwned, linked);
      const ownedBy = (what: string, dir: string, flag: string) =>
        `box: the ${what} ${dir} is owned by uid 65534, not root: box trusts only a root-owned store; ` +
        `chown it to root or choose another ${flag}\n`;
      const openTo = (what: string, dir: string, flag: string) =>
        `box: the ${what} ${dir} has mode 0777, writable by group or others: chmod 700 it or choose another ${flag}\n`;
      const inside = (dir: string, why: string) =>
        `box: the storage root ${dir} is inside ${why}, who could swap the store: choose another --root\n`;
      const newInOpen = path.join(open, 'new');
      const cases: [string[], string][] = [
        [['--root', owned], ownedBy('storage root', owned, '--root')],
        [['--root', open], openTo('storage root', open, '--root')],
        [['--root', fine, '--runroot', owned], ownedBy('runtime root', owned, '--runroot')],
        [['--root', fine, '--runroot', open], openTo('runtime root', open, '--runroot')],
        [['--root', inOwned], inside(inOwned, `${owned}, owned by uid 65534`)],
        [['--root', linked], inside(linked, `${owned}, owned by uid 65534`)],
        [['--root', newInOpen], inside(newInOpen, `${open}, mode 0777, writable by group or others`)],
      ];
      for (const [globals, error] of cases) {
        for (const cmd of [['ps', '-a'], ['images'], ['run', '--rm', 'busybox', 'true']]) {
          const r = spawnSync(BOX, [...globals, ...cmd], { encoding: 'utf8' });
          expect(r.stderr, `${globals.join(' ')} ${cmd.join(' ')}`).toBe(error);
          expect(r.status).toBe(125);
        }
      }
      for (const dir of [inOwned, open, fine]) expect(fs.readdirSync(dir)).toEqual([]); // nothing written into them
      expect(mode(open)).toBe(0o777); // refused, not silently fixed
      const viaEnv = spawnSync(BOX, ['ps'], { encoding: 'utf8', env: { ...process.env, BOX_ROOT: owned } });
      expect(viaEnv.status).toBe(125);
      expect(viaEnv.stderr).toContain(`the storage root ${owned} is owned by uid 65534`);
    } finally {
      t.cleanup();
    }
  });
});

describe('links planted in the store are not followed', () => {
  const t = busyboxRoot();
  const hostFile = () => {
    const f = path.join(t.dir, `host-file-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(f, 'host data\n');
    return f;
  };
  const unchanged = (f: string, before: fs.Stats) => {
    const now = fs.statSync(f);
    expect(fs.readFileSync(f, 'utf8')).toBe('host data\n');
    expect([now.size, now.mtimeMs, now.mode]).toEqual([before.size, before.mtimeMs, before.mode]);
  };

  it('events.jsonl replaced by a symlink to a host file: the host file is untouched', () => {
    const events = path.join(t.root, 'run', 'events.jsonl');
    const target = hostFile();
    const before = fs.statSync(target);
    fs.rmSync(events, { force: true });
    fs.symlinkSync(target, events);
    const r = t.box(['run', '--rm', 'busybox', 'true']);
    expect(r.status).toBe(0); // events are informational: the run goes ahead
    unchanged(target, before);
    expect(t.box(['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1)]).stdout).toBe('');
    fs.rmSync(events);
  });

  it('policy-audit.jsonl replaced by a symlink to a host file: refused, the host file is untouched', () => {
    const audit = path.join(t.root, 'policy-audit.jsonl');
    const target = hostFile();
    const before = fs.statSync(target);
    fs.rmSync(audit, { force: true });
    fs.symlinkSync(target, audit);
    const r = t.box(['run', '--rm', '--policy', 'baseline', 'busybox', 'true']);
    expect(r.stderr.split('\n').slice(-2)).toEqual([linkRefused(audit).trimEnd(), '']);
    expect(r.status).toBe(125);
    unchanged(target, before);
    const log = t.box(['policy', 'log']);
    expect(log.stderr).toBe(linkRefused(audit));
    expect(log.stdout).toBe('');
    fs.rmSync(audit);
  });

  it('a container record replaced by a symlink to a host file is not read or written through', () => {
    const id = t.box(['create', '--name', 'rec', 'busybox', 'true']).stdout.trim();
    const record = path.join(t.root, 'containers', id, 'container.json');
    const target = hostFile();
    fs.writeFileSync(target, fs.readFileSync(record)); // a valid record: only not following it can refuse it
    const content = fs.readFileSync(target, 'utf8');
    fs.rmSync(record);
    fs.symlinkSync(target, record);
    const before = fs.statSync(target);
    for (const cmd of [
      ['inspect', 'rec'],
      ['start', 'rec'],
      ['rename', 'rec', 'rec2'],
    ]) {
      const r = t.box(cmd);
      // one line naming the record as a link (a damaged-record report may wrap it)
      expect(r.stderr.split('\n').length, cmd.join(' ')).toBe(2);
      expect(r.stderr, cmd.join(' ')).toContain(linkRefused(record).slice('box: '.length, -1));
      expect(r.status).toBe(125);
    }
    expect(fs.readFileSync(target, 'utf8')).toBe(content);
    expect(fs.statSync(target).mtimeMs).toBe(before.mtimeMs);
    fs.rmSync(record);
    fs.copyFileSync(target, record);
    expect(t.box(['rm', 'rec']).status).toBe(0);
  });

  it("a layer's short link (l/NAME, which the kernel follows at mount) pointed at a host dir: refused", () => {
    const layer = fs.readdirSync(path.join(t.root, 'layers')).find((d) => /^[0-9a-f]{64}$/.test(d))!;
    const link = path.join(t.root, 'l', fs.readFileSync(path.join(t.root, 'layers', layer, 'link'), 'utf8').trim());
    const original = fs.readlinkSync(link);
    const hostDir = path.join(t.dir, 'host-lower');
    fs.mkdirSync(path.join(hostDir, 'bin'), { recursive: true });
    fs.rmSync(link);
    fs.symlinkSync(hostDir, link);
    const r = t.box(['run', '--rm', 'busybox', 'true']);
    const fix = 'remove the images that use it and pull them again';
    expect(r.stderr).toBe(`box: the short link ${link} of layer sha256:${layer} was changed: ${fix}\n`);
    expect(r.status).toBe(125);
    fs.rmSync(link);
    fs.symlinkSync(original, link);
    expect(t.box(['run', '--rm', 'busybox', 'true']).status).toBe(0);
  });

  it("a container's upper dir replaced by a symlink to a host dir: start refuses and writes nothing there", () => {
    const id = t.box(['create', '--name', 'up', 'busybox', 'sh', '-c', 'echo pwned > /pwned']).stdout.trim();
    const upper = path.join(t.root, 'containers', id, 'upper');
    const hostDir = path.join(t.dir, 'host-dir');
    fs.mkdirSync(hostDir);
    fs.rmSync(upper, { recursive: true, force: true });
    fs.symlinkSync(hostDir, upper);
    const r = t.box(['start', '-a', 'up']);
    expect(r.stderr).toBe(linkRefused(upper));
    expect(r.status).toBe(125);
    expect(fs.readdirSync(hostDir)).toEqual([]);
    // Nor do the commands that read or write a stopped container's upper dir without mounting it.
    fs.writeFileSync(path.join(t.dir, 'to-copy'), 'x');
    const exported = path.join(t.dir, 'up.tar');
    for (const cmd of [
      ['diff', 'up'],
      ['export', '-o', exported, 'up'],
      ['cp', path.join(t.dir, 'to-copy'), 'up:/copied'],
    ]) {
      const other = t.box(cmd);
      expect(other.stderr, cmd.join(' ')).toBe(linkRefused(upper));
      expect(other.status).toBe(125);
    }
    expect(fs.readdirSync(hostDir)).toEqual([]);
    expect(fs.existsSync(exported)).toBe(false);
    expect(fs.readlinkSync(upper)).toBe(hostDir);

    // The container's whole directory swapped for a link to a copy elsewhere: refused as well.
    const dir = path.join(t.root, 'containers', id);
    fs.rmSync(upper);
    fs.mkdirSync(upper);
    const moved = path.join(t.dir, 'moved-container');
    fs.renameSync(dir, moved);
    fs.symlinkSync(moved, dir);
    const names = () => fs.readdirSync(moved).sort();
    const namesBefore = names();
    const again = t.box(['start', '-a', 'up']);
    expect(again.stderr).toBe(linkRefused(dir));
    expect(again.status).toBe(125);
    expect(names()).toEqual(namesBefore);
    expect(fs.readdirSync(path.join(moved, 'upper'))).toEqual([]);
    fs.rmSync(dir);
    fs.renameSync(moved, dir);
    expect(t.box(['rm', 'up']).status).toBe(0);
  });
});
