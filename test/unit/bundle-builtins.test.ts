// How the bundle (build/esbuild-plugins.mjs, sharedBuiltinsPlugin) imports Node's built-ins: one
// namespace object per built-in, its properties copied once, and a default import that is the
// module itself (src/policy/build.ts and src/linux/seccomp/compile.ts use one).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundleOptions } from '../../build/esbuild-plugins.mjs';

let tmp: string;
let bundle: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bundle-builtins-'));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(tmp, name), text);
  write('a.ts', "import * as fs from 'node:fs';\nexport const readA = () => fs.readFileSync;\n");
  write(
    'entry.ts',
    `import osDefault from 'node:os';
     import * as fs from 'node:fs';
     import { join } from 'node:path';
     import { readA } from './a';
     process.stdout.write(JSON.stringify({
       defaultIsModule: osDefault === require('node:os'),
       sameRead: readA() === fs.readFileSync && fs.readFileSync === require('node:fs').readFileSync,
       join: join('a', 'b'),
     }) + '\\n');
    `,
  );
  bundle = path.join(tmp, 'bundle.js');
  await esbuild.build(bundleOptions({ entry: path.join(tmp, 'entry.ts'), outfile: bundle, version: '0.0.0-test' }));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("a built-in's default import is the module, and named and namespace imports are its own functions", () => {
  const r = spawnSync(process.execPath, [bundle], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ defaultIsModule: true, sameRead: true, join: 'a/b' });
});

test("each built-in's properties are copied once (no __toESM copy for its default export)", () => {
  const code = fs.readFileSync(bundle, 'utf8');
  expect(code).not.toMatch(/__toESM\(require\("node:/);
  expect(code.match(/__reExport\([a-z_]+,require\("node:fs"\)\)/g)).toHaveLength(1);
});
