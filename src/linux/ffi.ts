// The one place koffi is loaded. Everything is lazy: importing this module costs nothing; the
// first call to koffi() loads the native module (~1-2 ms, measured 2026-11-23 on the 2-core dev VM),
// so commands that never make a syscall through koffi (version, help, ps from state files...) do
// not pay for it.
//
// In the bundle, build/esbuild-plugins.mjs replaces koffi's entry point with a factory
// `(native) => koffi` (its file-system search for a prebuilt .node is removed), and koffi() hands
// it the native module loaded with process.dlopen() from the asset copied into the cache
// directory: nothing is read from node_modules at run time. When the TypeScript sources run
// unbundled (vitest), `require('koffi')` is the real package, which loads its own prebuilt binary.
import * as path from 'node:path';
import type * as KoffiModule from 'koffi';
import { assetPath } from '../assets';
import { mark } from '../util/trace';

export type Koffi = typeof KoffiModule;
export type KoffiLib = KoffiModule.IKoffiLib;

/** What the bundled 'koffi' module exports (see build/esbuild-plugins.mjs). */
interface BundledKoffiFactory {
  (native: unknown): Koffi;
  readonly boxKoffiFactory: true;
}

export const DEFAULT_FFI_CACHE_DIR = '/run/box/cache';

let cacheDir = DEFAULT_FFI_CACHE_DIR;
let loaded: Koffi | undefined;
let libcHandle: KoffiLib | undefined;

/** Directory koffi's native module is extracted to (the runtime root's cache). Call before koffi(). */
export function setFfiCacheDir(dir: string): void {
  cacheDir = path.resolve(dir);
}

export function ffiCacheDir(): string {
  return cacheDir;
}

function loadNativeAddon(file: string): unknown {
  const mod = { exports: {} as unknown };
  try {
    process.dlopen(mod, file);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // dlopen() cannot map a library from a file system mounted noexec (often /run on Debian and
    // Ubuntu, whose initramfs mounts it nodev,noexec,nosuid).
    const hint = /failed to map segment|operation not permitted/i.test(msg)
      ? `; is ${path.dirname(file)} on a file system mounted noexec? Use a cache directory on an exec-capable one`
      : '';
    throw new Error(`cannot load koffi's native module from ${file}: ${msg}${hint}`);
  }
  return mod.exports;
}

/** The koffi module, loaded on first use. */
export function koffi(): Koffi {
  if (loaded) return loaded;
  // A plain require() inside the function: esbuild keeps it lazy (the module body runs on the
  // first call only).
  const mod = require('koffi') as Koffi | BundledKoffiFactory;
  if (typeof mod === 'function' && (mod as BundledKoffiFactory).boxKoffiFactory === true) {
    loaded = (mod as BundledKoffiFactory)(loadNativeAddon(assetPath('koffi.node', cacheDir)));
  } else {
    loaded = mod as Koffi;
  }
  mark('koffi loaded');
  return loaded;
}

/** True once koffi has been loaded by this process (for tests and start-up diagnostics). */
export function koffiLoaded(): boolean {
  return loaded !== undefined;
}

/** A koffi handle to the C library, loaded on first use. */
export function libc(): KoffiLib {
  if (!libcHandle) libcHandle = koffi().load('libc.so.6');
  return libcHandle;
}

let getpidFn: (() => number) | undefined;

/** getpid(2) through koffi: the smallest proof that the FFI works (in the binary too). */
export function getpid(): number {
  if (!getpidFn) getpidFn = libc().func('int getpid(void)') as () => number;
  return getpidFn();
}

/**
 * Ends the process at once (_exit(2)), skipping what Node does after its 'exit' listeners: joining
 * V8's threads, OpenSSL's clean-up, restoring the stdio's flags, koffi's fsync of fds 1 and 2.
 */
export function exitNow(code: number): never {
  (libc().func('void _exit(int status)') as (status: number) => void)(code);
  throw new Error('_exit returned'); // never reached
}
