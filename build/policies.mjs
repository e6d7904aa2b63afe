#!/usr/bin/env node
// Builds box's built-in policies, written in C (policies/builtin/, see its README.md), into
// components:
//
//   policies/builtin/{lib.c,jsnum.c,...,NAME.c} --clang, wasm32, freestanding; wasm-ld--> core
//     module --componentEmbed (the WIT world `policy`)--> --componentNew--> dist/policies/NAME.wasm
//
// A component is small and imports nothing. A policy is rebuilt only when the digest of its
// inputs (its C sources and policy.h, the WIT, the compiler and linker flags, jco-transpile's
// version) differs from dist/.build/policy-NAME.stamp; BOX_BUILD_FORCE=1 rebuilds anyway. The
// toolchain's own version is not part of the digest, so that an up-to-date tree builds without
// it. Also writes dist/policies/manifest.json: { name: { sha256, size } } for embedding (the
// engine's knownDigest fast path).
//
// Needs clang (with the wasm32 target) and wasm-ld (LLVM's lld) only when something is rebuilt.
// Missing, and running as root on Debian/Ubuntu, they are installed with apt-get; otherwise the
// build stops saying how to install them.
//
//   node build/policies.mjs [NAME...]
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './esbuild-plugins.mjs';

const SRC = path.join(ROOT, 'policies', 'builtin');
const WIT = path.join(ROOT, 'policies', 'wit', 'policy.wit');

/** Each built-in policy and the C files it is made of (all include policy.h). */
export const BUILTIN_SOURCES = {
  baseline: ['lib.c', 'jsnum.c', 'isolation.c', 'netrules.c', 'baseline.c'],
  strict: ['lib.c', 'jsnum.c', 'isolation.c', 'netrules.c', 'strict.c'],
  capacity: ['lib.c', 'jsnum.c', 'capacity.c'],
};
export const BUILTIN_POLICIES = Object.keys(BUILTIN_SOURCES);

// Freestanding: no libc (lib.c has the few functions the compiler calls), so nothing to import.
// -Oz: V8 compiles each function on its first call, so the code a start runs costs its size once
// more; baseline's first evaluation took 0.48 ms of CPU against 0.68 with -O2, the later ones the
// same (-O2 with -flto or wasm-opt -Oz: more, see policies/builtin/README.md; 2026-12-05, 2-core VM).
// -flto with -Oz: wasm-ld sees the whole policy, so lib.c's small helpers (str_c, str_eq,
// box_alloc...) and the functions called once are inlined where that makes the code smaller; an
// allowed strict start then compiles 20 functions, 4.0 KB, instead of 28, 4.9 KB, and the module
// holds 66 functions, 20.2 KB, instead of 85, 22.9 KB (with box's deadline checks; 2026-12-05).
// A one-file build (the sources
// #included into one) does not: their functions stay external, so clang keeps them whole.
const CFLAGS = [
  '--target=wasm32',
  '-Oz',
  '-flto',
  '-std=c11',
  '-ffreestanding',
  '-nostdlib',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-fno-ident',
];
// The exports are marked export_name in lib.c; no start function; names and producers stripped.
const LDFLAGS = ['--no-entry', '--strip-all', '--stack-first', '-z', 'stack-size=65536'];

function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

function onPath(names) {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    for (const name of names) {
      const file = path.join(dir || '.', name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

// Debian installs versioned names (clang-14, wasm-ld-14) and, with the `clang`/`lld` packages,
// the plain ones.
const VERSIONS = Array.from({ length: 12 }, (_, i) => 25 - i);
function findToolchain() {
  const clang = onPath(['clang', ...VERSIONS.map((v) => `clang-${v}`)]);
  return { clang, wasmLd: besideClang(clang) ?? onPath(['wasm-ld', ...VERSIONS.map((v) => `wasm-ld-${v}`)]) };
}

// -flto hands wasm-ld clang's bitcode, which a wasm-ld of an older LLVM cannot read: the one
// installed beside clang's own binary (/usr/lib/llvm-N/bin on Debian) comes first.
function besideClang(clang) {
  if (!clang) return undefined;
  const file = path.join(path.dirname(fs.realpathSync(clang)), 'wasm-ld');
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return file;
  } catch {
    return undefined;
  }
}

const INSTALL_HINT =
  'install them (Debian/Ubuntu: `apt-get install clang lld`; Fedora: `dnf install clang lld`; Alpine: `apk add clang lld`)';

function installWithApt(log) {
  if (process.getuid?.() !== 0 || !fs.existsSync('/etc/debian_version') || !onPath(['apt-get'])) return false;
  log('build: installing clang and lld with apt-get (they compile the built-in policies)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'clang', 'lld'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
  let r = install();
  if (r.status !== 0) {
    // a fresh machine may have no package lists yet
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    r = install();
  }
  if (r.status !== 0)
    throw new Error(`apt-get install clang lld failed: ${(r.stderr || '').trim().split('\n').pop()}; ${INSTALL_HINT}`);
  return true;
}

let toolchain;
function needToolchain(log) {
  if (toolchain) return toolchain;
  let t = findToolchain();
  if ((!t.clang || !t.wasmLd) && installWithApt(log)) t = findToolchain();
  const missing = [!t.clang && 'clang', !t.wasmLd && 'wasm-ld (LLVM lld)'].filter(Boolean);
  if (missing.length)
    throw new Error(
      `${missing.join(' and ')} not found: the built-in policies are C compiled to WebAssembly; ${INSTALL_HINT}`,
    );
  toolchain = t;
  return t;
}

function run(file, args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const out = `${stdout ?? ''}${stderr ?? ''}`.trim();
      reject(new Error(`${path.basename(file)} failed${out ? `:\n${out}` : ` (${err.message})`}`));
    });
  });
}

/** Runs the jobs, at most `limit` at a time; rejects with the first failure. */
async function inParallel(jobs, limit) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

/** clang: each C file (absolute paths) once, in parallel; policy.h's directory is on the include path. */
async function compileObjects(files, tools, workDir) {
  const unique = [...new Set(files)];
  const objects = Object.fromEntries(
    unique.map((f, i) => [f, path.join(workDir, `${i}-${path.basename(f).replace(/\.c$/, '')}.o`)]),
  );
  const jobs = unique.map((f) => () => run(tools.clang, [...CFLAGS, '-I', SRC, '-c', f, '-o', objects[f]], workDir));
  await inParallel(jobs, os.availableParallelism?.() ?? os.cpus().length);
  return objects;
}

/** wasm-ld, then the WIT world embedded and the component made: the component's bytes. */
async function linkComponent(objects, wit, tools, workDir) {
  const core = path.join(workDir, `${randomUUID()}.core.wasm`);
  await run(tools.wasmLd, [...LDFLAGS, ...objects, '-o', core], workDir);
  const { componentEmbed, componentNew } = await import('@bytecodealliance/jco-transpile/wasm-tools');
  const embedded = await componentEmbed({
    binary: fs.readFileSync(core),
    witSource: wit,
    world: 'policy',
    stringEncoding: 'utf8',
  });
  return componentNew(embedded);
}

function writeAtomically(file, bytes) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

/**
 * Builds a policy component from C files the way the built-ins are built (policy.h on the include
 * path; the sources must include lib.c, and jsnum.c if they use its functions). For tests and
 * for policies written in C outside this directory.
 */
export async function buildComponent({ sources, out, log = () => {} }) {
  const tools = needToolchain(log);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policies-'));
  try {
    const objects = await compileObjects(sources, tools, workDir);
    const component = await linkComponent(
      sources.map((f) => objects[f]),
      fs.readFileSync(WIT, 'utf8'),
      tools,
      workDir,
    );
    writeAtomically(out, component);
    return { out, size: component.length };
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** The digest of everything that goes into a policy's component. */
function inputKey(name, wit, jcoVersion) {
  const files = [...BUILTIN_SOURCES[name], 'policy.h'].map(
    (f) => `${f}\0${fs.readFileSync(path.join(SRC, f), 'utf8')}`,
  );
  return sha256(...files, wit, CFLAGS.join(' '), LDFLAGS.join(' '), jcoVersion);
}

/**
 * Builds the named built-in policies into outDir (NAME.wasm plus manifest.json), keeping stamps
 * in stateDir. Returns the manifest and what was done.
 */
export async function buildPolicies({
  names = BUILTIN_POLICIES,
  outDir = path.join(ROOT, 'dist', 'policies'),
  stateDir = path.join(ROOT, 'dist', '.build'),
  force = process.env.BOX_BUILD_FORCE === '1',
  log = (s) => process.stdout.write(s),
} = {}) {
  for (const name of names)
    if (!BUILTIN_POLICIES.includes(name))
      throw new Error(`unknown built-in policy ${name} (known: ${BUILTIN_POLICIES.join(', ')})`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(stateDir, { recursive: true });
  const wit = fs.readFileSync(WIT, 'utf8');
  const jcoVersion = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'node_modules/@bytecodealliance/jco-transpile/package.json'), 'utf8'),
  ).version;
  const manifestFile = path.join(outDir, 'manifest.json');
  const manifest = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, 'utf8')) : {};
  const keys = Object.fromEntries(names.map((n) => [n, inputKey(n, wit, jcoVersion)]));
  const stampFile = (name) => path.join(stateDir, `policy-${name}.stamp`);
  const upToDate = (name) => {
    const out = path.join(outDir, `${name}.wasm`);
    return (
      !force &&
      fs.existsSync(out) &&
      fs.existsSync(stampFile(name)) &&
      fs.readFileSync(stampFile(name), 'utf8') === keys[name]
    );
  };
  const stale = names.filter((n) => !upToDate(n));
  for (const name of names) if (!stale.includes(name)) log(`build: policy ${name} up to date\n`);
  if (stale.length) {
    const start = performance.now();
    const tools = needToolchain(log);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policies-'));
    try {
      const sourcesOf = (name) => BUILTIN_SOURCES[name].map((f) => path.join(SRC, f));
      const objects = await compileObjects(stale.flatMap(sourcesOf), tools, workDir); // lib.c and jsnum.c once
      for (const name of stale) {
        const component = await linkComponent(
          sourcesOf(name).map((f) => objects[f]),
          wit,
          tools,
          workDir,
        );
        writeAtomically(path.join(outDir, `${name}.wasm`), component);
        fs.writeFileSync(stampFile(name), keys[name]);
        log(`build: policy ${name} ${(component.length / 1024).toFixed(1)} KiB\n`);
      }
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
    log(`build: policies built in ${Math.round(performance.now() - start)} ms\n`);
  }
  for (const name of names) {
    const bytes = fs.readFileSync(path.join(outDir, `${name}.wasm`));
    manifest[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  }
  const tmp = `${manifestFile}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
  fs.renameSync(tmp, manifestFile);
  return { manifest, built: stale };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const names = process.argv.slice(2);
  buildPolicies(names.length ? { names } : {}).catch((err) => {
    process.stderr.write(`build: policies: ${err?.message ? err.message : err}\n`);
    process.exit(1);
  });
}
