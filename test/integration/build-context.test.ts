// `box build`'s CONTEXT: a directory, a tar archive (a file, or `-` with the archive on stdin,
// told from a Dockerfile by its first bytes as Docker does) or `-` with a Dockerfile and no
// context. Archive entries are hostile input: `..`, writes through symlinks, hard links to host
// files and device nodes are refused, an absolute name stays inside the context, and the
// Dockerfile is read inside it. Also --platform, -q and --iidfile.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, storeSnapshot } from '../support/box';
import { boxBuild, writeContext } from '../support/build';
import { HandEntry, makeTar } from '../support/tar';

describe('box build: the context', () => {
  const t = busyboxRoot();

  const build = (args: string[], input?: string | Buffer) => boxBuild(t, args, input);
  const run = (...args: string[]) => {
    const r = t.box(['run', '--rm', ...args]);
    expect(r.stderr).toBe('');
    return r.stdout;
  };
  const tmpLeft = () => fs.readdirSync(path.join(t.root, 'tmp')).filter((n) => n.startsWith('.tmp-context'));
  /** storeSnapshot, but for whether tmp/ exists (the work directory: kept once made) */
  const store = () => storeSnapshot(t.root).filter((line) => !line.startsWith('tmp '));

  /** A context directory with these files, and its tar and tar.gz made by GNU tar. */
  const context = (name: string, files: Record<string, string>) => {
    const dir = writeContext(t, name, files);
    const tar = path.join(t.dir, `${name}.tar`);
    expect(spawnSync('tar', ['-C', dir, '-cf', tar, '.']).status).toBe(0);
    expect(spawnSync('tar', ['-C', dir, '-czf', `${tar}.gz`, '.']).status).toBe(0);
    return { dir, tar, tgz: `${tar}.gz` };
  };

  it('a tar archive (file, gzip, stdin) builds what its directory builds; -f and .dockerignore inside it', () => {
    const c = context('ctx', {
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
      'a.txt': 'a\n',
      'sub/b.txt': 'b\n',
      'ignored.txt': 'ignored\n',
      '.dockerignore': 'ignored.txt\n',
      'docker/Dockerfile.alt': 'FROM busybox\nCOPY a.txt /alt.txt\n',
    });
    const fromDir = build(['-q', c.dir]);
    expect(fromDir.stderr).toBe('');
    expect(fromDir.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const iid = path.join(t.dir, 'iid');
    const fromTar = build(['-q', '--iidfile', iid, '-t', 'ctx:tar', c.tar]);
    expect(fromTar.stderr).toBe('');
    expect(fromTar.status).toBe(0);
    expect(fromTar.stdout).toBe(fromDir.stdout); // the same COPY content: the same image
    expect(fs.readFileSync(iid, 'utf8')).toBe(fromDir.stdout.trim());
    expect(build(['-q', c.tgz]).stdout).toBe(fromDir.stdout);
    const fromStdin = build(['-q', '-'], fs.readFileSync(c.tgz));
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.stdout).toBe(fromDir.stdout);
    expect(run('ctx:tar', 'find', '/ctx', '-type', 'f').split('\n').sort()).toEqual([
      '',
      '/ctx/.dockerignore',
      '/ctx/Dockerfile',
      '/ctx/a.txt',
      '/ctx/docker/Dockerfile.alt',
      '/ctx/sub/b.txt',
    ]);
    // -f names a Dockerfile inside the archive; -f - reads it from stdin, the context from the archive
    const alt = build(['-q', '-t', 'ctx:alt', '-f', 'docker/Dockerfile.alt', '-'], fs.readFileSync(c.tar));
    expect(alt.stderr).toBe('');
    expect(run('ctx:alt', 'cat', '/alt.txt')).toBe('a\n');
    const dashF = build(['-q', '-t', 'ctx:dashf', '-f', '-', c.tgz], 'FROM busybox\nCOPY sub/b.txt /b.txt\n');
    expect(dashF.stderr).toBe('');
    expect(run('ctx:dashf', 'cat', '/b.txt')).toBe('b\n');
    // a Dockerfile on stdin has no context
    const noContext = build(['-q', '-'], 'FROM busybox\nCOPY a.txt /\n');
    expect(noContext.stderr).toBe('box: Dockerfile (stdin):2: COPY needs a build context: give a directory, not -\n');
    expect(tmpLeft()).toEqual([]);
  });

  it("archive entries cannot reach the host: '..', links out, devices refused; absolute names stay inside", () => {
    const before = store();
    const hostFile = path.join(t.dir, 'host-dockerfile');
    fs.writeFileSync(hostFile, 'FROM busybox\nLABEL leaked=yes\n');
    const dockerfile: HandEntry = { path: 'Dockerfile', data: 'FROM busybox\nCOPY . /ctx/\n' };
    const cases: [string, HandEntry[], RegExp][] = [
      [
        '..',
        [dockerfile, { path: '../escaped.txt', data: 'x' }],
        /^box: (build context ".*dotdot\.tar"|the build context on stdin): refused tar entry "\.\.\/escaped\.txt": the path/,
      ],
      [
        'a write through a symlink',
        [dockerfile, { path: 'out', type: 'symlink', linkpath: t.dir }, { path: 'out/planted.txt', data: 'x' }],
        /refused tar entry "out\/planted\.txt": "out" is a symlink in this layer and is not followed/,
      ],
      [
        'a Dockerfile that is a symlink to a host file',
        [{ path: 'Dockerfile', type: 'symlink', linkpath: hostFile }],
        /^box: no Dockerfile "Dockerfile" in (build context ".*"|the build context on stdin): name it with -f\n$/,
      ],
      [
        'a hard link to a host file',
        [dockerfile, { path: 'shadow', type: 'hardlink', linkpath: '/etc/shadow' }],
        /refused tar entry "shadow": its hardlink target "\/etc\/shadow" is not an earlier entry of this layer/,
      ],
      [
        'a device node',
        [dockerfile, { path: 'null', type: 'char', devmajor: 1, devminor: 3 }],
        /refused tar entry "null": a device node has no place among plain files/,
      ],
    ];
    for (const [name, entries, message] of cases) {
      const file = path.join(t.dir, `${name === '..' ? 'dotdot' : name.replace(/ /g, '-')}.tar`);
      fs.writeFileSync(file, makeTar(entries));
      const r = build(['-q', file]);
      expect(r.stderr, name).toMatch(message);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.status, name).toBe(125);
      // on stdin too
      expect(build(['-q', '-'], fs.readFileSync(file)).stderr, name).toMatch(message);
    }
    expect(fs.existsSync(path.join(t.dir, 'planted.txt'))).toBe(false);
    expect(fs.existsSync(path.join(t.root, 'tmp', 'escaped.txt'))).toBe(false);
    for (const [input, message] of [
      [Buffer.from('BZh91AY&SY'), /is bzip2-compressed, which box cannot read: give a plain, gzip or zstd tar archive/],
      [Buffer.from('just text, no Dockerfile and no tar\n'), /is neither a directory nor a tar archive/],
    ] as const) {
      const file = path.join(t.dir, 'not-a-tar');
      fs.writeFileSync(file, input);
      const r = build(['-q', file]);
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(125);
    }
    const both = build(['-f', '-', '-'], 'FROM busybox\n');
    expect(both.stderr).toMatch(/stdin holds the context or the Dockerfile, not both/);
    expect(store()).toEqual(before);

    // an absolute name lands inside the context, never at that path on the host; a symlink out is
    // copied as a symlink, and a COPY through it resolves inside the context
    const abs = path.join(t.dir, 'absolute.txt');
    const tar = path.join(t.dir, 'abs.tar');
    fs.writeFileSync(
      tar,
      makeTar([
        { path: 'Dockerfile', data: `FROM busybox\nCOPY ${abs} /abs.txt\nCOPY etc /etc-link\n` },
        { path: abs, data: 'inside\n' },
        { path: 'etc', type: 'symlink', linkpath: '/etc' },
      ]),
    );
    const r = build(['-q', '-t', 'ctx:abs', tar]);
    expect(r.stderr).toBe('');
    expect(fs.existsSync(abs)).toBe(false);
    expect(run('ctx:abs', 'sh', '-c', 'cat /abs.txt; readlink /etc-link')).toBe('inside\n/etc\n');
    const through = build(
      ['-q', '-'],
      makeTar([
        { path: 'Dockerfile', data: 'FROM busybox\nCOPY conf/passwd /p\n' },
        { path: 'conf', type: 'symlink', linkpath: '/etc' },
      ]),
    );
    expect(through.stderr).toMatch(/^box: Dockerfile:2: "conf\/passwd" not found in the build context/);
    expect(tmpLeft()).toEqual([]);
  });

  it("--platform other than this machine's is refused; this machine's is accepted", () => {
    const here = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
    const other = build(['-q', '--platform', 'linux/arm64', '-'], 'FROM busybox\n');
    expect(other.stderr).toBe(
      `box: --platform linux/arm64: box builds for this machine's platform only (${here}): drop it\n`,
    );
    expect(other.status).toBe(125);
    const same = build(['-q', '--platform', here, '-'], 'FROM busybox\nLABEL a=b\n');
    expect(same.stderr).toBe('');
    expect(same.status).toBe(0);
  });
});
