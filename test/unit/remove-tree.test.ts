// util/fs.ts removeTree: fs.rmSync's recursive removal, without loading Node's rimraf when nothing is there.
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
