// jco-transpile, loaded only when a policy must be transpiled (a cache miss).
//
// From the sources (tests, dev) it is imported from node_modules. In the bundle it is not part of
// the CLI's code: build/build.mjs bundles it alone into the asset `jco-transpile.js`, with its
// core modules as assets too, so every other box command parses none of it.
import * as vm from 'node:vm';
import { assetPath, isBundled, readAsset, AssetName, ASSET_NAMES } from '../assets';

export interface JcoTranspile {
  transpileBytes(
    bytes: Uint8Array,
    opts: Record<string, unknown>,
  ): Promise<{ files: Record<string, Uint8Array>; imports: string[]; exports: Array<[string, string]> }>;
}

let loaded: Promise<JcoTranspile> | undefined;

function checked(name: string): AssetName {
  if (!(ASSET_NAMES as readonly string[]).includes(name))
    throw new Error(`jco-transpile asked for an unknown asset ${name}`);
  return name as AssetName;
}

function fromAssets(fileDir: string): JcoTranspile {
  const code = readAsset('jco-transpile.js').toString('utf8');
  const fn = vm.compileFunction(code, ['exports', 'require', 'module', '__boxReadAsset', '__boxAssetFile'], {
    filename: 'box:jco-transpile.js',
  });
  const mod = { exports: {} as JcoTranspile };
  // Only Node's built-in modules are left to require(): the build refuses anything else.
  fn(
    mod.exports,
    require,
    mod,
    (name: string) => readAsset(checked(name)),
    (name: string) => assetPath(checked(name), fileDir),
  );
  return mod.exports;
}

/** jco-transpile; `fileDir` is where assets it needs as files (a worker script) are written. */
export function loadTranspiler(fileDir: string): Promise<JcoTranspile> {
  if (!loaded) {
    // A variable specifier: esbuild must not pull the package into the CLI bundle.
    const pkg = '@bytecodealliance/jco-transpile';
    loaded = isBundled() ? Promise.resolve().then(() => fromAssets(fileDir)) : (import(pkg) as Promise<JcoTranspile>);
  }
  return loaded;
}
