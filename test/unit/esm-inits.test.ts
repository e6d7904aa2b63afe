// build/esm-inits.mjs: each lazily initialised module's `init_X = __esm(...)` becomes a function
// declaration, and the bundle behaves the same: an import cycle, an init that throws (run once,
// as __esm does), a module required twice.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { esmInitsAsFunctions } from '../../build/esm-inits.mjs';
import { exportsIntoInits } from '../../build/lazy-exports.mjs';
import { BundleFixture } from '../support/bundle-fixture';

let fx: BundleFixture;
let code: string;

beforeAll(async () => {
  fx = new BundleFixture('box-esm-inits-');
  const write = (name: string, text: string) => fx.write(name, text);
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
  code = exportsIntoInits(await fx.bundle()).code;
});

afterAll(() => {
  fx.remove();
});

const run = (text: string) => fx.run(text);

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
