// Access to the files embedded in the box executable (the static C helper, koffi's native module).
//
// In the single executable (Node SEA) the assets are read with node:sea's getAsset(). In dev mode
// (`node dist/box.js`, or the TypeScript sources under vitest) they are read from a directory:
// $BOX_ASSET_DIR if set, else `dist/assets` next to the bundle (or ../dist/assets from src/).
//
// assetPath() materialises an asset as a file in a cache directory, named after its content
// (`<name>-<first 16 hex of sha256>`), written once atomically (O_EXCL temp file, fsync, rename)
// so that any number of concurrent box processes can race on it safely. The digests of the
// embedded assets are computed at build time and injected by esbuild (`__BOX_ASSET_DIGESTS__`), so
// the fast path of assetPath() in the binary costs one lstat and never reads or hashes the asset.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ownedName } from './util/owner';
import { randomHex } from './util/random';
import { trustCacheDir } from './util/trusted-path';

export const ASSET_NAMES = [
  'box-helper',
  'koffi.node',
  // jco-transpile bundled alone and its core modules (build/esbuild-plugins.mjs), for policies
  'jco-transpile.js',
  'jco-worker-thread.mjs',
  'jco-js-component-bindgen-component.core.wasm',
  'jco-js-component-bindgen-component.core2.wasm',
  'jco-wasm-tools.core.wasm',
  'jco-wasm-tools.core2.wasm',
  // the layer worker thread's bundle (src/image/layer-worker.ts)
  'layer-worker.js',
  // the built-in policies (policies/builtin), and the core module box runs of each (engine.ts directCore)
  'policy-baseline.wasm',
  'policy-strict.wasm',
  'policy-capacity.wasm',
  'policy-baseline.core.wasm',
  'policy-strict.core.wasm',
  'policy-capacity.core.wasm',
] as const;

export type AssetName = (typeof ASSET_NAMES)[number];

interface AssetDigest {
  sha256: string;
  size: number;
}

// Replaced at bundle time by build/build.mjs with { [name]: { sha256, size } }.
declare const __BOX_ASSET_DIGESTS__: Record<AssetName, AssetDigest> | undefined;

const BUILD_DIGESTS: Record<AssetName, AssetDigest> | undefined =
  typeof __BOX_ASSET_DIGESTS__ === 'object' ? __BOX_ASSET_DIGESTS__ : undefined;

const modeOf = (name: AssetName): number => (name === 'box-helper' ? 0o700 : 0o600);

let seaMode: boolean | undefined;

/** True when running from the bundle (dist/box.js or the executable), not from the sources. */
export function isBundled(): boolean {
  return BUILD_DIGESTS !== undefined;
}

/** The build-time digest of an embedded asset (bundled only). */
export function builtDigest(name: AssetName): AssetDigest | undefined {
  return BUILD_DIGESTS?.[name];
}

/** True when running inside the single executable. */
export function isSea(): boolean {
  if (seaMode === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      seaMode = (require('node:sea') as { isSea(): boolean }).isSea();
    } catch {
      seaMode = false; // node:sea does not exist before Node 20.12
    }
  }
  return seaMode;
}

/** Directory the assets are read from in dev mode. */
export function assetDir(): string {
  const fromEnv = process.env.BOX_ASSET_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  // Bundled: __dirname is dist/ (the bundle's directory). Sources: __dirname is src/.
  return BUILD_DIGESTS ? path.join(__dirname, 'assets') : path.resolve(__dirname, '..', 'dist', 'assets');
}

function checkName(name: string): asserts name is AssetName {
  if (!(ASSET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown asset ${JSON.stringify(name)}`);
}

/** The bytes of an asset. */
export function readAsset(name: AssetName): Buffer {
  checkName(name);
  if (isSea()) {
    const sea = require('node:sea') as { getAsset(key: string): ArrayBuffer };
    return Buffer.from(sea.getAsset(name));
  }
  const file = path.join(assetDir(), name);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot read asset ${name} from ${file} (${code ?? String(err)}); run \`npm run build\` or set BOX_ASSET_DIR`,
    );
  }
}

/**
 * An asset's bytes to read only: in the executable, where they lie in it (getRawAsset: no copy,
 * and writing them would fault); elsewhere as readAsset reads them. For a built-in policy's core
 * module, which a start compiles (and V8 copies) as it is.
 */
export function readAssetInPlace(name: AssetName): Uint8Array {
  checkName(name);
  if (!isSea()) return readAsset(name);
  const sea = require('node:sea') as { getRawAsset(key: string): ArrayBuffer };
  return new Uint8Array(sea.getRawAsset(name));
}

function sha256(data: Buffer): string {
  // Loaded here only: node:crypto costs start-up time, and the fast path never hashes.
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}

// Dev-mode digests are computed from the files themselves (they may be rebuilt under a running
// bundle), once per process and file version.
const devDigests = new Map<string, { version: string; digest: AssetDigest }>();

function expectedDigest(name: AssetName): { digest: AssetDigest; data?: Buffer } {
  if (isSea()) {
    if (!BUILD_DIGESTS) throw new Error('box was built without asset digests');
    return { digest: BUILD_DIGESTS[name] };
  }
  const file = path.join(assetDir(), name);
  let version = '';
  try {
    const st = fs.statSync(file);
    version = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    /* readAsset() below reports the error */
  }
  const entry = devDigests.get(file);
  if (entry && entry.version === version) return entry;
  const data = readAsset(name);
  const digest = { sha256: sha256(data), size: data.length };
  devDigests.set(file, { version, digest });
  return { digest, data };
}

/** True if `file` is a usable cached copy: a regular file of the right size, ours, not writable by others. */
function usable(file: string, size: number): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return false;
  }
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
  return st.isFile() && st.size === size && st.uid === uid && (st.mode & 0o022) === 0;
}

/**
 * Path of a file holding the asset, inside cacheDir (created if needed, mode 0700). The file is
 * written once and then reused by every later call, from this or any other process.
 */
export function assetPath(name: AssetName, cacheDir: string): string {
  checkName(name);
  const { digest, data: known } = expectedDigest(name);
  // An ES module keeps its extension last: Node decides how to load a file by it.
  const ext = name.endsWith('.mjs') ? '.mjs' : '';
  const file = path.join(cacheDir, `${name.slice(0, name.length - ext.length)}-${digest.sha256.slice(0, 16)}${ext}`);
  trustCacheDir(cacheDir);
  if (usable(file, digest.size)) return file;

  const data = known ?? readAsset(name);
  if (data.length !== digest.size || sha256(data) !== digest.sha256) {
    throw new Error(`asset ${name} is corrupt: its digest does not match the one recorded at build time`);
  }
  const mode = modeOf(name);
  // The writer's token in the name: a write killed half-way is removed by the store's sweeper.
  const tmp = ownedName(`${file}.tmp`, randomHex(6));
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode); // libuv adds O_CLOEXEC
  try {
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      fs.fchmodSync(fd, mode); // the umask may have removed bits we need (0700 for the helper)
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // rename() is atomic: concurrent writers each install an identical complete file, readers
    // never see a partial one, and a process still using an older inode keeps it.
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already renamed or gone */
    }
    throw err;
  }
  try {
    const dfd = fs.openSync(cacheDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* best effort: the directory entry is durable once the directory is synced */
  }
  return file;
}
