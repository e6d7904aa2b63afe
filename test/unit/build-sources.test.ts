// What box build tells from a source's first bytes or its name: an archive (Docker's detection:
// a compression's magic number or a tar header whose checksum holds), a URL, a git repository,
// and the file name a downloaded URL gets (BuildKit's: the URL path's last segment).
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { archiveKind } from '../../src/build/archive';
import { isGitSource, isUrlSource, parseChecksum, urlFileName } from '../../src/build/fetch-url';
import { makeTar } from '../support/tar';

describe('archiveKind', () => {
  it('tells gzip, zstd, bzip2, xz and tar (with or without the ustar magic) from anything else', () => {
    const tar = makeTar([{ path: 'Dockerfile', data: 'FROM scratch\n' }]);
    expect(archiveKind(tar.subarray(0, 512))).toBe('tar');
    const v7 = Buffer.from(tar.subarray(0, 512));
    v7.fill(0, 257, 265); // no magic: an old v7 header, still a tar by its checksum
    let sum = 0;
    v7.fill(0x20, 148, 156);
    for (const b of v7) sum += b;
    v7.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(archiveKind(v7)).toBe('tar');
    expect(archiveKind(zlib.gzipSync(tar).subarray(0, 512))).toBe('gzip');
    expect(archiveKind(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe('zstd');
    expect(archiveKind(Buffer.from('BZh91AY&SY'))).toBe('bzip2');
    expect(archiveKind(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1]))).toBe('xz');
    const broken = Buffer.from(tar.subarray(0, 512));
    broken[0] ^= 1; // a header whose checksum no longer holds
    expect(archiveKind(broken)).toBeUndefined();
    expect(archiveKind(Buffer.alloc(512))).toBeUndefined(); // the end-of-archive block
    expect(archiveKind(Buffer.from('FROM busybox\nRUN true\n'.padEnd(600, '#')))).toBeUndefined();
    expect(archiveKind(Buffer.from('FROM busybox\n'))).toBeUndefined();
  });
});

describe('ADD URL sources', () => {
  it('names the file after the URL path, as BuildKit', () => {
    const name = (u: string) => urlFileName(new URL(u));
    expect(name('http://h/dir/tool.sh?version=2#x')).toBe('tool.sh');
    expect(name('https://h/a%20b.txt')).toBe('a b.txt');
    expect(name('http://h/')).toBe('__unnamed__');
    expect(name('http://h')).toBe('__unnamed__');
    expect(name('http://h/dir/')).toBe('dir');
    expect(name('http://h/%2e%2e')).toBe('__unnamed__');
  });

  it("tells URLs and git repositories by Docker's signs; --checksum takes sha256 only", () => {
    for (const s of ['http://h/f', 'HTTPS://h/f', 'ftp://h/f', 'git@github.com:o/r.git'])
      expect(isUrlSource(s)).toBe(true);
    for (const s of ['file.txt', 'dir/http:x', '/abs']) expect(isUrlSource(s)).toBe(false);
    for (const s of ['https://h/o/r.git', 'https://h/o/r.git#main:sub', 'git://h/r', 'ssh://git@h/r', 'git@h:o/r'])
      expect(isGitSource(s), s).toBe(true);
    for (const s of ['https://h/o/r.tar.gz', 'https://h/r.git.txt', 'https://h/a?x=.git'])
      expect(isGitSource(s), s).toBe(false);
    expect(parseChecksum(`sha256:${'a'.repeat(64)}`)).toBe('a'.repeat(64));
    expect(() => parseChecksum('sha512:abc')).toThrow(/expected sha256: and 64 hex digits/);
  });
});
