// readUserFile: a user's file is read only if it is a regular file within its size cap, with a
// bounded read; everything else is a one-line BoxError naming the file, the problem and the fix.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import { readUserFile, readUserText } from '../../src/util/user-file';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-user-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const opts = { what: 'test file', maxBytes: 1024, hint: 'give a small file' };

/** The error readUserFile throws, checked to be a one-line BoxError with box's exit code. */
function errorOf(file: string, o = opts): string {
  try {
    readUserFile(file, o);
  } catch (err) {
    expect(err).toBeInstanceOf(BoxError);
    expect((err as BoxError).exitCode).toBe(125);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error(`reading ${file} did not fail`);
}

describe('readUserFile', () => {
  it('reads a regular file up to and including its cap', () => {
    const f = path.join(dir, 'exact');
    fs.writeFileSync(f, 'x'.repeat(1024));
    expect(readUserText(f, opts)).toBe('x'.repeat(1024));
    fs.writeFileSync(f, '');
    expect(readUserFile(f, opts).length).toBe(0);
  });

  it('refuses a file one byte over the cap', () => {
    const f = path.join(dir, 'big');
    fs.writeFileSync(f, 'x'.repeat(1025));
    expect(errorOf(f)).toBe(`cannot read test file "${f}" (larger than 1024 bytes): give a small file`);
  });

  it('refuses /dev/zero, a directory and a missing file without reading them', () => {
    expect(errorOf('/dev/zero')).toBe(
      'cannot read test file "/dev/zero" (a character device, not a regular file): give a small file',
    );
    expect(errorOf(dir)).toMatch(/\(a directory, not a regular file\)/);
    expect(errorOf(path.join(dir, 'missing'))).toMatch(/\(no such file\): give a small file$/);
  });

  it('refuses a FIFO that nobody writes to at once, instead of waiting for a writer', () => {
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const started = Date.now();
    expect(errorOf(fifo)).toMatch(/\(a FIFO, not a regular file\)/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
