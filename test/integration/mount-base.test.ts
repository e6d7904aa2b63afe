// The shared mount-point layer (src/runtime/mount-base.ts): a start of an image that lacks /proc,
// /dev, /sys and /etc creates none of them in its upper directory, yet the container sees them;
// an image's own files stay above the layer; a link or a wrong entry planted where the layer
// lives is refused; first starts at once share one layer; a half-made one of a killed command is
// removed; and what diff, commit and build read as a container's changes holds none of it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftovers, runDetached, TestRoot } from '../support/box';
import { boxBuild, writeContext } from '../support/build';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p))!;

/** A root filesystem tarball holding only /bin/busybox and `files` (as test/bench/detached.mjs imports). */
function bareTarball(t: TestRoot, name: string, files: Record<string, string> = {}): string {
  const staging = path.join(t.dir, `${name}-rootfs`);
  fs.mkdirSync(path.join(staging, 'bin'), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(staging, 'bin/busybox'));
  fs.chmodSync(path.join(staging, 'bin/busybox'), 0o755);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(staging, file)), { recursive: true });
    fs.writeFileSync(path.join(staging, file), text);
  }
  const out = path.join(t.dir, `${name}.tar`);
  const r = spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', staging, '-cf', out, '.']);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  fs.rmSync(staging, { recursive: true });
  return out;
}

function importBare(t: TestRoot, ref: string, files: Record<string, string> = {}): void {
  const r = t.box(['import', bareTarball(t, ref.replace(/\W/g, '-'), files), ref]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

const upperOf = (t: TestRoot, id: string) => path.join(t.root, 'containers', id, 'upper');
const baseDir = (t: TestRoot) => path.join(t.root, 'cache', 'mount-base-1');

/** Every path in a layer directory, relative, sorted ("etc/", "etc/foo"). */
function layerFiles(dir: string, rel = ''): string[] {
  return fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((d) => {
      const p = rel ? `${rel}/${d.name}` : d.name;
      return d.isDirectory() ? [`${p}/`, ...layerFiles(dir, p)] : [p];
    })
    .sort();
}

/** The files of an image's topmost layer, read from the store. */
function topLayerFiles(t: TestRoot, ref: string): string[] {
  const layers = JSON.parse(t.box(['image', 'inspect', ref]).stdout)[0].RootFS.Layers as string[];
  return layerFiles(path.join(t.root, 'layers', layers[layers.length - 1].replace('sha256:', ''), 'diff'));
}

const exec = (t: TestRoot, id: string, script: string) => t.box(['exec', id, '/bin/busybox', 'sh', '-c', script]);

describe('the mount-point layer', () => {
  const t = new TestRoot();
  beforeAll(() => {
    importBare(t, 'bare:1');
    importBare(t, 'withhosts:1', { 'etc/hosts': '10.9.9.9 fromtheimage\n' });
  });
  afterAll(() => {
    try {
      expect(leftovers(t)).toEqual([]);
    } finally {
      t.cleanup();
    }
  });

  it('gives an image without /proc, /dev, /sys and /etc its mount points without a new inode in its upper', () => {
    const id = runDetached(t, '--network', 'none', '--hostname', 'mb', 'bare:1', '/bin/busybox', 'sleep', '60');
    expect(fs.readdirSync(upperOf(t, id))).toEqual([]);
    // nor a directory of its own to mount the overlay on: it is mounted on overlay's work dir
    expect(fs.readdirSync(path.dirname(upperOf(t, id)))).not.toContain('rootfs');
    const r = exec(t, id, 'cat /etc/hostname; test -c /dev/null && test -d /sys/kernel && cat /proc/1/comm');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('mb\nbusybox\n');
    // the runtime's mount points are not the container's changes (before the layer: "A /etc")
    expect(t.box(['diff', id]).stdout).toBe('');
    // export shows what the container sees, the empty mount points included, as before
    const out = path.join(t.dir, 'export.tar');
    expect(t.box(['export', '-o', out, id]).status).toBe(0);
    const listed = spawnSync('tar', ['-tf', out], { encoding: 'utf8' }).stdout.split('\n');
    for (const p of ['proc/', 'dev/', 'sys/', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf'])
      expect(listed).toContain(p);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });

  it("keeps an image's own /etc/hosts above it, with the container's bind mount still winning inside", () => {
    const id = runDetached(t, '--network', 'none', 'withhosts:1', '/bin/busybox', 'sleep', '60');
    const inside = exec(t, id, 'cat /etc/hosts');
    expect(inside.stdout).toContain('127.0.0.1');
    expect(inside.stdout).not.toContain('fromtheimage');
    expect(fs.readdirSync(upperOf(t, id))).toEqual([]);
    const out = path.join(t.dir, 'hosts-out');
    fs.rmSync(out, { force: true });
    expect(t.box(['stop', '-t', '0', id]).status).toBe(0);
    // read from the layers of the stopped container: the image's file, not the empty one below it
    const cp = t.box(['cp', `${id}:/etc/hosts`, out]);
    expect(cp.status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('10.9.9.9 fromtheimage\n');
    expect(t.box(['rm', '-f', id]).status).toBe(0);
  });

  it("keeps a RUN step's and a commit's layer to the files they changed", () => {
    const build = (ref: string, run: string) => {
      const ctx = writeContext(t, 'ctx', { Dockerfile: `FROM bare:1\nRUN ${run}\n` });
      const r = boxBuild(t, ['--network', 'none', '-t', ref, ctx]);
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.status).toBe(0);
      return topLayerFiles(t, ref);
    };
    expect(build('nothing:1', '["/bin/busybox", "true"]')).toEqual([]);
    expect(build('etcfoo:1', '["/bin/busybox", "sh", "-c", "echo x > /etc/foo"]')).toEqual(['etc/', 'etc/foo']);

    const c = t.box(['run', '--network', 'none', '--name', 'committed', 'bare:1', '/bin/busybox', 'touch', '/etc/x']);
    expect(c.status).toBe(0);
    expect(t.box(['diff', 'committed']).stdout).toBe('A /etc\nA /etc/x\n');
    expect(t.box(['commit', 'committed', 'committed:1']).status).toBe(0);
    expect(topLayerFiles(t, 'committed:1')).toEqual(['etc/', 'etc/x']);
    expect(t.box(['rm', 'committed']).status).toBe(0);
  });

  it('is made once by first starts at once, and a half-made one of a killed command is removed', async () => {
    const fresh = new TestRoot();
    try {
      importBare(fresh, 'bare:1');
      // what a command killed while making it leaves: its name carries a dead writer's token
      const dead = path.join(fresh.root, 'cache', 'mount-base-1.tmp-999999999.1-abcdef');
      fs.mkdirSync(path.join(dead, 'diff', 'proc'), { recursive: true });
      const runs = await Promise.all(
        [1, 2, 3, 4].map(() =>
          fresh.boxAsync(['run', '-d', '--network', 'none', 'bare:1', '/bin/busybox', 'sleep', '60']),
        ),
      );
      // the leftover was removed and said so (by one, or by several racing to remove it: each counts it)
      const said = runs.map((r) => r.stderr).filter(Boolean);
      expect(said.length).toBeGreaterThan(0);
      for (const line of said) expect(line).toBe('box: reclaimed 1 temporary file left by interrupted commands\n');
      expect(fs.existsSync(dead)).toBe(false);
      for (const r of runs) {
        expect(r.status).toBe(0);
        expect(fs.readdirSync(upperOf(fresh, r.stdout.trim()))).toEqual([]);
      }
      // one layer, no temporary directory beside it
      expect(fs.readdirSync(path.join(fresh.root, 'cache')).filter((n) => n.startsWith('mount-base'))).toEqual([
        'mount-base-1',
      ]);
      expect(layerFiles(path.join(baseDir(fresh), 'diff'))).toEqual([
        'dev/',
        'etc/',
        'etc/hostname',
        'etc/hosts',
        'etc/resolv.conf',
        'proc/',
        'sys/',
      ]);
      expect(fs.statSync(baseDir(fresh)).mode & 0o777).toBe(0o700);
      // not a leak, not a temporary file
      const check = fresh.box(['system', 'check', '--format', 'json']);
      expect(check.stdout).toBe('');
      expect(check.status).toBe(0);
      expect(fresh.box(['rm', '-f', ...runs.map((r) => r.stdout.trim())]).status).toBe(0);
      expect(fresh.box(['image', 'prune', '-a', '-f']).status).toBe(0);
      expect(fs.existsSync(path.join(baseDir(fresh), 'diff', 'proc'))).toBe(true);
    } finally {
      fresh.cleanup();
    }
  });

  it('refuses a link or a wrong entry planted where it lives, and follows nothing', () => {
    const hostDir = path.join(t.dir, 'host-dir');
    fs.mkdirSync(path.join(hostDir, 'diff'), { recursive: true });
    fs.writeFileSync(path.join(hostDir, 'diff', 'secret'), 'host file\n');
    const saved = path.join(t.dir, 'saved-base');
    fs.renameSync(baseDir(t), saved);
    const before = t.box(['ps', '-a', '-q']).stdout;
    const expectRefused = (why: string) => {
      const r = t.box(['run', '--rm', '--network', 'none', 'bare:1', '/bin/busybox', 'ls', '/']);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `box: ${baseDir(t)} is not the mount-point layer box makes (${why}): ` +
          `remove it (rm -rf ${baseDir(t)}), box makes it again\n`,
      );
      expect(r.status).toBe(125);
      expect(t.box(['ps', '-a', '-q']).stdout).toBe(before);
    };
    try {
      fs.symlinkSync(hostDir, baseDir(t));
      expectRefused('a symbolic link on its path');
      expect(fs.readlinkSync(baseDir(t))).toBe(hostDir);
      fs.rmSync(baseDir(t));

      fs.cpSync(saved, baseDir(t), { recursive: true });
      fs.rmSync(path.join(baseDir(t), 'diff', 'etc', 'hosts'));
      fs.symlinkSync('/etc/hosts', path.join(baseDir(t), 'diff', 'etc', 'hosts'));
      expectRefused('its etc/hosts is not a regular file');
      fs.rmSync(baseDir(t), { recursive: true });

      fs.cpSync(saved, baseDir(t), { recursive: true });
      fs.rmdirSync(path.join(baseDir(t), 'diff', 'proc'));
      fs.writeFileSync(path.join(baseDir(t), 'diff', 'proc'), '');
      expectRefused('its proc is not a directory');
      fs.rmSync(baseDir(t), { recursive: true });

      // removed, as the message says: the next start makes it again
      const r = t.box(['run', '--rm', '--network', 'none', 'bare:1', '/bin/busybox', 'ls', '/']);
      expect(r.stdout).toBe('bin\ndev\netc\nproc\nsys\n');
      expect(fs.readFileSync(path.join(hostDir, 'diff', 'secret'), 'utf8')).toBe('host file\n');
    } finally {
      fs.rmSync(saved, { recursive: true, force: true });
    }
  });
});
