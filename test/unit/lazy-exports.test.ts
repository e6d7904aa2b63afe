// build/lazy-exports.mjs: a module's export getters move into its init, and the bundle behaves the same
// (a cycle that reads a namespace while it initialises included).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { exportsIntoInits } from '../../build/lazy-exports.mjs';
import { BundleFixture } from '../support/bundle-fixture';

let fx: BundleFixture;
let code: string;

beforeAll(async () => {
  fx = new BundleFixture('box-lazy-exports-');
  const write = (name: string, text: string) => fx.write(name, text);
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
  code = await fx.bundle();
});

afterAll(() => {
  fx.remove();
});

const run = (text: string) => fx.run(text);

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
