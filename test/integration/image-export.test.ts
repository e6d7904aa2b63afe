// box export: a container's flattened file system as a tar archive (read here with GNU tar):
// files the container created appear, files it deleted do not, the image's files are there once,
// and an opaque directory hides what the image had in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BOX, importBusybox, leftovers, TestRoot } from '../support/box';

const t = new TestRoot('box-export-');

beforeAll(() => {
  importBusybox(t);
});
afterAll(() => {
  expect(leftovers(t)).toEqual([]);
  t.cleanup();
});

const tarList = (file: string) => {
  const r = spawnSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
};
const names = (file: string) => {
  const r = spawnSync('tar', ['-tf', file], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
};

describe('box export', () => {
  it("writes the container's merged file system: its new files in, its deleted ones out", () => {
    const made = t.box([
      'run',
      '--name',
      'exp',
      'busybox:latest',
      'sh',
      '-c',
      'echo created > /root/new && rm /bin/not-executable && mkdir -p /var/lib/x && ln /root/new /var/lib/x/hard && ' +
        'ln -s ../root/new /var/link && mknod /var/fifo p && chown 1234:5678 /root/new',
    ]);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const file = path.join(t.dir, 'exp.tar');
    const r = t.box(['export', '-o', file, 'exp']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const list = names(file);
    expect(list).toContain('root/new');
    expect(list).toContain('bin/busybox');
    expect(list).not.toContain('bin/not-executable');
    expect(new Set(list).size).toBe(list.length); // each path once, though it is in several layers
    const verbose = tarList(file);
    expect(verbose.find((l) => l.endsWith(' root/new'))).toMatch(/^-rw-r--r-- 1234\/5678 +8 /);
    expect(verbose.find((l) => l.includes(' var/lib/x/hard'))).toMatch(
      /^hrw-r--r-- .* var\/lib\/x\/hard link to root\/new$/,
    );
    expect(verbose.find((l) => l.includes(' var/link'))).toMatch(/^lrwxrwxrwx .* var\/link -> \.\.\/root\/new$/);
    expect(verbose.find((l) => l.includes(' var/fifo'))).toMatch(/^p/);

    // GNU tar unpacks it, and the content is the container's.
    const out = path.join(t.dir, 'unpacked');
    fs.mkdirSync(out);
    const x = spawnSync('tar', ['-C', out, '-xf', file], { encoding: 'utf8' });
    expect(x.stderr).toBe('');
    expect(fs.readFileSync(path.join(out, 'root/new'), 'utf8')).toBe('created\n');
    expect(fs.statSync(path.join(out, 'bin/busybox')).size).toBe(fs.statSync('/bin/busybox').size);
    expect(fs.existsSync(path.join(out, 'bin/not-executable'))).toBe(false);
  });

  it('to standard output, and an emptied directory (opaque in the writable layer) hides the image files under it', () => {
    const made = t.box([
      'run',
      '--name',
      'exp2',
      'busybox:latest',
      'sh',
      '-c',
      'rm -rf /home && mkdir /home && echo only > /home/only',
    ]);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const r = spawnSync(BOX, t.args(['export', 'exp2']), { maxBuffer: 1 << 28 });
    expect(r.stderr.toString()).toBe('');
    const file = path.join(t.dir, 'exp2.tar');
    fs.writeFileSync(file, r.stdout);
    const list = names(file);
    expect(list.filter((n) => n.startsWith('home/'))).toEqual(['home/', 'home/only']); // not home/app
    expect(list).toContain('bin/busybox');
  });

  it('an unknown container is an error, and nothing is written', () => {
    const file = path.join(t.dir, 'none.tar');
    const r = t.box(['export', '-o', file, 'nope']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^box: no such container: nope/);
    expect(fs.existsSync(file)).toBe(false);
    expect(t.box(['rm', 'exp', 'exp2']).status).toBe(0);
  });
});
