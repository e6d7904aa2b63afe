// src/linux/sealed-exec.ts against the real kernel: the file it hands out is the one given, seen
// through a private overlayfs that refuses every writer (root included) and is in no mount table,
// and a program started from its path runs; a directory overlayfs cannot take as a layer gives
// undefined (the helper then seals itself, native/sealed-exe.c).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { sealedExec } from '../../src/linux/sealed-exec';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-sealed-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sealedExec', () => {
  test('hands out the file read-only, even to root, at /proc/self/fd/N with N at least minFd', () => {
    const file = path.join(dir, 'prog');
    fs.copyFileSync('/bin/echo', file);
    const sealed = sealedExec(file, 40);
    expect(sealed).toBeDefined();
    try {
      expect(Number(path.basename(sealed!.path))).toBeGreaterThanOrEqual(40);
      expect(fs.readFileSync(sealed!.path).equals(fs.readFileSync(file))).toBe(true);
      expect(() => fs.openSync(sealed!.path, 'r+')).toThrow(expect.objectContaining({ code: 'EROFS' }));
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
      const run = spawnSync(sealed!.path, ['sealed', 'runs'], { encoding: 'utf8' });
      expect(run.stdout).toBe('sealed runs\n');
    } finally {
      sealed?.close();
    }
    fs.appendFileSync(file, 'x'); // the file itself stays the caller's to replace
  });

  test('a directory whose path has a colon (lowerdir would need escaping) gives undefined', () => {
    const odd = path.join(dir, 'a:b');
    fs.mkdirSync(odd);
    fs.copyFileSync('/bin/echo', path.join(odd, 'prog'));
    expect(sealedExec(path.join(odd, 'prog'), 40)).toBeUndefined();
  });
});
