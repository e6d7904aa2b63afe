// util/fs.ts removeTree: what fs.rmSync's recursive removal does, without Node's rimraf module.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { removeTree } from '../../src/util/fs';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-remove-tree-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a tree, a file and a dangling link are removed; a missing path is no error', () => {
  fs.mkdirSync(path.join(tmp, 'a/b/c'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'a/b/c/f'), 'x');
  fs.writeFileSync(path.join(tmp, 'file'), 'x');
  fs.symlinkSync(path.join(tmp, 'nowhere'), path.join(tmp, 'link'));
  for (const name of ['a', 'file', 'link', 'missing']) removeTree(path.join(tmp, name));
  expect(fs.readdirSync(tmp)).toEqual([]);
});

test('a link to a directory is removed, not what it points to', () => {
  fs.mkdirSync(path.join(tmp, 'kept'));
  fs.writeFileSync(path.join(tmp, 'kept/f'), 'x');
  fs.symlinkSync(path.join(tmp, 'kept'), path.join(tmp, 'link'));
  removeTree(path.join(tmp, 'link'));
  expect(fs.readdirSync(tmp)).toEqual(['kept']);
  expect(fs.readdirSync(path.join(tmp, 'kept'))).toEqual(['f']);
});

test('inside a tree, links to directories and files are removed, never followed; special files go too', () => {
  fs.mkdirSync(path.join(tmp, 'outside'));
  fs.writeFileSync(path.join(tmp, 'outside/f'), 'x');
  fs.mkdirSync(path.join(tmp, 'tree/d'), { recursive: true });
  fs.symlinkSync(path.join(tmp, 'outside'), path.join(tmp, 'tree/d/to-dir'));
  fs.symlinkSync(path.join(tmp, 'outside/f'), path.join(tmp, 'tree/to-file'));
  fs.symlinkSync('..', path.join(tmp, 'tree/d/up'));
  expect(spawnSync('mkfifo', [path.join(tmp, 'tree/fifo')]).status).toBe(0);
  removeTree(path.join(tmp, 'tree'));
  expect(fs.readdirSync(tmp)).toEqual(['outside']);
  expect(fs.readdirSync(path.join(tmp, 'outside'))).toEqual(['f']);
});
