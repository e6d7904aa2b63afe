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
 *   - `require("https")` and `require("zlib")` of koffi's build-time download/untar tools (dead
 *     code here) are dropped: they cost ~12 ms of the ~14 ms of a plain require('koffi').
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
            return { errors: [{ text: `koffi layout changed: ${re} matched ${n} times in ${args.path}; update build/esbuild-plugins.mjs` }] };
          }
          src = src.replace(re, replacement);
        }
        return { contents: src, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** esbuild options for a CommonJS bundle of `entry` as it goes into the binary. */
export function bundleOptions({ entry, outfile, version, digests, defaultSeccomp, write = true }) {
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
    },
    plugins: [koffiPlugin()],
  };
}

export function packageVersion() {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
}
