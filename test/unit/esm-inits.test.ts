// build/esm-inits.mjs: each lazily initialised module's `init_X = __esm(...)` becomes a function
// declaration, and the bundle behaves the same: an import cycle, an init that throws (run once,
// as __esm does), a module required twice.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundleOptions } from '../../build/esbuild-plugins.mjs';
import { esmInitsAsFunctions } from '../../build/esm-inits.mjs';
import { exportsIntoInits } from '../../build/lazy-exports.mjs';

let tmp: string;
let code: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-esm-inits-'));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(tmp, name), text);
  // a and b import each other and each calls the other's function while it initialises
  write(
    'a.ts',
    "import { bName } from './b';\nexport const fromB = bName();\nexport function aName() { return 'a'; }\n",
  );
  write(
    'b.ts',
    "import { aName } from './a';\nexport const fromA = aName();\nexport function bName() { return 'b'; }\n",
  );
  // e's first initialisation throws; it counts its runs in a global
  write(
    'e.ts',
    'const g = globalThis as { eRuns?: number };\ng.eRuns = (g.eRuns ?? 0) + 1;\n' +
      "export const e = 1;\nif (g.eRuns === 1) throw new Error('e failed');\n",
  );
  write(
    'entry.ts',
    `export function main() {
       const b = require('./b') as typeof import('./b');
       const a = require('./a') as typeof import('./a');
       const errors: string[] = [];
       for (let i = 0; i < 2; i++) {
         try { require('./e'); } catch (err) { errors.push((err as Error).message); }
       }
       process.stdout.write(JSON.stringify({ ab: [a.fromB, b.fromA, a.aName(), b.bName()], errors,
         eRuns: (globalThis as { eRuns?: number }).eRuns }) + '\\n');
     }
     main();
    `,
  );
  const out = await esbuild.build(
    bundleOptions({ entry: path.join(tmp, 'entry.ts'), outfile: path.join(tmp, 'out.js'), version: '0', write: false }),
  );
  code = exportsIntoInits(out.outputFiles![0].text).code;
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

test('the inits become function declarations; the bundle runs as before', () => {
  const { code: declared, changed } = esmInitsAsFunctions(code);
  expect(code).toMatch(/init_a=__esm\(/);
  expect(changed).toBeGreaterThanOrEqual(3); // a, b and e (and esbuild's own wrappers of built-ins)
  expect(declared).not.toMatch(/=__esm\(/);
  expect(declared).toMatch(/function init_a\(\)\{init_a=__esmDone;/);
  const expected = { ab: ['b', 'a', 'a', 'b'], errors: ['e failed'], eRuns: 1 };
  expect(run(code)).toEqual(expected);
  expect(run(declared)).toEqual(expected);
});

test('a call in another shape is left as it is', () => {
  const odd = code.replace(/init_e=__esm\(\{/, 'init_e=__esm({extra:1,');
  const { code: declared } = esmInitsAsFunctions(odd);
  expect(declared).toContain('init_e=__esm({extra:1,');
  expect(declared).toMatch(/function init_a\(\)\{/);
});
