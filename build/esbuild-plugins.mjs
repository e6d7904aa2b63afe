// esbuild configuration shared by build/build.mjs and the tests that bundle small entry points
// (test/unit/ffi.test.ts) to exercise exactly what goes into the binary.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const requireFromRoot = createRequire(join(ROOT, 'package.json'));

/**
 * Replaces the 'koffi' package by a factory `(native) => koffi`.
 *
 * koffi's index.js require()s `./build/koffi/<triplet>/koffi.node` and, failing that, its init()
 * searches the file system (node_modules/koffi/build/..., process.resourcesPath, ...) with
 * `eval("require")`. Neither works in a single executable. koffi's indirect.js is the same code
 * without the static requires: its last lines are `init2(detect2(), null)`. We bundle indirect.js
 * with these edits, each of which must match exactly once (a koffi upgrade that changes the layout
 * fails the build instead of silently loading from node_modules):
 *   - the tail becomes `module.exports = (native) => init2(detect2(), native)`, so src/linux/ffi.ts
 *     passes in the module it loaded with process.dlopen() from our asset;
 *   - the file-system search is replaced by an error (unreachable: native is always given);
 *   - `require("https")`, `require("zlib")` and `require("crypto")` of koffi's build-time
 *     download/untar tools (dead code here) are dropped: the first two cost ~12 ms of the ~14 ms of a
 *     plain require('koffi') (measured 2026-11-23 on the 2-core dev VM), crypto ~1.5 ms of every
 *     container start (2026-12-05).
 */
export function koffiPlugin() {
  return {
    name: 'box-koffi',
    setup(build) {
      build.onResolve({ filter: /^koffi$/ }, () => ({
        path: requireFromRoot.resolve('koffi/indirect.js'),
        namespace: 'box-koffi',
      }));
      build.onLoad({ filter: /.*/, namespace: 'box-koffi' }, (args) => {
        let src = readFileSync(args.path, 'utf8');
        const edits = [
          [/^\s*var http = require\("https"\);$/m, 'var http = null;'],
          [/^\s*var zlib = require\("zlib"\);$/m, 'var zlib = null;'],
          [/^\s*var crypto = require\("crypto"\);$/m, 'var crypto = null;'],
          [
            /^\s*native = eval\("require"\)\(filename\);$/m,
            'throw new Error("box: the koffi native module must be provided by src/linux/ffi.ts");',
          ],
          [
            /^var triplet2 = detect2\(\);\nvar mod2 = init2\(triplet2, null\);\nmodule\.exports = mod2;\s*$/m,
            'module.exports = function boxKoffiFactory(native) { return init2(detect2(), native); };\n' +
              'module.exports.boxKoffiFactory = true;\n',
          ],
        ];
        for (const [re, replacement] of edits) {
          const n = (src.match(new RegExp(re.source, re.flags + 'g')) ?? []).length;
          if (n !== 1) {
            return {
              errors: [
                {
                  text: `koffi layout changed: ${re} matched ${n} times in ${args.path}; update build/esbuild-plugins.mjs`,
                },
              ],
            };
          }
          src = src.replace(re, replacement);
        }
        return { contents: src, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** esbuild options for a CommonJS bundle of `entry` as it goes into the binary. */
export function bundleOptions({ entry, outfile, version, digests, defaultSeccomp, policyFiles, write = true }) {
  return {
    entryPoints: [entry],
    outfile,
    write,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    keepNames: false,
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    absWorkingDir: ROOT,
    define: {
      __BOX_VERSION__: JSON.stringify(version),
      ...(digests ? { __BOX_ASSET_DIGESTS__: JSON.stringify(digests) } : {}),
      ...(defaultSeccomp ? { __BOX_DEFAULT_SECCOMP__: JSON.stringify(defaultSeccomp) } : {}),
      // box's WIT and the TypeScript types generated from it, for `box policy build|types`
      ...(policyFiles
        ? {
            __BOX_POLICY_WIT__: JSON.stringify(policyFiles.wit),
            __BOX_POLICY_TYPES__: JSON.stringify(policyFiles.types),
          }
        : {}),
    },
    plugins: [koffiPlugin(), sharedBuiltinsPlugin()],
  };
}

/**
 * One namespace object per Node built-in module for the whole bundle. esbuild turns each module's
 * `import * as fs from 'node:fs'` into its own `__toESM(require('node:fs'))`, which copies every
 * property of the built-in as a getter: 86 copies of fs and 66 of path in box.js, ~8 ms of CPU for
 * the modules a `box run` loads (measured 2026-12-04). Imports of `node:X` resolve instead to one
 * module that re-exports it, so each built-in is copied once. require() calls are left alone.
 */
function sharedBuiltinsPlugin() {
  return {
    name: 'box-shared-builtins',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, (args) => {
        if (args.namespace === 'box-builtin' || args.kind !== 'import-statement') return undefined;
        return { path: args.path, namespace: 'box-builtin' };
      });
      // The default export is the module itself: `export { default } from` made esbuild copy every
      // property a second time (__toESM) for the two modules that use it.
      build.onLoad({ filter: /.*/, namespace: 'box-builtin' }, (args) => ({
        contents: `export * from '${args.path}';\nexport default require('${args.path}');\n`,
        loader: 'js',
      }));
    },
  };
}

export function packageVersion() {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
}

/** The core modules jco-transpile's vendored components load next to themselves. */
export const JCO_WASM = [
  'js-component-bindgen-component.core.wasm',
  'js-component-bindgen-component.core2.wasm',
  'wasm-tools.core.wasm',
  'wasm-tools.core2.wasm',
];

/**
 * Makes @bytecodealliance/jco-transpile bundleable into one CommonJS file that box loads only
 * when it must transpile a policy (src/policy/transpiler.ts):
 *   - its vendored components compile their core modules from files found via import.meta.url;
 *     those reads become `__boxReadAsset("jco-<file>")`, a function box passes in (the files are
 *     assets of the executable);
 *   - preview2-shim's I/O worker thread is started from `__boxAssetFile("jco-worker-thread.mjs")`,
 *     the path of that asset written out to disk;
 *   - `oxc-minify` (a native module, used only with the minify option box never sets) is
 *     replaced by a stub that throws.
 */
export function jcoTranspilePlugin() {
  return {
    name: 'box-jco-transpile',
    setup(build) {
      build.onResolve({ filter: /^oxc-minify$/ }, () => ({ path: 'oxc-minify', namespace: 'box-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'box-stub' }, () => ({
        contents: 'export function minify() { throw new Error("minify is not available in box"); }',
        loader: 'js',
      }));
      // preview2-shim runs its synchronous I/O in a worker thread loaded from a file next to it;
      // box gives it the same file, an asset written out to the policy cache.
      build.onLoad({ filter: /preview2-shim[\\/]dist[\\/]io[\\/]worker-io\.js$/ }, (args) => {
        const src = readFileSync(args.path, 'utf8');
        const re = /new URL\("\.\/worker-thread\.bundle\.js", import\.meta\.url\)/g;
        const n = (src.match(re) ?? []).length;
        if (n !== 1)
          return {
            errors: [
              {
                text: `preview2-shim layout changed: ${args.path} has ${n} worker URLs; update build/esbuild-plugins.mjs`,
              },
            ],
          };
        return {
          contents: src.replace(re, '__boxAssetFile("jco-worker-thread.mjs")'),
          loader: 'js',
          resolveDir: dirname(args.path),
        };
      });
      build.onLoad({ filter: /jco-transpile[\\/]vendor[\\/][^\\/]+\.js$/ }, (args) => {
        let src = readFileSync(args.path, 'utf8');
        const re = /fetchCompile\(new URL\('\.\/([\w.-]+\.wasm)', import\.meta\.url\)\)/g;
        const found = [...src.matchAll(re)].map((m) => m[1]);
        const unknown = found.filter((f) => !JCO_WASM.includes(f));
        if (found.length === 0 || unknown.length) {
          return {
            errors: [
              {
                text: `jco-transpile layout changed: ${args.path} loads ${found.join(', ') || 'no core module'}; update build/esbuild-plugins.mjs`,
              },
            ],
          };
        }
        src = src.replace(re, (_m, file) => `WebAssembly.compile(__boxReadAsset(${JSON.stringify('jco-' + file)}))`);
        if (src.includes('import.meta'))
          return { errors: [{ text: `${args.path} still uses import.meta after box's edits` }] };
        return { contents: src, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}
