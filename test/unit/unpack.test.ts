// The layer unpacker against real files (run as root): every entry type, metadata, overlay
// whiteouts, malicious archives, and a comparison with GNU tar on a tree that uses everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { lgetxattr, llistxattr } from '../../src/linux/syscalls';
import { TarReader } from '../../src/image/tar-reader';
import { UnpackRefusedError } from '../../src/image/tar-entry-path';
import { unpackLayer } from '../../src/image/unpack';
import { HandEntry, makeTar } from '../support/tar';

const isRoot = process.getuid?.() === 0;
let base: string;
let n = 0;

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'box-unpack-'));
});
afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function freshDir(): string {
  const d = path.join(base, `layer-${n++}`);
  fs.mkdirSync(d);
  return d;
}

/** A stream delivering buf in pieces of `size` bytes. */
function chunks(buf: Buffer, size = 65536): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

async function unpack(entries: HandEntry[] | Buffer, chunk?: number) {
  const dir = freshDir();
  const tar = Buffer.isBuffer(entries) ? entries : makeTar(entries);
  const res = await unpackLayer(chunks(tar, chunk), dir);
  return { dir, res, tar };
}

async function refused(entries: HandEntry[]): Promise<{ err: Error; dir: string }> {
  const dir = freshDir();
  const err = await unpackLayer(chunks(makeTar(entries)), dir).then(
    () => new Error('unpacked without error'),
    (e: Error) => e,
  );
  return { err, dir };
}

/** Every path below dir, sorted. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    if (fs.lstatSync(path.join(dir, r)).isDirectory()) out.push(...walk(dir, r));
  }
  return out;
}

describe.skipIf(!isRoot)('unpackLayer', () => {
  it('gives files of every mode exactly that mode, whether open() can set it (no chown, nothing the umask removes) or not', async () => {
    const modes = [0o644, 0o755, 0o400, 0o000, 0o666, 0o777, 0o620, 0o2755, 0o1777];
    const { dir } = await unpack([
      ...modes.map((mode) => ({ path: `root-${mode.toString(8)}`, data: 'x', mode, uid: 0, gid: 0 })),
      ...modes.map((mode) => ({ path: `other-${mode.toString(8)}`, data: 'x', mode, uid: 7, gid: 8 })),
    ]);
    for (const owner of ['root', 'other'])
      for (const mode of modes)
        expect([
          owner,
          (fs.statSync(path.join(dir, `${owner}-${mode.toString(8)}`)).mode & 0o7777).toString(8),
        ]).toEqual([owner, mode.toString(8)]);
  });

  it('writes files, directories, links, devices and fifos with their metadata', async () => {
    const { dir, res, tar } = await unpack([
      { path: 'etc/', type: 'dir', mode: 0o750, uid: 12, gid: 34, mtime: 1_500_000_000 },
      { path: 'etc/hosts', data: 'hello\n', mode: 0o640, uid: 1234, gid: 5678, mtime: 1_400_000_000 },
      { path: 'bin/su', data: 'x', mode: 0o4755, uid: 0, gid: 0 },
      { path: 'etc/link', type: 'symlink', linkpath: '/nowhere/at/all', uid: 7, gid: 8, mtime: 1_300_000_000 },
      { path: 'etc/hard', type: 'hardlink', linkpath: 'etc/hosts' },
      { path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { path: 'dev/loop9', type: 'block', mode: 0o660, devmajor: 7, devminor: 9, gid: 6 },
      { path: 'run/fifo', type: 'fifo', mode: 0o620 },
      { path: 'empty', data: '' },
    ]);
    expect(res.diffId).toBe('sha256:' + createHash('sha256').update(tar).digest('hex'));
    expect(res.size).toBe(tar.length);

    const st = (p: string) => fs.lstatSync(path.join(dir, p));
    expect(st('etc').mode & 0o7777).toBe(0o750);
    expect([st('etc').uid, st('etc').gid]).toEqual([12, 34]);
    expect(st('etc').mtimeMs).toBe(1_500_000_000_000); // set after its contents were written
    expect(fs.readFileSync(path.join(dir, 'etc/hosts'), 'utf8')).toBe('hello\n');
    expect(st('etc/hosts').mode & 0o7777).toBe(0o640);
    expect([st('etc/hosts').uid, st('etc/hosts').gid]).toEqual([1234, 5678]);
    expect(st('etc/hosts').mtimeMs).toBe(1_400_000_000_000);
    expect(st('bin/su').mode & 0o7777).toBe(0o4755);
    expect(st('bin').mode & 0o7777).toBe(0o755); // created implicitly
    expect(st('etc/link').isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(path.join(dir, 'etc/link'))).toBe('/nowhere/at/all');
    expect([st('etc/link').uid, st('etc/link').gid, st('etc/link').mtimeMs]).toEqual([7, 8, 1_300_000_000_000]);
    expect(st('etc/hard').ino).toBe(st('etc/hosts').ino);
    expect(st('etc/hosts').nlink).toBe(2);
    expect(st('dev/null').isCharacterDevice()).toBe(true);
    expect(st('dev/null').rdev).toBe(0x0103);
    expect(st('dev/null').mode & 0o7777).toBe(0o666);
    expect(st('dev/loop9').isBlockDevice()).toBe(true);
    expect(st('dev/loop9').rdev).toBe(0x0709);
    expect(st('dev/loop9').gid).toBe(6);
    expect(st('run/fifo').isFIFO()).toBe(true);
    expect(st('run/fifo').mode & 0o7777).toBe(0o620);
    expect(st('empty').size).toBe(0);
  });

  it('applies extended attributes from PAX headers, binary values included', async () => {
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service
    const { dir } = await unpack([
      { path: 'd/', type: 'dir', pax: { 'SCHILY.xattr.user.dir': 'on-a-dir' } },
      {
        path: 'd/ping',
        data: 'elf',
        mode: 0o755,
        uid: 0,
        gid: 0,
        pax: { 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.bin': Buffer.from([0, 1, 2, 255, 10, 61]) },
      },
      { path: 'd/owned', data: 'x', uid: 1000, gid: 1000, pax: { 'SCHILY.xattr.trusted.t': 'y' } },
    ]);
    expect(lgetxattr(path.join(dir, 'd'), 'user.dir')?.toString()).toBe('on-a-dir');
    expect(lgetxattr(path.join(dir, 'd/ping'), 'security.capability')).toEqual(cap);
    expect(lgetxattr(path.join(dir, 'd/ping'), 'user.bin')).toEqual(Buffer.from([0, 1, 2, 255, 10, 61]));
    // chown happens before the attributes are set, so a chown cannot clear them
    expect(lgetxattr(path.join(dir, 'd/owned'), 'trusted.t')?.toString()).toBe('y');
    expect(fs.statSync(path.join(dir, 'd/owned')).uid).toBe(1000);
  });

  it('reads PAX and GNU long names, PAX mtimes and PAX ownership', async () => {
    const long = 'a'.repeat(90) + '/' + 'b'.repeat(90) + '/' + 'c'.repeat(120);
    const { dir } = await unpack([
      {
        path: 'short-ignored',
        data: 'long',
        pax: { path: long, mtime: '1234567890.5', uid: '3000000', gid: '4000000' },
      },
      { path: 'lnk', type: 'symlink', linkpath: 'x', pax: { linkpath: 'y'.repeat(200) } },
    ]);
    const st = fs.lstatSync(path.join(dir, long));
    expect(fs.readFileSync(path.join(dir, long), 'utf8')).toBe('long');
    expect(st.mtimeMs).toBe(1_234_567_890_500);
    expect([st.uid, st.gid]).toEqual([3_000_000, 4_000_000]);
    expect(fs.readlinkSync(path.join(dir, 'lnk'))).toBe('y'.repeat(200));
  });

  it('turns .wh. entries into overlay whiteouts and .wh..wh..opq into the opaque xattr', async () => {
    const { dir } = await unpack([
      { path: 'etc/', type: 'dir' },
      { path: 'etc/.wh.passwd', data: '' },
      { path: '.wh.gone-dir', data: '' },
      { path: 'var/lib/.wh..wh..opq', data: '' },
      { path: 'var/lib/new', data: 'n' },
      { path: 'x/.wh..wh.plnk', data: '' }, // aufs metadata: ignored
    ]);
    for (const p of ['etc/passwd', 'gone-dir']) {
      const st = fs.lstatSync(path.join(dir, p));
      expect(st.isCharacterDevice()).toBe(true);
      expect(st.rdev).toBe(0);
    }
    expect(lgetxattr(path.join(dir, 'var/lib'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(lgetxattr(path.join(dir, 'var'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(walk(dir)).toEqual(['etc', 'etc/passwd', 'gone-dir', 'var', 'var/lib', 'var/lib/new', 'x']);
  });

  it('plainFiles (a build context): .wh. names are ordinary files, device nodes are refused, fifos kept', async () => {
    const dir = freshDir();
    const plain = makeTar([
      { path: 'etc/.wh.passwd', data: 'a file\n' },
      { path: 'etc/.wh..wh..opq', data: '' },
      { path: 'pipe', type: 'fifo' },
    ]);
    await unpackLayer(chunks(plain), dir, { plainFiles: true });
    expect(fs.readFileSync(path.join(dir, 'etc/.wh.passwd'), 'utf8')).toBe('a file\n');
    expect(fs.lstatSync(path.join(dir, 'etc/.wh..wh..opq')).isFile()).toBe(true);
    expect(lgetxattr(path.join(dir, 'etc'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(fs.lstatSync(path.join(dir, 'pipe')).isFIFO()).toBe(true);
    for (const type of ['char', 'block'] as const) {
      const err = await unpackLayer(chunks(makeTar([{ path: 'dev/x', type, devmajor: 1, devminor: 3 }])), freshDir(), {
        plainFiles: true,
      }).then(
        () => new Error('unpacked without error'),
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(UnpackRefusedError);
      expect(err.message).toBe('refused tar entry "dev/x": a device node has no place among plain files');
    }
  });

  it("drops overlay's own attributes an image carries; a .wh..wh..opq still makes its directory opaque", async () => {
    const overlay = {
      'SCHILY.xattr.trusted.overlay.redirect': '/etc',
      'SCHILY.xattr.trusted.overlay.opaque': 'y',
      'SCHILY.xattr.trusted.overlay.metacopy': '',
      'SCHILY.xattr.user.overlay.redirect': '/etc',
      'LIBARCHIVE.xattr.trusted%2Eoverlay%2Eorigin': Buffer.from('x').toString('base64'),
      'SCHILY.xattr.user.kept': 'yes',
    };
    const { dir } = await unpack([
      { path: './', type: 'dir', pax: overlay },
      { path: 'redirected/', type: 'dir', pax: overlay },
      { path: 'redirected/file', data: 'f', pax: overlay },
      { path: 'link', type: 'symlink', linkpath: 'redirected', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/e' } },
      { path: 'opaque/', type: 'dir', pax: overlay },
      { path: 'opaque/.wh..wh..opq', data: '' },
    ]);
    const names = (rel: string) => llistxattr(path.join(dir, rel)).sort();
    for (const rel of ['', 'redirected', 'redirected/file']) expect(names(rel), rel).toEqual(['user.kept']);
    expect(names('link')).toEqual([]);
    expect(names('opaque')).toEqual(['trusted.overlay.opaque', 'user.kept']);
    expect(lgetxattr(path.join(dir, 'opaque'), 'trusted.overlay.opaque')?.toString()).toBe('y');
  });

  it('lets a later entry replace an earlier one, as tar does', async () => {
    const { dir } = await unpack([
      { path: 'a', data: 'first' },
      { path: 'a', data: 'second' },
      { path: 'd/', type: 'dir' },
      { path: 'd/f', data: 'inside' },
      { path: 'd', type: 'symlink', linkpath: 'a' },
      { path: 'e', type: 'symlink', linkpath: '/etc' },
      { path: 'e/', type: 'dir', mode: 0o700 },
      { path: 'e/f', data: 'in a real dir now' },
    ]);
    expect(fs.readFileSync(path.join(dir, 'a'), 'utf8')).toBe('second');
    expect(fs.readlinkSync(path.join(dir, 'd'))).toBe('a');
    expect(fs.lstatSync(path.join(dir, 'e')).isDirectory()).toBe(true);
    expect(walk(dir)).toEqual(['a', 'd', 'e', 'e/f']);
  });

  it('strips a leading / and applies ./ to the layer root', async () => {
    const { dir } = await unpack([
      { path: './', type: 'dir', mode: 0o711, mtime: 1_111_111_111 },
      { path: '/etc/abs', data: 'stays inside' },
      { path: '//./usr//bin/./x', data: 'y' },
    ]);
    expect(fs.readFileSync(path.join(dir, 'etc/abs'), 'utf8')).toBe('stays inside');
    expect(fs.readFileSync(path.join(dir, 'usr/bin/x'), 'utf8')).toBe('y');
    expect(fs.statSync(dir).mode & 0o7777).toBe(0o711);
    expect(fs.statSync(dir).mtimeMs).toBe(1_111_111_111_000);
  });

  it('gives the same result whatever the chunk boundaries', async () => {
    const entries: HandEntry[] = [
      { path: 'a/b/c', data: 'x'.repeat(1000), pax: { 'SCHILY.xattr.user.k': 'v' } },
      { path: 'long', data: 'z'.repeat(513) },
      { path: 'l', type: 'symlink', linkpath: 'a/b/c' },
    ];
    const one = await unpack(entries, 1);
    const big = await unpack(entries);
    expect(one.res.diffId).toBe(big.res.diffId);
    expect(walk(one.dir)).toEqual(walk(big.dir));
    expect(fs.readFileSync(path.join(one.dir, 'a/b/c'), 'utf8')).toBe('x'.repeat(1000));
    expect(fs.readFileSync(path.join(one.dir, 'long'), 'utf8')).toBe('z'.repeat(513));
    expect(lgetxattr(path.join(one.dir, 'a/b/c'), 'user.k')?.toString()).toBe('v');
  });

  it('without CAP_MKNOD, devices: "skip" leaves device entries out (and says which), keeping fifos and the rest; "error" refuses', () => {
    // A child whose bounding set lacks CAP_MKNOD (setpriv), as an unprivileged unpack would be.
    const script = path.join(base, 'no-mknod.ts');
    fs.writeFileSync(
      script,
      `import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LayerUnpacker } from ${JSON.stringify(path.resolve(__dirname, '../../src/image/unpack'))};
import { makeTar } from ${JSON.stringify(path.resolve(__dirname, '../support/tar'))};
const [dir, devices] = process.argv.slice(2);
const tar = makeTar([
  { path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
  { path: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0 },
  { path: 'dev/fifo', type: 'fifo', mode: 0o600 },
  { path: 'etc/.wh.gone' },
  { path: 'etc/kept', data: 'kept' },
]);
const u = new LayerUnpacker(dir, { devices: devices as 'skip' | 'error' });
pipeline(Readable.from([tar]), u).then(
  () => console.log(JSON.stringify({ skipped: u.skippedDevices })),
  (e: Error) => console.log(JSON.stringify({ error: e.message })),
);
`,
    );
    const vn = path.resolve(__dirname, '../../node_modules/.bin/vite-node');
    const inChild = (devices: string) => {
      const dir = freshDir();
      const r = spawnSync('setpriv', ['--bounding-set', '-mknod', '--', vn, script, dir, devices], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      return { dir, out: JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { skipped?: string[]; error?: string } };
    };
    const skip = inChild('skip');
    expect(skip.out).toEqual({ skipped: ['dev/null', 'dev/sda'] });
    expect(walk(skip.dir)).toEqual(['dev', 'dev/fifo', 'etc', 'etc/gone', 'etc/kept']);
    expect(fs.lstatSync(path.join(skip.dir, 'dev/fifo')).isFIFO()).toBe(true);
    expect(fs.lstatSync(path.join(skip.dir, 'etc/gone')).rdev).toBe(0); // a whiteout needs no CAP_MKNOD
    const strict = inChild('error');
    expect(strict.out).toEqual({
      error: 'refused tar entry "dev/null": creating a device node is not permitted here (no CAP_MKNOD)',
    });
  }, 60_000);

  it('a directory replaced again and again costs work in proportion to what goes, not to the whole layer', async () => {
    const entries: HandEntry[] = [];
    for (let i = 0; i < 1000; i++) entries.push({ path: `big/f${i}`, data: '' });
    for (let i = 0; i < 2000; i++)
      entries.push(
        i % 2 ? { path: 'x', data: `file ${i}` } : { path: 'x/', type: 'dir' },
        ...(i % 2 ? [] : [{ path: 'x/in', data: 'in' }]),
      );
    // The work of scanning the unpacker's model: every step of a Map key iterator while it runs.
    // Scanning the model on each replacement would take some 1000 x 2000 steps.
    let steps = 0;
    const keys = Map.prototype.keys;
    Map.prototype.keys = function <K, V>(this: Map<K, V>) {
      const it = keys.call(this);
      return Object.assign(Object.create(it) as MapIterator<K>, {
        next: () => {
          steps++;
          return it.next();
        },
      });
    };
    const started = performance.now();
    let dir: string;
    try {
      ({ dir } = await unpack(entries));
    } finally {
      Map.prototype.keys = keys;
    }
    expect(steps).toBeLessThan(entries.length);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(fs.readFileSync(path.join(dir, 'x'), 'utf8')).toBe('file 1999');
    expect(fs.readdirSync(path.join(dir, 'big'))).toHaveLength(1000);
  });

  describe('refuses entries that would write outside the layer', () => {
    const outside = () => path.join(base, 'outside');
    beforeAll(() => {
      fs.mkdirSync(outside(), { recursive: true });
      fs.writeFileSync(path.join(outside(), 'passwd'), 'original');
    });
    const untouched = () => {
      expect(fs.readdirSync(outside())).toEqual(['passwd']);
      expect(fs.readFileSync(path.join(outside(), 'passwd'), 'utf8')).toBe('original');
    };

    it('../ traversal', async () => {
      for (const p of ['../evil', 'a/../../evil', 'ok/../../../outside/passwd', '..']) {
        const { err } = await refused([
          { path: 'ok/', type: 'dir' },
          { path: p, data: 'pwned' },
        ]);
        expect(err).toBeInstanceOf(UnpackRefusedError);
        expect(err.message).toContain(`"${p}"`);
        expect(err.message).toContain('..');
      }
      untouched();
    });

    it('writes through a symlink made earlier in the layer (absolute and relative targets)', async () => {
      for (const target of [outside(), '../../outside', '..']) {
        const { err, dir } = await refused([
          { path: 'a', type: 'symlink', linkpath: target },
          { path: 'a/passwd', data: 'pwned' },
        ]);
        expect(err).toBeInstanceOf(UnpackRefusedError);
        expect(err.message).toBe('refused tar entry "a/passwd": "a" is a symlink in this layer and is not followed');
        expect(walk(dir)).toEqual(['a']);
      }
      // a deeper component, a directory created through the link, a hardlink placed through it
      for (const victim of [
        { path: 'a/x/y', data: 'pwned' },
        { path: 'a/newdir/', type: 'dir' as const },
        { path: 'a/h', type: 'hardlink' as const, linkpath: 'f' },
        { path: 'a/dev', type: 'char' as const, devmajor: 1, devminor: 3 },
        { path: 'a/.wh.passwd', data: '' },
        { path: 'a/.wh..wh..opq', data: '' },
      ]) {
        const { err } = await refused([
          { path: 'f', data: 'f' },
          { path: 'a', type: 'symlink', linkpath: outside() },
          victim,
        ]);
        expect(err).toBeInstanceOf(UnpackRefusedError);
        expect(err.message).toContain(`"${victim.path}"`);
      }
      untouched();
    });

    it('a directory replaced by a symlink is not followed either', async () => {
      const { err } = await refused([
        { path: 'd/', type: 'dir' },
        { path: 'd', type: 'symlink', linkpath: outside() },
        { path: 'd/passwd', data: 'pwned' },
      ]);
      expect(err.message).toContain('"d/passwd"');
      untouched();
    });

    it('hardlinks to files outside the layer, through symlinks or to directories', async () => {
      const cases: [HandEntry[], string][] = [
        [[{ path: 'h', type: 'hardlink', linkpath: '../outside/passwd' }], '..'],
        [[{ path: 'h', type: 'hardlink', linkpath: path.join(outside(), 'passwd') }], 'is not an earlier entry'],
        [
          [
            { path: 's', type: 'symlink', linkpath: outside() },
            { path: 'h', type: 'hardlink', linkpath: 's/passwd' },
          ],
          'is not an earlier entry',
        ],
        [
          [
            { path: 'dir/', type: 'dir' },
            { path: 'h', type: 'hardlink', linkpath: 'dir' },
          ],
          'is a directory',
        ],
      ];
      for (const [entries, reason] of cases) {
        const { err } = await refused(entries);
        expect(err).toBeInstanceOf(UnpackRefusedError);
        expect(err.message).toContain('"h"');
        expect(err.message).toContain(reason);
      }
      expect(fs.statSync(path.join(outside(), 'passwd')).nlink).toBe(1);
      untouched();
    });

    it('a hardlink to a symlink links the symlink itself, never its target', async () => {
      const { dir } = await unpack([
        { path: 's', type: 'symlink', linkpath: path.join(outside(), 'passwd') },
        { path: 'h', type: 'hardlink', linkpath: 's' },
      ]);
      expect(fs.lstatSync(path.join(dir, 'h')).isSymbolicLink()).toBe(true);
      expect(fs.statSync(path.join(outside(), 'passwd')).nlink).toBe(1);
    });
  });

  describe('broken archives', () => {
    it('a truncated archive is an error naming the entry', async () => {
      const tar = makeTar([{ path: 'big', data: 'q'.repeat(5000) }]);
      const err = await unpackLayer(chunks(tar.subarray(0, 3000)), freshDir()).catch((e: Error) => e);
      expect(String(err)).toContain('truncated tar archive: the input ended inside the data of "big"');
    });

    it('a corrupt header is an error', async () => {
      const tar = makeTar([
        { path: 'a', data: 'a' },
        { path: 'b', data: 'b' },
      ]);
      tar[1024 + 10] ^= 0xff;
      const err = await unpackLayer(chunks(tar), freshDir()).catch((e: Error) => e);
      expect(String(err)).toContain('bad header checksum at offset 1024');
    });

    it('input that is not tar is an error', async () => {
      const err = await unpackLayer(chunks(Buffer.from('this is not a tar file'.repeat(40))), freshDir()).catch(
        (e: Error) => e,
      );
      expect(String(err)).toContain('not a tar stream');
      const short = await unpackLayer(chunks(Buffer.from('garbage')), freshDir()).catch((e: Error) => e);
      expect(String(short)).toContain('not a tar stream (7 bytes');
      const empty = await unpackLayer(chunks(Buffer.alloc(0)), freshDir()).catch((e: Error) => e);
      expect(String(empty)).toContain('empty');
    });

    it('a PAX number out of range (or not a number) is an error naming the entry; nothing of it is written', async () => {
      const whole = (max: number) => `is not a whole number from 0 to ${max}`;
      const size = whole(Number.MAX_SAFE_INTEGER);
      const id = whole(4294967294);
      const time = 'is not a time in seconds within 2^53';
      const cases: [Record<string, string>, string][] = [
        [{ size: '1e23' }, `PAX size="1e23" ${size}`],
        [{ size: '-1' }, `PAX size="-1" ${size}`],
        [{ size: '1.5' }, `PAX size="1.5" ${size}`],
        [{ size: '9007199254740993' }, `PAX size="9007199254740993" ${size}`],
        [{ size: '' }, `PAX size="" ${size}`],
        [{ uid: '4294967296' }, `PAX uid="4294967296" ${id}`],
        [{ uid: '4294967295' }, `PAX uid="4294967295" ${id}`],
        [{ gid: '0x10' }, `PAX gid="0x10" ${id}`],
        [{ mtime: 'garbage\n' }, `PAX mtime="garbage\\n" ${time}`],
        [{ mtime: '1e23' }, `PAX mtime="1e23" ${time}`],
        [{ mtime: '99999999999999999999' }, `PAX mtime="99999999999999999999" ${time}`],
        [{ atime: 'yesterday' }, `PAX atime="yesterday" ${time}`],
      ];
      const entries: [HandEntry, string][] = [
        ...cases.map(([pax, message]): [HandEntry, string] => [{ path: 'f', data: 'x', pax }, message]),
        [
          { path: 'd', type: 'char', pax: { 'SCHILY.devmajor': '4294967296' } },
          `PAX devmajor="4294967296" ${whole(4294967295)}`,
        ],
      ];
      for (const [entry, message] of entries) {
        const { err, dir } = await refused([entry]);
        expect(err.message).toBe(`invalid tar entry "${entry.path}": ${message}`);
        expect(walk(dir)).toEqual([]);
      }
      const { err } = await refused([{ path: 'f', data: 'x', pax: { 'LIBARCHIVE.xattr.user%ZZ': 'eA==' } }]);
      expect(err.message).toBe(
        'invalid tar archive: a malformed attribute name in the PAX header before "(next entry)"',
      );
      // The largest id is still one.
      const { dir } = await unpack([{ path: 'f', data: 'x', pax: { uid: '4294967294', gid: '4294967294' } }]);
      expect(fs.statSync(path.join(dir, 'f')).uid).toBe(4294967294);
    });

    it('a header number that is not octal, or a base-256 one out of range, is an error naming the entry', async () => {
      /** A one-entry archive whose header field at `off` holds `bytes` (the checksum made right). */
      const patched = (off: number, bytes: Buffer) => {
        const tar = makeTar([{ path: 'f', data: 'x' }]);
        bytes.copy(tar, off);
        tar.fill(0x20, 148, 156);
        let sum = 0;
        for (let i = 0; i < 512; i++) sum += tar[i];
        tar.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
        return tar;
      };
      const failure = (tar: Buffer) =>
        unpackLayer(chunks(tar), freshDir()).then(
          () => 'unpacked',
          (e: Error) => e.message,
        );
      const notOctal = (field: string) => `invalid tar entry "f": the header's ${field} field is not an octal number`;
      expect(await failure(patched(108, Buffer.from('12x4\0')))).toBe(notOctal('uid'));
      expect(await failure(patched(100, Buffer.from('06z4\0')))).toBe(notOctal('mode'));
      const base256 = (v: bigint, len: number) => {
        const b = Buffer.alloc(len);
        for (let i = len - 1; i >= 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
        b[0] |= 0x80;
        return b;
      };
      expect(await failure(patched(108, base256(2n ** 32n, 8)))).toBe(
        'invalid tar entry "f": uid 4294967296 is not a whole number from 0 to 4294967294',
      );
      expect(await failure(patched(136, base256(2n ** 80n, 12)))).toMatch(
        /^invalid tar entry "f": mtime \S+ is not a time in seconds within 2\^53$/,
      );
      expect(await failure(patched(124, base256(2n ** 60n, 12)))).toBe(
        'invalid tar archive: the size field in the header of "f" is not a byte count',
      );
      // A negative base-256 time (before 1970) is one.
      const minusTwo = Buffer.alloc(12, 0xff);
      minusTwo[11] = 0xfe;
      const { dir } = await unpack(patched(136, minusTwo));
      expect(fs.statSync(path.join(dir, 'f')).mtimeMs).toBe(-2000);
    });

    it('padding after the end marker is kept up to 1 MiB; more (as /dev/zero gives) is an error', async () => {
      const padded = Buffer.concat([makeTar([{ path: 'a', data: 'a' }]), Buffer.alloc(1024 * 1024 - 512)]);
      const { dir, res } = await unpack(padded);
      expect(walk(dir)).toEqual(['a']);
      expect(res.size).toBe(padded.length);
      const endless = new Readable({
        read() {
          this.push(Buffer.alloc(65536));
        },
      });
      const err = await unpackLayer(endless, freshDir()).catch((e: Error) => e);
      expect(String(err)).toContain('invalid tar archive: more than 1 MiB of data after the end-of-archive marker');
    });

    it('an archive without the end-of-archive blocks is accepted (as GNU tar does)', async () => {
      const { dir } = await unpack(makeTar([{ path: 'a', data: 'a' }], { endMarker: false }));
      expect(walk(dir)).toEqual(['a']);
    });
  });

  it('unpacks what GNU tar writes exactly as GNU tar extracts it', async () => {
    const src = freshDir();
    const sh = (cmd: string) => {
      const r = spawnSync('bash', ['-euc', cmd], { cwd: src, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    };
    sh(`
      mkdir -p usr/bin usr/lib/deep/er etc var/empty 'with space' "$(printf 'x%.0s' {1..150})/$(printf 'y%.0s' {1..120})"
      printf 'hello' > etc/hosts; head -c 300000 /dev/urandom > usr/lib/blob; : > usr/lib/zero
      printf 'bin' > usr/bin/tool; chmod 4755 usr/bin/tool; ln usr/bin/tool usr/bin/tool-hard
      ln -s ../lib/blob usr/bin/rel-link; ln -s /etc/hosts abs-link; ln -s dangling dangle
      mknod dev-null c 1 3; mknod blk b 8 1; mkfifo fifo; chmod 1777 var/empty
      chown 1000:2000 etc/hosts; chown -h 3:4 abs-link; chown 5:6 usr/lib/deep
      python3 -c "import os; os.setxattr('etc/hosts', 'user.note', b'\\x00\\xffbin')"
      python3 -c "import os; os.setxattr('usr/bin/tool', 'security.capability', bytes.fromhex('0100000200200000000000000000000000000000'))"
      touch -h -d '2001-02-03 04:05:06' abs-link; touch -d '2002-03-04 05:06:07' usr/lib/deep usr/lib/blob
      printf 'spaced' > 'with space/f'
    `);
    const tarFile = path.join(base, 'gnu.tar');
    sh(`tar --xattrs --xattrs-include='*' --numeric-owner -cf ${tarFile} .`);
    const ours = freshDir();
    const res = await unpackLayer(fs.createReadStream(tarFile), ours);
    expect(res.diffId).toBe('sha256:' + createHash('sha256').update(fs.readFileSync(tarFile)).digest('hex'));
    const theirs = freshDir();
    sh(`tar --xattrs --xattrs-include='*' --numeric-owner --same-permissions --same-owner -xf ${tarFile} -C ${theirs}`);

    const describe = (root: string) =>
      walk(root).map((p) => {
        const full = path.join(root, p);
        const st = fs.lstatSync(full);
        const names = llistxattr(full).sort();
        return {
          p,
          mode: st.mode,
          uid: st.uid,
          gid: st.gid,
          size: st.isDirectory() ? 0 : st.size,
          nlink: st.isDirectory() ? 0 : st.nlink,
          rdev: st.rdev,
          mtime: st.mtimeMs,
          link: st.isSymbolicLink() ? fs.readlinkSync(full) : undefined,
          content: st.isFile() ? createHash('sha256').update(fs.readFileSync(full)).digest('hex') : undefined,
          xattrs: names.map((x) => `${x}=${lgetxattr(full, x)?.toString('hex')}`),
        };
      });
    const a = describe(ours);
    expect(a.length).toBeGreaterThan(20);
    expect(a).toEqual(describe(theirs));
    expect(fs.statSync(ours).mode & 0o7777).toBe(fs.statSync(theirs).mode & 0o7777);
  });

  it('TarReader reports entries without touching the disk', () => {
    const seen: string[] = [];
    const r = new TarReader({
      entry: (e) => seen.push(`${e.type}:${e.path}`),
      data: () => undefined,
      endEntry: () => undefined,
    });
    r.write(
      makeTar([
        { path: 'a/', type: 'dir' },
        { path: 'a/b', data: 'b' },
        { path: 'c', type: 'symlink', linkpath: 'a' },
      ]),
    );
    r.end();
    expect(seen).toEqual(['dir:a/', 'file:a/b', 'symlink:c']);
    expect(r.sawEnd).toBe(true);
  });
});
