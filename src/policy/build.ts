// `box policy build SRC.ts|SRC.js -o OUT.wasm`: bundles a policy's source with esbuild into one
// ES module and makes a component of it with componentize-js, against box's WIT world, with
// every WASI feature disabled (so the component imports nothing). Needs esbuild and
// componentize-js from node_modules: an authoring tool, not part of the single executable's
// start path.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BoxError } from '../errors';
import { randomHex } from '../util/random';
import { WIT_WORLD } from './types';

export type WasiFeature = 'stdio' | 'random' | 'clocks' | 'http' | 'fetch-event';
export const ALL_WASI_FEATURES: readonly WasiFeature[] = ['stdio', 'random', 'clocks', 'http', 'fetch-event'];

export interface BuildOptions {
  /** the WIT text (default: policies/wit/policy.wit of this box) */
  witText?: string;
  /** world name in the WIT (default "policy") */
  worldName?: string;
  /**
   * WASI features to leave enabled. Default none: box refuses components with imports, so this
   * exists only to make such components on purpose (tests of that refusal).
   */
  enableFeatures?: WasiFeature[];
}

export interface BuildResult {
  out: string;
  size: number;
  bundleBytes: number;
  bundleMs: number;
  componentizeMs: number;
}

/** policies/wit/policy.wit, from the sources (src/policy) or the bundle (dist/). */
export function policyWitPath(): string {
  const candidates = [
    path.resolve(__dirname, '..', '..', 'policies', 'wit', 'policy.wit'),
    path.resolve(__dirname, '..', 'policies', 'wit', 'policy.wit'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found)
    throw new BoxError(
      `box's WIT (policies/wit/policy.wit) is not available here (looked in ${candidates.join(', ')})`,
    );
  return found;
}

// Set by build/build.mjs in the bundle: the WIT and the generated types (relative path → text).
declare const __BOX_POLICY_WIT__: string | undefined;
declare const __BOX_POLICY_TYPES__: Record<string, string> | undefined;

export function policyWitText(): string {
  if (typeof __BOX_POLICY_WIT__ === 'string') return __BOX_POLICY_WIT__;
  return fs.readFileSync(policyWitPath(), 'utf8');
}

/** The TypeScript types for policy authors (policies/types), as relative path → text. */
export function policyTypes(): Record<string, string> {
  if (typeof __BOX_POLICY_TYPES__ === 'object') return __BOX_POLICY_TYPES__;
  const dir = path.join(path.dirname(policyWitPath()), '..', 'types');
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/**
 * Where authoring tools are looked up: the policy's own project (its directory upwards), the
 * current directory, then box's source tree. They are not part of the single executable.
 */
function toolBases(src: string): string[] {
  return [path.resolve(path.dirname(src)) + '/', process.cwd() + '/', path.resolve(__dirname, '..', '..') + '/'];
}

/** The ES module entry of an installed package (its exports' import/default, else main). */
function packageEntry(dir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    exports?: unknown;
    module?: string;
    main?: string;
  };
  const pick = (e: unknown): string | undefined => {
    if (typeof e === 'string') return e;
    if (typeof e !== 'object' || e === null) return undefined;
    const o = e as Record<string, unknown>;
    if ('.' in o) return pick(o['.']);
    for (const cond of ['import', 'node', 'default', 'require']) if (cond in o) return pick(o[cond]);
    return undefined;
  };
  return path.join(dir, pick(pkg.exports) ?? pkg.module ?? pkg.main ?? 'index.js');
}

function resolveTool(pkg: string, src: string): string {
  for (const base of toolBases(src)) {
    for (let dir = base; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', pkg);
      if (fs.existsSync(path.join(candidate, 'package.json'))) return packageEntry(candidate);
      if (dir === path.dirname(dir)) break;
    }
  }
  throw new BoxError(
    `box policy build needs ${pkg}: install it in your policy's project (npm install --save-dev esbuild @bytecodealliance/componentize-js)`,
  );
}

function authoringTool<T>(pkg: string, src: string): T {
  const file = resolveTool(pkg, src);
  return createRequire(file)(file) as T;
}

// componentize-js is an ES module with top-level await: it can only be import()ed, which the
// single executable's main script cannot do. A worker thread can: it runs this module, written
// into the build's temporary directory.
// In a worker, process.stdout is not a file descriptor, and componentize-js hands it to
// spawnSync as wizer's stdout: the worker gives wizer the process's own stdout instead.
const COMPONENTIZE_WORKER = `
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
const spawnSync = childProcess.spawnSync;
childProcess.spawnSync = (cmd, args, opts) => {
  const stdio = Array.isArray(opts?.stdio) ? opts.stdio.map((s) => (s === process.stdout ? 'inherit' : s)) : opts?.stdio;
  return spawnSync(cmd, args, { ...opts, stdio });
};
syncBuiltinESMExports();
const { componentize } = await import(workerData.url);
const { component } = await componentize(workerData.options);
parentPort.postMessage(component);
`;

function componentizeInWorker(work: string, url: string, options: Record<string, unknown>): Promise<Uint8Array> {
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const script = path.join(work, 'componentize.mjs');
  fs.writeFileSync(script, COMPONENTIZE_WORKER);
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: { url, options } });
    let result: Uint8Array | undefined;
    worker.on('message', (m: Uint8Array) => (result = m));
    worker.on('error', reject);
    worker.on('exit', (code) =>
      result ? resolve(result) : reject(new Error(`the componentize worker exited with code ${code}`)),
    );
  });
}

/** Bundles a policy source (TypeScript or JavaScript) into one ES module. */
export async function bundlePolicySource(src: string): Promise<string> {
  if (!fs.existsSync(src)) throw new BoxError(`policy source ${src}: no such file`);
  const esbuild = authoringTool<typeof import('esbuild')>('esbuild', src);
  let result: import('esbuild').BuildResult<{ write: false }>;
  try {
    result = await esbuild.build({
      entryPoints: [src],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      logLevel: 'silent',
      // A policy runs with no host: nothing may be left to import at run time.
      external: [],
    });
  } catch (err) {
    const errors =
      (err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors ?? [];
    const shown = errors
      .map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text))
      .join('\n  ');
    throw new BoxError(`policy source ${src} does not bundle:\n  ${shown || (err as Error).message}`);
  }
  return result.outputFiles[0].text;
}

/** Builds a policy component from a source file; writes `out` atomically. */
export async function buildPolicy(src: string, out: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const code = await bundlePolicySource(src);
  const bundleMs = performance.now() - t0;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-build-'));
  try {
    const entry = path.join(work, 'policy.js');
    fs.writeFileSync(entry, code);
    const enabled = new Set(opts.enableFeatures ?? []);
    const url = pathToFileURL(resolveTool('@bytecodealliance/componentize-js', src)).href;
    const t1 = performance.now();
    let component: Uint8Array;
    try {
      component = await componentizeInWorker(work, url, {
        sourcePath: entry,
        witWorld: opts.witText ?? policyWitText(),
        worldName: opts.worldName ?? WIT_WORLD,
        disableFeatures: ALL_WASI_FEATURES.filter((f) => !enabled.has(f)),
      });
    } catch (err) {
      throw new BoxError(`componentize-js could not build ${src}: ${(err as Error).message}`);
    }
    const componentizeMs = performance.now() - t1;
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const tmp = path.join(path.dirname(path.resolve(out)), `.tmp-${path.basename(out)}-${randomHex(4)}`);
    fs.writeFileSync(tmp, component);
    fs.renameSync(tmp, out);
    return { out, size: component.length, bundleBytes: code.length, bundleMs, componentizeMs };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
