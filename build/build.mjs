#!/usr/bin/env node
// `npm run build`: offline, idempotent build of box.
//
//   1. native helper   cc -static ... native/*.c        -> dist/assets/box-helper
//   2. koffi's .node   node_modules/koffi/build/...      -> dist/assets/koffi.node
//   3. transpiler      esbuild jco-transpile (CommonJS)  -> dist/assets/jco-transpile.js + its wasm
//   4. policies        build/policies.mjs (clang, jco)   -> dist/assets/policy-<name>.wasm
//   5. bundle          esbuild src/main.ts (CommonJS)    -> dist/box.js
//      box-runc's      esbuild src/runc-main.ts          -> dist/box-runc.js (what box-runc runs)
//      entry point     esbuild src/boot.ts (CommonJS)    -> dist/boot.js (runs box.js, code cache)
//   6. executable      @yao-pkg/pkg SEA of boot.js + the assets and box.js -> dist/box
//
// Every step is skipped when a digest of its inputs matches the one recorded for its output in
// dist/.build/, so a second run takes well under a second. Outputs are written to temporary
// files and renamed into place, so an interrupted or concurrent build never leaves a partial
// file. Environment:
//   BUILD_NATIVE_SRC   directory with the helper's C sources (default: native/)
//   CC                 C compiler (default: cc)
//   BOX_BUILD_VERBOSE  1: show pkg's output and the compiler command
//   BOX_BUILD_FORCE    1: ignore the recorded digests and redo every step
//   BOX_BUILD_CODE_CACHE  0: build the executable without V8's code cache (for measurements)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { committedPolicyTypes } from './policy-types.mjs';
import { bundleOptions, JCO_WASM, jcoTranspilePlugin, packageVersion, ROOT } from './esbuild-plugins.mjs';
import { builtinNamespacesAsModules } from './builtin-namespaces.mjs';
import { esmInitsAsFunctions } from './esm-inits.mjs';
import { exportsIntoInits } from './lazy-exports.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));
const DIST = path.join(ROOT, 'dist');
const ASSETS = path.join(DIST, 'assets');
const STATE = path.join(DIST, '.build');
const VERBOSE = process.env.BOX_BUILD_VERBOSE === '1';
const FORCE = process.env.BOX_BUILD_FORCE === '1';

// SEA options. V8's code cache lets the executable skip compiling the bundle at start-up: with
// the 270 KB CLI bundle, `box version` took a median 124 ms with it and 137 ms without
// (node -e 0: 82 ms; measured 2026-11-23 on the 2-core dev VM), see build/README.md. A start-up
// snapshot would need the entry point to use v8.startupSnapshot.
const SEA_CONFIG = {
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: process.env.BOX_BUILD_CODE_CACHE !== '0',
};

class BuildError extends Error {}

const t0 = performance.now();
function log(msg) {
  process.stdout.write(`build: ${msg}\n`);
}
function ms(start) {
  return `${Math.round(performance.now() - start)} ms`;
}

function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : p).update('\0');
  return h.digest('hex');
}

function writeAtomic(file, data, mode = 0o644) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
}

// Stamps: dist/.build/<output>.stamp holds the digest of the inputs the output was built from.
function upToDate(output, key) {
  if (FORCE) return false;
  try {
    return fs.existsSync(output) && fs.readFileSync(path.join(STATE, `${path.basename(output)}.stamp`), 'utf8') === key;
  } catch {
    return false;
  }
}
function stamp(output, key) {
  writeAtomic(path.join(STATE, `${path.basename(output)}.stamp`), key);
}

// 1. The static C helper.
function buildHelper() {
  const start = performance.now();
  const srcDir = path.resolve(ROOT, process.env.BUILD_NATIVE_SRC || 'native');
  const entries = fs.existsSync(srcDir) ? fs.readdirSync(srcDir).sort() : [];
  const cFiles = entries.filter((f) => f.endsWith('.c')).map((f) => path.join(srcDir, f));
  const shownDir = srcDir.startsWith(ROOT + path.sep) ? path.relative(ROOT, srcDir) : srcDir;
  if (cFiles.length === 0) {
    throw new BuildError(
      `no C sources for the native helper: ${shownDir}/*.c does not exist yet ` +
        `(set BUILD_NATIVE_SRC to build from another directory)`,
    );
  }
  const headers = entries.filter((f) => f.endsWith('.h')).map((f) => path.join(srcDir, f));
  const cc = process.env.CC || 'cc';
  const out = path.join(ASSETS, 'box-helper');
  const flags = ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-s'];
  const ccVersion = spawnSync(cc, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const key = sha256(
    cc,
    ccVersion,
    flags.join(' '),
    ...[...cFiles, ...headers].flatMap((f) => [path.basename(f), fs.readFileSync(f)]),
  );
  if (upToDate(out, key)) return log(`box-helper up to date`);

  const tmp = `${out}.tmp-${process.pid}`;
  const args = [...flags, '-o', tmp, ...cFiles];
  if (VERBOSE) log(`${cc} ${args.join(' ')}`);
  const r = spawnSync(cc, args, { encoding: 'utf8', cwd: srcDir });
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    const why = r.error ? r.error.message : `${r.stderr}${r.stdout}`.trim();
    throw new BuildError(`the native helper does not compile (${cc} ${flags.join(' ')} ${shownDir}/*.c):\n${why}`);
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, out);
  stamp(out, key);
  log(`box-helper ${fs.statSync(out).size} bytes (${ms(start)})`);
}

// 2. koffi's prebuilt native module for linux_x64 (koffi ships prebuilds; no install script).
function copyKoffi() {
  const src = path.join(path.dirname(require.resolve('koffi/package.json')), 'build/koffi/linux_x64/koffi.node');
  if (!fs.existsSync(src)) throw new BuildError(`koffi's prebuilt module is missing: ${src} (run npm ci)`);
  const out = path.join(ASSETS, 'koffi.node');
  const data = fs.readFileSync(src);
  if (fs.existsSync(out) && fs.readFileSync(out).equals(data)) return;
  writeAtomic(out, data, 0o644);
  log(`koffi.node copied`);
}

// 3. jco-transpile, bundled on its own: box loads it only to transpile a policy it has not seen
// (src/policy/transpiler.ts), so the CLI bundle that every command parses stays small.
async function bundleTranspiler() {
  const start = performance.now();
  const out = path.join(ASSETS, 'jco-transpile.js');
  const result = await esbuild.build({
    stdin: {
      contents: "export { transpileBytes } from '@bytecodealliance/jco-transpile';",
      resolveDir: ROOT,
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [jcoTranspilePlugin()],
  });
  const externals = Object.values(result.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external && !isBuiltin(i.path));
  if (externals.length)
    throw new BuildError(
      `the transpiler bundle requires non-built-in modules: ${externals.map((i) => i.path).join(', ')}`,
    );
  const vendor = path.join(ROOT, 'node_modules/@bytecodealliance/jco-transpile/vendor');
  for (const file of JCO_WASM) {
    const data = fs.readFileSync(path.join(vendor, file));
    const dest = path.join(ASSETS, `jco-${file}`);
    if (!fs.existsSync(dest) || !fs.readFileSync(dest).equals(data)) writeAtomic(dest, data);
  }
  const worker = fs.readFileSync(
    path.join(ROOT, 'node_modules/@bytecodealliance/preview2-shim/dist/io/worker-thread.bundle.js'),
  );
  const workerOut = path.join(ASSETS, 'jco-worker-thread.mjs');
  if (!fs.existsSync(workerOut) || !fs.readFileSync(workerOut).equals(worker)) writeAtomic(workerOut, worker);
  const code = result.outputFiles[0].contents;
  if (fs.existsSync(out) && fs.readFileSync(out).equals(code)) return log('jco-transpile.js up to date');
  writeAtomic(out, code);
  log(`jco-transpile.js ${code.length} bytes (${ms(start)})`);
}

// 4. The built-in policies (build/policies.mjs keeps its own stamps), copied in as assets, each
// with the core module box runs of it (src/policy/engine.ts builtinCore: the default memory limit
// and deadline checks), checked here once instead of by every start.
async function buildPolicies() {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'build/policies.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new BuildError('the built-in policies did not build (see above)');
  const { builtinCore } = await policyEngine();
  const update = (dest, data) => {
    if (!fs.existsSync(dest) || !fs.readFileSync(dest).equals(data)) writeAtomic(dest, data);
  };
  for (const name of BUILTIN_POLICIES) {
    const data = fs.readFileSync(path.join(DIST, 'policies', `${name}.wasm`));
    update(path.join(ASSETS, `policy-${name}.wasm`), data);
    let core;
    try {
      core = builtinCore(data, `the built-in policy ${name}`);
    } catch (err) {
      throw new BuildError(err.message);
    }
    update(path.join(ASSETS, `policy-${name}.core.wasm`), Buffer.from(core));
  }
}

/**
 * Bundles a snippet of box's TypeScript sources and evaluates it here, at build time: what the
 * build computes with the runtime's own code. Returns the snippet's module.exports.
 */
async function evaluateSources(contents) {
  const built = await esbuild.build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
  });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', built.outputFiles[0].text)(mod, mod.exports, require);
  return mod.exports;
}

/** The policy engine's functions that prepare a built-in's core module (bundled from the sources). */
function policyEngine() {
  return evaluateSources("export { builtinCore } from './src/policy/engine';");
}

const BUILTIN_POLICIES = ['baseline', 'strict', 'capacity'];

/** Every file embedded in the executable, by asset name (src/assets.ts lists the same names). */
function assetNames() {
  return [
    'box-helper',
    'koffi.node',
    'jco-transpile.js',
    'jco-worker-thread.mjs',
    LAYER_WORKER,
    ...JCO_WASM.map((f) => `jco-${f}`),
    ...BUILTIN_POLICIES.map((n) => `policy-${n}.wasm`),
    ...BUILTIN_POLICIES.map((n) => `policy-${n}.core.wasm`),
  ];
}

function assetDigests(names = assetNames()) {
  const digests = {};
  for (const name of names) {
    const data = fs.readFileSync(path.join(ASSETS, name));
    digests[name] = { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
  }
  return digests;
}

// The seccomp program for Docker's default capabilities, compiled once here by the same code the
// runtime uses: most containers use it, and compiling it (and loading the syscall tables) would
// otherwise cost every start a few milliseconds.
function defaultSeccompProgram() {
  return evaluateSources(
    "import { compileDefaultProfile } from './src/linux/seccomp'; " +
      "import { DOCKER_DEFAULT_CAP_MASK } from './src/linux/capabilities'; " +
      'module.exports = { mask: String(DOCKER_DEFAULT_CAP_MASK), ' +
      "bpf: compileDefaultProfile(DOCKER_DEFAULT_CAP_MASK).toString('base64') };",
  );
}

// 5. The bundles: box's, and box-runc's (its OCI commands only; src/boot.ts picks one by name).
const BUNDLES = { 'box.js': 'src/main.ts', 'box-runc.js': 'src/runc-main.ts' };

async function bundle(version, digests, name) {
  const start = performance.now();
  const out = path.join(DIST, name);
  const defaultSeccomp = await defaultSeccompProgram();
  const policyFiles = {
    wit: fs.readFileSync(path.join(ROOT, 'policies/wit/policy.wit'), 'utf8'),
    types: committedPolicyTypes(),
  };
  let result;
  try {
    result = await esbuild.build({
      ...bundleOptions({
        entry: path.join(ROOT, BUNDLES[name]),
        outfile: out,
        version,
        digests,
        defaultSeccomp,
        policyFiles,
        write: false,
      }),
      metafile: true,
    });
  } catch (err) {
    // esbuild has already printed the errors with their source locations.
    throw new BuildError(`bundling ${BUNDLES[name]} failed (${err.errors?.length ?? 'see'} errors above)`);
  }
  // In the single executable, require() only knows Node's built-in modules: anything else left
  // external would fail at run time, so refuse it here.
  const externals = Object.values(result.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external && !isBuiltin(i.path))
    .map((i) => i.path);
  if (externals.length)
    throw new BuildError(`the bundle requires non-built-in modules at run time: ${[...new Set(externals)].join(', ')}`);
  // Each module's export getters are defined when it is first loaded, not by every process at start,
  // its init is a function declaration, not an __esm call made at start (build/esm-inits.mjs), and
  // a Node built-in's namespace is the module itself, not a copy of getters (builtin-namespaces.mjs).
  const lazy = esmInitsAsFunctions(exportsIntoInits(result.outputFiles[0].text).code).code;
  const code = Buffer.from(builtinNamespacesAsModules(lazy).code);
  // Every process decodes the bundle into a V8 string: with a single non-ASCII byte (esbuild escapes
  // them in strings, not in regular expressions) it becomes two-byte text, twice the memory to copy,
  // hash and scan (2.4 MB instead of 1.2) at every start.
  const nonAscii = code.findIndex((b) => b > 0x7f);
  if (nonAscii >= 0) {
    const around = Buffer.from(code.subarray(Math.max(0, nonAscii - 60), nonAscii + 20)).toString('utf8');
    throw new BuildError(`the bundle has a non-ASCII character (write it as a \\u escape): ...${around}...`);
  }
  if (fs.existsSync(out) && fs.readFileSync(out).equals(code)) return log(`${name} up to date`);
  writeAtomic(out, code);
  log(`${name} ${code.length} bytes (${ms(start)})`);
}

// 5a. The layer worker's bundle (src/image/layer-worker.ts), an asset box starts as a worker thread
// (src/image/layer-workers.ts): a bundle of its own, a few dozen KB, because a worker that parsed
// box.js took 30 ms longer to start. It finds koffi's module through the digests of the other assets.
const LAYER_WORKER = 'layer-worker.js';

async function bundleLayerWorker(version) {
  const out = path.join(ASSETS, LAYER_WORKER);
  const digests = assetDigests(assetNames().filter((n) => n !== LAYER_WORKER));
  let result;
  try {
    result = await esbuild.build({
      ...bundleOptions({
        entry: path.join(ROOT, 'src/image/layer-worker.ts'),
        outfile: out,
        version,
        digests,
        write: false,
      }),
      metafile: true,
    });
  } catch (err) {
    throw new BuildError(`bundling src/image/layer-worker.ts failed (${err.errors?.length ?? 'see'} errors above)`);
  }
  const externals = Object.values(result.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external && !isBuiltin(i.path))
    .map((i) => i.path);
  if (externals.length)
    throw new BuildError(
      `the layer worker requires non-built-in modules at run time: ${[...new Set(externals)].join(', ')}`,
    );
  const code = result.outputFiles[0].contents;
  if (fs.existsSync(out) && fs.readFileSync(out).equals(code)) return;
  writeAtomic(out, code);
  log(`${LAYER_WORKER} ${code.length} bytes`);
}

// 5b. The executable's entry point: src/boot.ts runs box.js or box-runc.js (assets) with a V8 code
// cache made after a run, named after the bundle's digest.
async function bundleBoot() {
  const out = path.join(DIST, 'boot.js');
  const digests = Object.fromEntries(
    Object.keys(BUNDLES).map((name) => [
      name,
      createHash('sha256')
        .update(fs.readFileSync(path.join(DIST, name)))
        .digest('hex')
        .slice(0, 16),
    ]),
  );
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, 'src/boot.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
    define: { __BOX_BUNDLE_DIGESTS__: JSON.stringify(digests) },
  });
  const code = result.outputFiles[0].contents;
  if (fs.existsSync(out) && fs.readFileSync(out).equals(code)) return;
  writeAtomic(out, code);
  log(`boot.js ${code.length} bytes`);
}

// The text of a bundle as the executable embeds it: already inside the CommonJS function wrapper
// boot.js compiles. Wrapping it at run time made V8 flatten a 1.3 MB concatenation (a second copy
// of the source, ~330 page faults) in every process.
const BUNDLE_WRAPPER = ['(function (exports, require, module, __filename, __dirname) {', '\n})'];

function wrappedBundle(name) {
  const out = path.join(STATE, `sea-${name}`);
  const code = Buffer.concat([
    Buffer.from(BUNDLE_WRAPPER[0]),
    fs.readFileSync(path.join(DIST, name)),
    Buffer.from(BUNDLE_WRAPPER[1]),
  ]);
  if (!fs.existsSync(out) || !fs.readFileSync(out).equals(code)) writeAtomic(out, code);
  return out;
}

// Node's start-up looks through the whole command line, before any JavaScript runs, for
// --env-file and --env-file-if-exists (Dotenv::GetDataFromArgs in node.cc; it stops only at `--`)
// and loads those files into the process's environment, NODE_OPTIONS included. In the single
// executable these are box's own arguments: `box run --env-file F` had node read F without a bound
// (/dev/zero: forever) and run a `NODE_OPTIONS=--require ...` line of it inside box, as root. So
// the executable is made from a copy of node in which both flag names are altered by one byte: the
// scan matches no argument (box does not use node's own command line).
const NODE_ENV_FILE_FLAGS = ['--env-file-if-exists', '--env-file'];

// Node reads NODE_EXTRA_CA_CERTS while it starts (InitCryptoOnce), before any JavaScript: it parses
// its bundled root certificates and every certificate of that file into a store, whether the
// program ever opens a TLS connection or not. Where the variable names the system's bundle, as on
// this VM, that was ~28 ms of CPU of every box command (node -e 0: 49 ms with it, 21 ms without,
// measured 2026-12-04). Only a pull, push or login talks TLS: the copy of node the executable is
// made from reads another name, and box's registry client adds that file's certificates itself
// when it first connects (src/image/registry/http.ts). The name is node's only C string of it: the
// byte before it ends another C string (its other copies are JavaScript and V8 snapshot data).
const NODE_EXTRA_CA_CERTS = 'NODE_EXTRA_CA_CERTS';

function cStringAt(bytes, text) {
  const needle = Buffer.from(`${text}\0`);
  const found = [];
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    if (at >= 2 && bytes[at - 1] === 0 && bytes[at - 2] !== 0) found.push(at);
  }
  return found;
}

function nodeForSea() {
  const out = path.join(STATE, `node-for-sea-${process.pid}`);
  const bytes = fs.readFileSync(process.execPath);
  for (const flag of NODE_ENV_FILE_FLAGS) {
    const text = Buffer.from(`${flag}\0`);
    const at = bytes.indexOf(text);
    if (at < 0 || bytes.indexOf(text, at + 1) >= 0) {
      const why = `expected the string "${flag}" exactly once, to disable node's --env-file scan`;
      throw new BuildError(`${process.execPath}: ${why}`);
    }
    bytes[at + 2] = 0x7e; // "--~nv-file"
  }
  const ca = cStringAt(bytes, NODE_EXTRA_CA_CERTS);
  if (ca.length !== 1) {
    const why = `expected one C string "${NODE_EXTRA_CA_CERTS}", found ${ca.length}, to defer its loading to box`;
    throw new BuildError(`${process.execPath}: ${why}`);
  }
  bytes[ca[0] + 5] = 0x7e; // "NODE_~XTRA_CA_CERTS": a name nobody sets
  writeAtomic(out, bytes, 0o755);
  return out;
}

// 6. The single executable.
async function singleExecutable(version) {
  const start = performance.now();
  const out = path.join(DIST, 'box');
  const entry = path.join(DIST, 'boot.js');
  const assets = Object.fromEntries(assetNames().map((name) => [name, path.join(ASSETS, name)]));
  for (const name of Object.keys(BUNDLES)) assets[name] = wrappedBundle(name); // run by boot.js
  const seaConfig = { ...SEA_CONFIG, assets };
  const pkgVersion = JSON.parse(fs.readFileSync(require.resolve('@yao-pkg/pkg/package.json'), 'utf8')).version;
  const key = sha256(
    process.execPath,
    process.version,
    String(fs.statSync(process.execPath).size),
    pkgVersion,
    JSON.stringify(NODE_ENV_FILE_FLAGS),
    NODE_EXTRA_CA_CERTS,
    JSON.stringify(seaConfig),
    fs.readFileSync(entry),
    ...Object.values(assets).map((f) => fs.readFileSync(f)),
  );
  if (upToDate(out, key)) return log(`box up to date`);

  const tmpOut = path.join(STATE, `box.tmp-${process.pid}`);
  // pkg works in os.tmpdir()/pkg-sea/<time> and runs `npx postject` there. Put that directory
  // inside the project so npx finds node_modules/.bin/postject by walking up (from /tmp it would
  // try to download it), and make npm fail instead of going to the network.
  const workTmp = path.join(STATE, `tmp-${process.pid}`);
  fs.mkdirSync(workTmp, { recursive: true });
  const savedEnv = { ...process.env };
  Object.assign(process.env, {
    TMPDIR: workTmp,
    // The blob must be made by the node the executable is copied from (code cache): the copy
    // differs from it only in the three names above.
    PATH: [path.dirname(process.execPath), path.join(ROOT, 'node_modules/.bin'), process.env.PATH].join(':'),
    npm_config_offline: 'true',
    npm_config_yes: 'false',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_loglevel: 'error',
  });
  const { log: pkgLog } = require('@yao-pkg/pkg-fetch/lib-es5/log');
  const captured = [];
  const saved = { info: pkgLog.info, warn: pkgLog.warn };
  if (!VERBOSE) {
    pkgLog.info = (text) => captured.push(`> ${text}`);
    pkgLog.warn = (text) => captured.push(`> Warning ${text}`);
  }
  const node = nodeForSea();
  try {
    const sea = require('@yao-pkg/pkg/lib-es5/sea.js').default;
    await sea(entry, {
      targets: [{ nodeRange: 'node20', platform: 'linux', arch: 'x64', output: tmpOut }],
      nodePath: node,
      seaConfig,
    });
  } catch (err) {
    throw new BuildError(`pkg failed: ${err instanceof Error ? err.message : err}\n${captured.join('\n')}`);
  } finally {
    Object.assign(pkgLog, saved);
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
    fs.rmSync(workTmp, { recursive: true, force: true });
    fs.rmSync(node, { force: true });
  }
  // pkg runs the injection inside Promise.allSettled() and so swallows its errors: check the
  // result ourselves, from an empty directory and an empty environment.
  const fail = (why) => {
    fs.rmSync(tmpOut, { force: true });
    throw new BuildError(`pkg did not produce a working executable: ${why}\n${captured.join('\n')}`);
  };
  if (!fs.existsSync(tmpOut)) fail(`${tmpOut} was not created`);
  fs.chmodSync(tmpOut, 0o755);
  const check = spawnSync(tmpOut, ['version'], { cwd: '/', env: {}, encoding: 'utf8', timeout: 30_000 });
  const expected = `box ${version}\n`;
  if (check.status !== 0 || check.stdout !== expected) {
    fail(
      `\`box version\` exited ${check.status ?? check.signal} with ${JSON.stringify(check.stdout + check.stderr)}, expected ${JSON.stringify(expected)}`,
    );
  }
  fs.renameSync(tmpOut, out);
  stamp(out, key);
  log(`box ${(fs.statSync(out).size / 1048576).toFixed(1)} MiB (${ms(start)})`);
}

async function main() {
  fs.mkdirSync(ASSETS, { recursive: true });
  fs.mkdirSync(STATE, { recursive: true });
  const version = packageVersion();
  buildHelper();
  copyKoffi();
  await bundleTranspiler();
  await buildPolicies();
  await bundleLayerWorker(version);
  const digests = assetDigests();
  for (const name of Object.keys(BUNDLES)) await bundle(version, digests, name);
  await bundleBoot();
  await singleExecutable(version);
  log(`done in ${ms(t0)}`);
}

main().catch((err) => {
  if (err instanceof BuildError) {
    process.stderr.write(`build: error: ${err.message}\n`);
  } else {
    process.stderr.write(`build: ${err?.stack ? err.stack : err}\n`);
  }
  process.exit(1);
});
