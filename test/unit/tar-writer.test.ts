// The tar writer: what ustar cannot hold (long names and link targets, large ids, extended
// attributes) goes to PAX records that GNU tar and box's own reader both understand.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { TarEntry, TarReader } from '../../src/image/tar-reader';
import { TarStream } from '../../src/image/tar-writer';

async function archive(fill: (tar: TarStream) => Promise<void>): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  const tar = new TarStream(out);
  await fill(tar);
  await tar.finish();
  out.end();
  return Buffer.concat(parts);
}

const longDir = 'd'.repeat(120);
const longName = `${longDir}/${'f'.repeat(120)}`; // fits neither name nor prefix+name
const splitName = `${'p'.repeat(90)}/${'n'.repeat(90)}`; // fits prefix + name

describe('tar writer', () => {
  it('writes entries GNU tar and box read back the same', async () => {
    const tar = await archive(async (t) => {
      await t.add({ path: longDir, type: 'dir', mode: 0o755, mtime: 1_700_000_000 });
      await t.add(
        {
          path: longName,
          type: 'file',
          mode: 0o640,
          uid: 3_000_000,
          gid: 7,
          size: 5,
          mtime: 1_700_000_000,
          xattrs: new Map([['user.note', Buffer.from([0, 1, 2, 255])]]),
        },
        Buffer.from('hello'),
      );
      await t.add({ path: splitName, type: 'symlink', mode: 0o777, linkpath: `/${'t'.repeat(150)}` });
      await t.add({ path: 'hard', type: 'hardlink', mode: 0o640, linkpath: longName });
      await t.add({ path: 'dev', type: 'char', mode: 0o600, devmajor: 1, devminor: 3 });
    });
    expect(tar.length % 512).toBe(0);
    const entries: TarEntry[] = [];
    let data = '';
    const reader = new TarReader({
      entry: (e) => entries.push(e),
      data: (c) => (data += c.toString()),
      endEntry: () => undefined,
    });
    reader.write(tar);
    reader.end();
    expect(entries.map((e) => [e.path, e.type])).toEqual([
      [`${longDir}/`, 'dir'],
      [longName, 'file'],
      [splitName, 'symlink'],
      ['hard', 'hardlink'],
      ['dev', 'char'],
    ]);
    expect(entries[1]).toMatchObject({
      mode: 0o640,
      uid: 3_000_000,
      gid: 7,
      size: 5,
      mtime: { sec: 1_700_000_000, nsec: 0 },
    });
    expect(entries[1].xattrs.get('user.note')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(entries[2].linkpath).toBe(`/${'t'.repeat(150)}`);
    expect(entries[3].linkpath).toBe(longName);
    expect([entries[4].devmajor, entries[4].devminor]).toEqual([1, 3]);
    expect(data).toBe('hello');

    const gnu = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: tar, encoding: 'utf8' });
    expect(gnu.stderr).toBe('');
    const lines = gnu.stdout.trim().split('\n');
    expect(lines[1]).toMatch(new RegExp(`^-rw-r----- 3000000/7 +5 2023-11-1\\d \\d\\d:\\d\\d ${longName}$`));
    expect(lines[2]).toContain(`${splitName} -> /${'t'.repeat(150)}`);
    expect(lines[3]).toContain(`hard link to ${longName}`);
  });

  it('refuses content that does not match the size announced', async () => {
    await expect(
      archive((t) => t.add({ path: 'f', type: 'file', mode: 0o644, size: 3 }, Buffer.from('four'))),
    ).rejects.toThrow('f: more content than the 3 bytes announced');
    await expect(
      archive((t) => t.add({ path: 'f', type: 'file', mode: 0o644, size: 9 }, Buffer.from('four'))),
    ).rejects.toThrow('f: 4 bytes of content instead of the 9 announced');
  });
});
