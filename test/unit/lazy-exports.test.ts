// build/lazy-exports.mjs: a module's export getters move into its init, and the bundle behaves the same
// (a cycle that reads a namespace while it initialises included).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundleOptions } from '../../build/esbuild-plugins.mjs';
import { exportsIntoInits } from '../../build/lazy-exports.mjs';

let tmp: string;
let code: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-lazy-exports-'));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(tmp, name), text);
  // a and b import each other (a cycle) and b reads a's namespace while a initialises; c is loaded
  // by require() and read as a namespace by d
  write(
    'a.ts',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the module's own source, a template in it
    "import { b, seenInA } from './b';\nexport const a = () => `a${b()}:${seenInA}`;\n" +
      "export function aName() { return 'a'; }\n",
  );
  write(
    'b.ts',
    "import * as A from './a';\nexport const seenInA = Object.keys(A).join('+');\n" +
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the module's own source, a template in it
      "export const b = () => `b${(A as Record<string, () => string>)['aName']()}`;\n",
  );
  write('c.ts', 'export let counter = 0;\nexport function bump() { counter++; }\n');
  write(
    'd.ts',
    "import * as c from './c';\n" +
      'export function viaNamespace(k: string) { (c as Record<string, unknown> as Record<string, () => void>)[k](); return c.counter; }\n',
  );
  write(
    'entry.ts',
    `export function main() {
       const a = require('./a') as typeof import('./a');
       const d = require('./d') as typeof import('./d');
       const c = require('./c') as typeof import('./c');
       process.stdout.write(JSON.stringify({ a: a.a(), counter: [d.viaNamespace('bump'), d.viaNamespace('bump')],
         cKeys: Object.keys(c).sort().join(',') }) + '\\n');
     }
     main();
    `,
  );
  const out = await esbuild.build(
    bundleOptions({ entry: path.join(tmp, 'entry.ts'), outfile: path.join(tmp, 'out.js'), version: '0', write: false }),
  );
  code = out.outputFiles![0].text;
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const run = (text: string) => {
  const file = path.join(tmp, `run-${Math.random().toString(36).slice(2)}.js`);
  fs.writeFileSync(file, text);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
};

test('the export getters of lazily loaded modules move into their inits; the bundle runs as before', () => {
  const { code: lazy, moved } = exportsIntoInits(code);
  const expected = { a: 'aba:a+aName', counter: [1, 2], cKeys: 'bump,counter' };
  expect(run(code)).toEqual(expected);
  expect(run(lazy)).toEqual(expected);
  expect(moved).toBe(3); // a, c and d (b's exports are only imported by name, the entry's are not lazy)
  expect(lazy).toMatch(/"[^"]*c\.ts"\(\)\{__export\(c_exports,/);
  expect(lazy).not.toMatch(/var c_exports=\{\};__export\(/);
});

test('a call in another shape is left where it is', () => {
  const odd = code.replace(/__export\(c_exports,\{/, '__export(c_exports,{extra:()=>1+1,');
  const { code: lazy, moved } = exportsIntoInits(odd);
  expect(moved).toBe(2);
  expect(lazy).toContain('var c_exports={};__export(c_exports,{extra:()=>1+1,');
});
