// The single executable's entry point (bundled alone by build/build.mjs). It runs box's bundle
// (dist/box.js, embedded as the asset box.js; run as box-runc, the OCI runtime's smaller bundle
// dist/box-runc.js) through vm.Script with a V8 code cache written by the first run of each
// command, so later runs neither parse nor compile the functions it used.
//
// Why: the cache Node's SEA support makes at build time (useCodeCache) holds only what V8 compiles
// eagerly, the bundle's outer functions; every module box requires lazily (esbuild's wrappers, the
// command's whole module graph) was parsed and compiled again by every process. A cache made after
// a run holds those too.
//
// The files live in /run/box/cache (a tmpfs: gone at reboot), named after the bundle's digest and
// the command (`+policy` with --policy: cacheNameOf). V8 runs the bytecode they hold, so they are read only when root owns them and
// their directories and nobody else may write to any of them; V8 itself rejects a cache made for
// other source or flags, and box then writes a new one. BOX_CODE_CACHE=0 turns the cache off.
//
// A cache holds what the run that wrote it compiled: a `box run` without a policy leaves out the
// policy engine, which every later start with one then compiled again (~4 ms of CPU, measured
// 2026-12-05 on the 2-core dev VM). So the code names the optional parts it uses (useFeature,
// src/util/code-cache.ts), the file's first line lists those its cache holds, and a run that used
// one the cache lacks writes it again, with what it read and what it compiled.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** Each bundle's digest, by asset name (box.js, box-runc.js). */
declare const __BOX_BUNDLE_DIGESTS__: Record<string, string>;

/** The first line of a cache file: `box-code-cache features=a,b`, then V8's data. */
const HEADER = 'box-code-cache features=';
/** Where the bundle finds the function it calls to name a feature (src/util/code-cache.ts). */
const USE_FEATURE = Symbol.for('box.codeCache.useFeature');
/** Where BOX_TRACE (src/util/trace.ts) finds this file's steps: label, ms since Node's time origin, CPU ms. */
const BOOT_MARKS = Symbol.for('box.trace.bootMarks');

const bootMarks: [string, number, number][] | undefined = process.env.BOX_TRACE === '1' ? [] : undefined;
(globalThis as { [BOOT_MARKS]?: typeof bootMarks })[BOOT_MARKS] = bootMarks;

function mark(label: string): void {
  if (!bootMarks) return;
  const cpu = process.cpuUsage();
  bootMarks.push([label, performance.now(), (cpu.user + cpu.system) / 1000]);
}

/** The features a cache file holds and V8's data in it (all of it, for a file without the header). */
function parseCache(file: Buffer): { features: Set<string>; data: Buffer } {
  const end = file.indexOf(10);
  if (file.subarray(0, HEADER.length).toString('latin1') !== HEADER || end < 0 || end > 1024)
    return { features: new Set(), data: file };
  const list = file.subarray(HEADER.length, end).toString('latin1');
  return { features: new Set(list ? list.split(',') : []), data: file.subarray(end + 1) };
}

const CACHE_DIR = '/run/box/cache';

/** The command word (after the global options), which names the cache file. */
function commandOf(argv: string[]): string {
  let i = 0;
  while (i < argv.length && /^--(root|runroot)(=|$)/.test(argv[i])) i += argv[i].includes('=') ? 1 : 2;
  const word = argv[i] ?? '';
  return /^[a-z][a-z-]{0,30}$/.test(word) ? word : 'other';
}

/**
 * The cache file's name after the digest: the command word, and `+policy` for a command line that
 * asks for a policy (`--policy`). A start with a policy makes the cache hold the policy engine,
 * which every start without one then deserialised too (`run`'s cache 596 -> 686 KB, ~0.4 ms more
 * of CPU to compile the bundle, 2026-12-05): each kind keeps its own. A policy that comes from
 * elsewhere (a default policy) is a feature the plain file then gets, as before.
 */
function cacheNameOf(argv: string[]): string {
  const policy = argv.some((a) => a === '--policy' || a.startsWith('--policy='));
  const command = commandOf(argv);
  const detached = command === 'run' && argv.some(isDetachFlag);
  return `${command}${detached ? '+detach' : ''}${policy ? '+policy' : ''}`;
}

/**
 * `run -d` and a foreground `run` run different code (the monitor's hand-over against the
 * container's stdio and the wait for its end): one cache for both held only what the first run
 * compiled, and every start of the other kind compiled the rest again. Told apart here, before
 * the command line is parsed: `-d`, `--detach` or a cluster of short flags with a d (`-dit`). A
 * word after the image that looks like one (`box run IMAGE ls -d`) only picks the other cache.
 */
const isDetachFlag = (a: string): boolean => a === '--detach' || a === '--detach=true' || /^-[a-ce-z]*d[a-z]*$/.test(a);

/** Root's, and writable by root alone. */
const trusted = (st: fs.Stats): boolean => st.uid === 0 && (st.mode & 0o022) === 0;

function cacheDirTrusted(): boolean {
  try {
    return [CACHE_DIR, path.dirname(CACHE_DIR)].every((d) => {
      const st = fs.lstatSync(d);
      return st.isDirectory() && trusted(st);
    });
  } catch {
    return false;
  }
}

/** The cache's bytes when they may be used, and the inode they were read from. */
function readTrusted(file: string): { data?: Buffer; ino?: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return {};
  }
  try {
    const st = fs.fstatSync(fd);
    return { data: st.isFile() && trusted(st) ? fs.readFileSync(fd) : undefined, ino: st.ino };
  } finally {
    fs.closeSync(fd);
  }
}

/** False once another box has replaced the file this one read (or found missing) since. */
function stillOurs(file: string, ino: number | undefined): boolean {
  try {
    return fs.lstatSync(file).ino === ino;
  } catch {
    return ino === undefined;
  }
}

function writeAtomic(file: string, data: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true }); // a cache is an optimisation: never a reason to fail
  }
}

/** Removes the caches of other builds of box written over an hour ago (the directory is in memory). */
function pruneOtherBuilds(): void {
  try {
    for (const name of fs.readdirSync(CACHE_DIR)) {
      const ours = Object.values(__BOX_BUNDLE_DIGESTS__).some((d) => name.startsWith(`code-${d}-`));
      if (!name.startsWith('code-') || ours) continue;
      const file = path.join(CACHE_DIR, name);
      if (Date.now() - fs.lstatSync(file).mtimeMs > 3600_000) fs.rmSync(file, { force: true });
    }
  } catch {
    /* another box pruned it first */
  }
}

function boot(): void {
  const { getRawAsset } = require('node:sea') as { getRawAsset(name: string): ArrayBuffer };
  const bundle = path.basename(process.argv0) === 'box-runc' ? 'box-runc.js' : 'box.js';
  // The asset is the bundle already inside CommonJS's function wrapper (build/build.mjs), and pure
  // ASCII: read as latin1 from the executable's memory it is one copy (an external one-byte string),
  // where getAsset(.., 'utf8') decoded it and the wrapping concatenation was copied again by V8.
  mark('boot: started');
  const source = Buffer.from(getRawAsset(bundle)).toString('latin1');
  const useCache = process.env.BOX_CODE_CACHE !== '0' && process.getuid?.() === 0;
  const file = path.join(CACHE_DIR, `code-${__BOX_BUNDLE_DIGESTS__[bundle]}-${cacheNameOf(process.argv.slice(2))}`);
  const read = useCache && cacheDirTrusted() ? readTrusted(file) : {};
  const cached = read.data ? parseCache(read.data) : undefined;
  mark('boot: bundle and code cache read');
  const script = new vm.Script(source, { filename: bundle, cachedData: cached?.data });
  mark(`boot: bundle compiled (code cache ${!cached ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted'})`);
  const accepted = cached && !script.cachedDataRejected ? cached.features : undefined;
  const used = new Set<string>();
  (globalThis as { [USE_FEATURE]?: (name: string) => void })[USE_FEATURE] = (name) => used.add(name);
  if (useCache) {
    // Written at the end, when it holds every function this command compiled; not when another
    // box wrote one meanwhile (200 first `box stop` at once would otherwise all write theirs).
    process.once('exit', () => {
      if (accepted && [...used].every((f) => accepted.has(f))) return;
      if (!cacheDirTrusted() || !stillOurs(file, read.ino)) return;
      const features = [...new Set([...(accepted ?? []), ...used])].sort().join(',');
      writeAtomic(file, Buffer.concat([Buffer.from(`${HEADER}${features}\n`, 'latin1'), script.createCachedData()]));
      pruneOtherBuilds();
    });
  }
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const mod = { exports: {} as { main(): void } };
  run(mod.exports, require, mod, __filename, __dirname);
  mod.exports.main(); // loading the bundle runs nothing (src/main.ts)
}

boot();
