// Lines stay readable (issue 9): no line of box's code (TypeScript, JavaScript modules, C and shell
// scripts in src/, test/, native/ and build/) runs past 160 characters. The formatters wrap code at 120 but leave
// long string literals and comments alone; those are split by hand (`+` pieces keep the value).
// A directory walk rather than git ls-files, so that a file not yet added is checked too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const DIRS = ['src', 'test', 'native', 'build'];
const CHECKED = /\.(ts|mts|mjs|c|h|sh)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist']);
const MAX_LINE = 160;

function codeFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return SKIPPED_DIRS.has(e.name) ? [] : codeFiles(p);
    return e.isFile() && CHECKED.test(e.name) ? [p] : [];
  });
}

/** `file:line (N characters)` for every line of the file past MAX_LINE characters. */
function longLines(file: string): string[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const where = path.relative(ROOT, file);
  // Characters as an editor counts them (code points), not UTF-16 units.
  return lines.flatMap((line, i) => {
    const length = [...line].length;
    return length > MAX_LINE ? [`${where}:${i + 1} (${length} characters)`] : [];
  });
}

it(`no line in src/, test/, native/ or build/ code is longer than ${MAX_LINE} characters`, () => {
  const files = DIRS.flatMap((d) => codeFiles(path.join(ROOT, d)));
  expect(files.length).toBeGreaterThan(100); // the walk found the tree
  expect(files.flatMap(longLines)).toEqual([]);
});
