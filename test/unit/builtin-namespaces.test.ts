// build/builtin-namespaces.mjs: a Node built-in's shared namespace (build/esbuild-plugins.mjs) becomes
// the module itself, and the bundle behaves the same for named, namespace and default imports and
// the namespace used as a value.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { builtinNamespacesAsModules } from '../../build/builtin-namespaces.mjs';
import { esmInitsAsFunctions } from '../../build/esm-inits.mjs';
import { exportsIntoInits } from '../../build/lazy-exports.mjs';
import { BundleFixture } from '../support/bundle-fixture';

let fx: BundleFixture;
let code: string;

beforeAll(async () => {
  fx = new BundleFixture('box-builtin-ns-');
  const write = (name: string, text: string) => fx.write(name, text);
  write(
    'a.ts',
    "import * as osNs from 'node:os';\nimport osDefault from 'node:os';\nimport { EOL } from 'node:os';\n" +
      "import * as pathNs from 'node:path';\n" +
      'export function facts() {\n' +
      '  const ns: Record<string, unknown> = osNs;\n' +
      "  (require('node:os') as Record<string, unknown>).boxLater = 7;\n" +
      '  return { eol: EOL, same: osDefault.EOL === osNs.EOL, joined: pathNs.join("a", "b"),\n' +
      "    later: ns.boxLater, type: typeof ns.platform, hasDefault: 'default' in ns };\n" +
      '}\n',
  );
  write(
    'entry.ts',
    `export function main() {
       const a = require('./a') as typeof import('./a');
       process.stdout.write(JSON.stringify(a.facts()) + '\\n');
     }
     main();
    `,
  );
  code = esmInitsAsFunctions(exportsIntoInits(await fx.bundle()).code).code;
});

afterAll(() => {
  fx.remove();
});

const run = (text: string) => fx.run(text);

test("a built-in's namespace is the module itself; the bundle runs as before but for `default`", () => {
  const { code: direct, changed } = builtinNamespacesAsModules(code);
  expect(code).toMatch(/__reExport\(node_os_exports,require\("node:os"\)\)/);
  expect(changed).toBe(2); // os and path
  expect(direct).not.toContain('__reExport(');
  expect(direct).toMatch(/node_os_exports=node_os_default=require\("node:os"\)/);
  const facts = { eol: '\n', same: true, joined: 'a/b', type: 'function' };
  // the copy had a getter per property the module had at its init; the module has no `default`
  // (nothing in box reads a namespace's default) and shows what was added later (box adds nothing)
  expect(run(code)).toEqual({ ...facts, hasDefault: true });
  expect(run(direct)).toEqual({ ...facts, hasDefault: false, later: 7 });
});

test('an init in another shape is left as it is', () => {
  const odd = code.replace(
    '__reExport(node_os_exports,require("node:os"));',
    '__reExport(node_os_exports,require("node:os"),{});',
  );
  const { code: direct, changed } = builtinNamespacesAsModules(odd);
  expect(changed).toBe(1);
  expect(direct).toContain('__reExport(node_os_exports,require("node:os"),{})');
});
