// The on-disk cache of transpiled policies. jco turns a component into JavaScript glue plus the
// core WebAssembly modules inside it; that takes a second or two for a componentize-js component,
// so it is done once per (component digest, box version) and kept under
//
//   <cache>/<sha256 of the component>-<box version>/
//       meta.json      imports, exports, core module names, glue digest (written last)
//       glue.js        the glue, rewritten from an ES module into a function expression
//       *.core.wasm    the core modules, as jco wrote them
//       glue.v8cache   V8's code cache for glue.js (optional, added by the first user)
//
// The key is the digest of the bytes actually loaded, so a changed file can never be served from
// a stale entry. An entry is built in a temporary directory and renamed into place (rename of a
// directory is atomic), so readers see a complete entry or none. Concurrent users: within one
// process they share one promise; across processes an O_EXCL lock file elects one builder and the
// others wait for the entry to appear (fs.watch, no polling), taking over if the builder died.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors';
import { randomHex } from '../util/random';
import { loadTranspiler } from './transpiler';
import { BOX_VERSION } from '../version';
import { isoTime } from '../util/iso-time';
import { sha256Hex } from '../util/sha256';

/** New files of the cache: created (never through a symlink: O_EXCL) and readable by root only. */
const ROOT_ONLY_NEW = { mode: 0o600, flag: 'wx' } as const;

export interface CacheMeta {
  format: 1;
  digest: string;
  boxVersion: string;
  imports: string[];
  exports: Array<[string, string]>;
  coreModules: string[];
  glueSha256: string;
  transpileMs: number;
  /** the process that transpiled it, and when: how the entry was made (tests check it is made once) */
  builtBy?: { pid: number; time: string };
}

export interface CacheEntry {
  dir: string;
  meta: CacheMeta;
  /** true when this call transpiled the component (a cache miss), even if another process's entry won */
  created: boolean;
}

/** Counters for tests and measurements. */
export const cacheStats = { transpiles: 0, hits: 0, waits: 0 };

const inFlight = new Map<string, Promise<CacheEntry>>();

export function entryDir(cacheDir: string, digest: string, boxVersion = BOX_VERSION): string {
  return path.join(cacheDir, `${digest}-${boxVersion.replace(/[^A-Za-z0-9._-]/g, '_')}`);
}

function readMeta(dir: string): CacheMeta | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'meta.json'), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  return JSON.parse(text) as CacheMeta;
}

/**
 * Rewrites jco's ES-module glue (`export function instantiate(getCoreModule, imports,
 * instantiateCore)`) into a function expression returning `instantiate`, so that it can be
 * compiled with vm.Script (and a V8 code cache) from CommonJS and from the single executable,
 * where import() of a file is not available. box always passes getCoreModule, so the default
 * that uses import.meta.url is dead code; it is replaced to make the text a valid script.
 */
export function glueToScript(esm: string): string {
  let text = esm
    .replace(/^export function instantiate\(/m, 'function instantiate(')
    .replace(/^export const _util\b/m, 'const _util')
    .replace(/import\.meta\.url/g, '"file:///policy/"');
  const leftover = /^\s*(import|export)\b.*$/m.exec(text);
  if (leftover || !/^function instantiate\(/m.test(text)) {
    throw new Error(
      `jco produced glue box does not understand (${leftover ? leftover[0].slice(0, 80) : 'no instantiate function'})`,
    );
  }
  text = text.replace(/^"use components";\s*/, '');
  // The glue tries WebAssembly.promising (JSPI) for each export and falls back when it throws; on
  // a Node without JSPI every try builds a TypeError with a stack (~0.6 ms each, measured 2026-11-23
  // on the 2-core dev VM). Throwing a plain value takes the same fallback for nothing.
  text = text.replace(/\bWebAssembly\.promising\(/g, '(WebAssembly.promising ?? __boxNoPromising)(');
  return `(function () {\nconst __boxNoPromising = () => { throw 0; };\n${text}\nreturn instantiate;\n})`;
}

type Transpiler = (
  bytes: Uint8Array,
) => Promise<{ files: Record<string, Uint8Array>; imports: string[]; exports: Array<[string, string]> }>;

let transpilerOverride: Transpiler | undefined;

/** For tests: replace jco (e.g. to count calls or make it fail). */
export function setTranspilerForTests(t: Transpiler | undefined): void {
  transpilerOverride = t;
}

async function jcoTranspile(bytes: Uint8Array, cacheDir: string): ReturnType<Transpiler> {
  if (transpilerOverride) return transpilerOverride(bytes);
  const jco = await loadTranspiler(path.join(cacheDir, 'tools'));
  const r = await jco.transpileBytes(bytes, {
    name: 'policy',
    instantiation: 'async',
    emitTypescriptDeclarations: false,
    minify: false,
    optimize: false,
  });
  return { files: r.files, imports: r.imports, exports: r.exports };
}

async function build(bytes: Uint8Array, digest: string, cacheDir: string, dir: string): Promise<CacheEntry> {
  const start = performance.now();
  cacheStats.transpiles++;
  const result = await jcoTranspile(bytes, cacheDir);
  const transpileMs = performance.now() - start;
  const glueName = Object.keys(result.files).find((f) => f.endsWith('.js') && !f.includes('/'));
  if (!glueName) throw new Error('jco produced no JavaScript glue');
  const glue = glueToScript(Buffer.from(result.files[glueName]).toString('utf8'));
  const coreModules = Object.keys(result.files).filter((f) => f.endsWith('.wasm'));
  for (const name of coreModules) {
    if (name.includes('/') || name.startsWith('.'))
      throw new Error(`jco produced an unexpected file name ${JSON.stringify(name)}`);
  }
  const meta: CacheMeta = {
    format: 1,
    digest,
    boxVersion: BOX_VERSION,
    imports: result.imports,
    exports: result.exports,
    coreModules,
    glueSha256: sha256Hex(glue),
    transpileMs: Math.round(transpileMs),
    builtBy: { pid: process.pid, time: isoTime() },
  };
  const tmp = path.join(cacheDir, `.tmp-${path.basename(dir)}-${process.pid}-${randomHex(4)}`);
  fs.mkdirSync(tmp, { mode: 0o700 }); // root-only, as everything in the store
  try {
    fs.writeFileSync(path.join(tmp, 'glue.js'), glue, ROOT_ONLY_NEW);
    for (const name of coreModules) fs.writeFileSync(path.join(tmp, name), result.files[name], ROOT_ONLY_NEW);
    fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n', ROOT_ONLY_NEW);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Someone else completed the same entry first (possible only if their lock was judged stale).
      if (errnoCode(err) !== 'ENOTEMPTY' && errnoCode(err) !== 'EEXIST') throw err;
      fs.rmSync(tmp, { recursive: true, force: true });
      const theirs = readMeta(dir);
      if (theirs) return { dir, meta: theirs, created: true }; // transpiled here all the same
      throw err;
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return { dir, meta, created: true };
}

function lockOwnerAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(lock, 'utf8'), 10);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  // An empty or unreadable lock is being written right now: treat its owner as alive.
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Waits until `dir`'s meta.json exists or the lock disappears (builder finished or failed). */
function waitForEntryOrUnlock(cacheDir: string, dir: string, lock: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      watcher.close();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      try {
        if (fs.existsSync(path.join(dir, 'meta.json')) || !fs.existsSync(lock) || !lockOwnerAlive(lock)) finish();
      } catch (err) {
        finish(err as Error);
      }
    };
    const watcher = fs.watch(cacheDir, { persistent: true }, check);
    watcher.on('error', (err) => finish(err));
    // A time bound for a builder that is alive but stuck; not used as synchronisation.
    const timer = setTimeout(
      () =>
        finish(
          new Error(`timed out waiting for another box process to transpile ${path.basename(dir)} (lock ${lock})`),
        ),
      timeoutMs,
    );
    timer.unref();
    check(); // the entry may have appeared between the caller's check and the watch
  });
}

async function obtain(bytes: Uint8Array, digest: string, cacheDir: string, dir: string): Promise<CacheEntry> {
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const lock = `${dir}.lock`;
  for (let attempt = 0; attempt < 50; attempt++) {
    const meta = readMeta(dir);
    if (meta) {
      cacheStats.hits++;
      return { dir, meta, created: false };
    }
    let fd: number | undefined;
    try {
      fd = fs.openSync(lock, 'wx', 0o600);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        fs.writeSync(fd, String(process.pid));
        fs.closeSync(fd);
        fd = undefined;
        const again = readMeta(dir); // completed between our check and our lock
        if (again) return { dir, meta: again, created: false };
        return await build(bytes, digest, cacheDir, dir);
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
        fs.rmSync(lock, { force: true });
      }
    }
    if (!lockOwnerAlive(lock)) {
      // The builder died: remove its lock (if it is still the same file) and compete again.
      fs.rmSync(lock, { force: true });
      continue;
    }
    cacheStats.waits++;
    await waitForEntryOrUnlock(cacheDir, dir, lock, 120_000);
  }
  throw new Error(`could not obtain the policy cache entry ${dir}`);
}

/**
 * The transpiled form of a component, from the cache or made now. `digest` must be the sha256
 * of `bytes` (the caller has it already).
 */
export function transpiled(bytes: Uint8Array, digest: string, cacheDir: string): Promise<CacheEntry> {
  const dir = entryDir(cacheDir, digest);
  let p = inFlight.get(dir);
  if (!p) {
    p = obtain(bytes, digest, cacheDir, dir).finally(() => inFlight.delete(dir));
    inFlight.set(dir, p);
  }
  return p;
}

/** Writes a file of an existing entry atomically (used for the V8 code cache). */
export function addToEntry(dir: string, name: string, data: Uint8Array): void {
  const tmp = path.join(dir, `.tmp-${name}-${process.pid}-${randomHex(4)}`);
  try {
    fs.writeFileSync(tmp, data, ROOT_ONLY_NEW);
    fs.renameSync(tmp, path.join(dir, name));
  } catch {
    fs.rmSync(tmp, { force: true }); // a read-only cache is fine: the code cache is an optimisation
  }
}
