// A component file run through jco's glue (any toolchain's component, transpiled once into a cache:
// cache.ts): loading it, instantiating it under the watchdog, saving V8's code cache of the glue.
// Loaded by engine.ts for a file only: a start judged by built-ins alone (their core module is
// called directly) compiles none of this, nor binary.ts, cache.ts or the transpiler (see engine.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { BoxError } from '../errors';
import { mark } from '../util/trace';
import { checkComponentBinary, limitCoreResources, PolicyFormatError } from './binary';
import { sha256Hex } from '../util/sha256';
import { addToEntry, CacheEntry, entryDir, transpiled } from './cache';
import {
  describeSource,
  errMessage,
  Live,
  LoadOptions,
  nowMs,
  Policy,
  PolicyLimits,
  PolicyLoadError,
  PolicySource,
  readSource,
  withTimeLimit,
} from './engine';
import { AdmissionExports, WIT_EXPORT, WIT_INTERFACE, WIT_PACKAGE } from './types';
import { SUPPORTED_WIT_VERSIONS } from './wit-versions';

const EXPORT_RE = new RegExp(
  `^${WIT_PACKAGE.replace(':', '\\:')}/${WIT_INTERFACE}@(\\d+)\\.(\\d+)\\.(\\d+)(?:[-+].*)?$`,
);

/**
 * Which export of the component is box's interface (of the newest version box supports, when it
 * exports several); throws a PolicyLoadError when none fits.
 */
export function checkWorld(what: string, exports: Array<[string, string]>): string {
  const names = exports.map(([n]) => n);
  const versions: string[] = [];
  for (const supported of SUPPORTED_WIT_VERSIONS) {
    const [major, minor] = supported.split('.').map(Number);
    for (const name of names) {
      const m = EXPORT_RE.exec(name);
      if (!m) continue;
      // WIT semver: 0.x versions are compatible within the same minor, 1.x+ within the same major.
      if (Number(m[1]) === major && (major > 0 || Number(m[2]) === minor)) return name;
      versions.push(`${m[1]}.${m[2]}.${m[3]}`);
    }
  }
  if (versions.length) {
    const known = SUPPORTED_WIT_VERSIONS.map((v) => `${WIT_PACKAGE}@${v}`).join(' and ');
    throw new PolicyLoadError(
      `${what} targets ${WIT_PACKAGE}@${[...new Set(versions)].join(', ')}, which this box does not support: it ` +
        `supports ${known} (rebuild the policy against policies/wit of this box; see policies/wit/README.md)`,
    );
  }
  const shown = names.filter((n) => n.includes(':') || n.includes('/'));
  throw new PolicyLoadError(
    `${what} does not export box's policy world (${WIT_EXPORT}); it exports ${shown.length ? shown.join(', ') : names.length ? names.join(', ') : 'nothing'}`,
  );
}

/** Refuses components with imports: a policy gets no host capability at all. */
export function checkImports(what: string, imports: string[]): void {
  if (imports.length === 0) return;
  throw new PolicyLoadError(
    `${what} imports ${imports.join(', ')}: a policy must import nothing (no files, network, environment, clocks or ` +
      `randomness); build it with every WASI feature disabled (\`box policy build\` does)`,
  );
}

let tuned = false;
/**
 * V8 flags for loading big modules (a componentize-js policy embeds a JavaScript engine): validate and
 * compile functions on first use instead of all up front, and stay on the baseline compiler
 * (Liftoff) instead of spending the second core on optimising code a policy runs once. They only
 * affect WebAssembly, which box uses for nothing else. Set before the first compilation.
 *
 * V8 checks a code cache against a hash of the flags that differ from their defaults: the cache of
 * box's own code that src/boot.ts writes when the process exits, if made with these flags set, was
 * rejected by every later process of that command, which wrote it again: each `box run` with a
 * policy compiled all of box's code (~18 ms of CPU, measured 2026-12-04 on the 2-core dev VM). So
 * the flags go back to Node's defaults on exit, before boot's handler writes the cache.
 */
export function tuneWasm(): void {
  if (tuned) return;
  tuned = true;
  const v8 = require('node:v8') as typeof import('node:v8'); // here: loading it costs ~1.2 ms of CPU
  v8.setFlagsFromString('--wasm-lazy-compilation');
  v8.setFlagsFromString('--wasm-lazy-validation');
  v8.setFlagsFromString('--liftoff-only');
  process.prependListener('exit', untuneWasm);
}

/**
 * Node's defaults of the flags tuneWasm sets and of those --liftoff-only turned off with it (no
 * WebAssembly runs after it). --wasm-lazy-compilation is on by default in Node 20's V8.
 */
function untuneWasm(): void {
  const v8 = require('node:v8') as typeof import('node:v8');
  for (const flag of ['--no-wasm-lazy-validation', '--no-liftoff-only', '--wasm-tier-up', '--wasm-dynamic-tiering'])
    v8.setFlagsFromString(flag);
}

type InstantiateFn = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => unknown;

/**
 * Reads a cache entry's core modules, applies the memory limit (to their memories and tables
 * together) and compiles them. Synchronously: with lazy compilation (tuneWasm) compiling is only
 * decoding, and the asynchronous API's trips through the thread pool and the event loop cost
 * more than that (6-11 ms for a 30 KB module, measured 2026-12-02 on the 2-core dev VM).
 */
function compileModules(entry: CacheEntry, memoryBytes: number, what: string): Map<string, WebAssembly.Module> {
  const names = entry.meta.coreModules;
  const bytes = names.map((name) => fs.readFileSync(path.join(entry.dir, name)));
  const limited = limitCoreResources(bytes, memoryBytes, what);
  return new Map(names.map((name, i) => [name, new WebAssembly.Module(limited[i])] as const));
}

function compileGlue(entry: CacheEntry, name: string): vm.Script {
  const file = path.join(entry.dir, 'glue.js');
  // hashed as the bytes read: hashing the decoded string would encode its 160 KB again (0.36 against
  // 0.08 ms of CPU for a C built-in's glue, measured 2026-12-04 on the 2-core dev VM)
  const bytes = fs.readFileSync(file);
  const code = bytes.toString('utf8');
  if (sha256Hex(bytes) !== entry.meta.glueSha256)
    throw new PolicyLoadError(`the policy cache entry ${entry.dir} is corrupt (glue.js changed); remove it`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(path.join(entry.dir, 'glue.v8cache'));
  } catch {
    cachedData = undefined;
  }
  return new vm.Script(code, { filename: `policy:${name}/glue.js`, cachedData });
}

/**
 * Loads a component file: checks the binary, transpiles it (or takes it from the cache), checks that
 * it exports box's world and imports nothing, and compiles it.
 */
export async function loadGlued(source: PolicySource, opts: LoadOptions, limits: PolicyLimits): Promise<Policy> {
  if (opts.tuneV8 !== false) tuneWasm();
  const { name, what, file } = describeSource(source, opts);
  const t0 = nowMs();
  let bytes: Uint8Array | undefined;
  let digest = opts.knownDigest;
  let entry: CacheEntry | undefined;
  if (digest) {
    // Fast path for digests known in advance: a cache hit needs neither the bytes nor a hash.
    const dir = entryDir(opts.cacheDir, digest);
    if (fs.existsSync(path.join(dir, 'meta.json'))) entry = await transpiled(new Uint8Array(), digest, opts.cacheDir);
  }
  let size = 0;
  if (!entry) {
    bytes = readSource(source);
    size = bytes.length;
    try {
      checkComponentBinary(bytes, what);
    } catch (err) {
      if (err instanceof PolicyFormatError) throw new PolicyLoadError(err.message);
      throw err;
    }
    const actual = sha256Hex(bytes);
    if (digest && digest !== actual) throw new PolicyLoadError(`${what}: its sha256 is ${actual}, expected ${digest}`);
    digest = actual;
  }
  const readMs = nowMs() - t0;
  const t1 = nowMs();
  if (!entry) {
    try {
      entry = await transpiled(bytes as Uint8Array, digest as string, opts.cacheDir);
    } catch (err) {
      if (err instanceof BoxError) throw err;
      throw new PolicyLoadError(`${what} is not a valid component: ${errMessage(err)}`);
    }
  }
  const transpileMs = entry.created ? nowMs() - t1 : 0;
  const exportName = checkWorld(what, entry.meta.exports);
  checkImports(what, entry.meta.imports);
  const t2 = nowMs();
  let modules: Map<string, WebAssembly.Module>;
  try {
    modules = compileModules(entry, limits.memoryBytes, what);
  } catch (err) {
    if (err instanceof PolicyFormatError) throw new PolicyLoadError(err.message);
    throw new PolicyLoadError(`${what}: its code does not compile: ${errMessage(err)}`);
  }
  const glue = compileGlue(entry, name);
  const compileMs = nowMs() - t2;
  mark('policy compiled');
  let cacheWritten = false;
  return new Policy(
    name,
    file,
    digest as string,
    size || (bytes?.length ?? opts.knownSize ?? 0),
    exportName,
    entry.meta.imports,
    entry.meta.exports,
    limits,
    { readMs, transpileMs, compileMs, cacheHit: !entry.created },
    {
      kind: 'glue',
      instantiate: (wallMs, exportName, policyName) => instantiateGlued(glue, modules, wallMs, exportName, policyName),
      // V8's code cache of the glue is saved once it has instantiated and made a call, so that the
      // functions lowering a request and lifting a verdict are in it too (a cache written right after
      // compiling holds only the top level): later processes skip compiling them.
      called: () => {
        if (cacheWritten) return;
        cacheWritten = true;
        const rejected = (glue as vm.Script & { cachedDataRejected?: boolean }).cachedDataRejected;
        if (rejected !== false) addToEntry(entry.dir, 'glue.v8cache', glue.createCachedData());
      },
    },
  );
}

/** Instantiates the glue's core modules under the watchdog; returns the admission export. */
function instantiateGlued(
  glue: vm.Script,
  modules: Map<string, WebAssembly.Module>,
  wallMs: number,
  exportName: string,
  name: string,
): Live {
  const memories: WebAssembly.Memory[] = [];
  const factory = (glue.runInThisContext() as () => InstantiateFn)();
  const result = withTimeLimit(wallMs, () =>
    factory(
      (name) => {
        const m = modules.get(name);
        if (!m) throw new Error(`the glue asked for an unknown core module ${name}`);
        return m;
      },
      {},
      (module, imports) => {
        const instance = new WebAssembly.Instance(module, imports ?? {});
        for (const value of Object.values(instance.exports))
          if (value instanceof WebAssembly.Memory) memories.push(value);
        return instance;
      },
    ),
  );
  if (result instanceof Promise) throw new Error('the glue instantiated asynchronously, which box does not support');
  const exportsObj = result as Record<string, unknown>;
  const admission = (exportsObj[exportName] ?? exportsObj[WIT_INTERFACE]) as AdmissionExports | undefined;
  if (!admission || typeof admission.evaluate !== 'function' || typeof admission.describe !== 'function') {
    throw new PolicyLoadError(`${name}: the component's ${exportName} export lacks evaluate or describe`);
  }
  return { admission, memories };
}
