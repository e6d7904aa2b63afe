// Opening a policy by reference: a built-in embedded in box, or a component file. A built-in's
// core module is called directly (admission-abi.ts), without jco or the transpile cache; a file
// goes through jco's glue, whatever toolchain made it.
import { AssetName, builtDigest, readAsset, readAssetInPlace } from '../assets';
import { featurePaths, Roots } from '../paths';
import { LoadOptions, Policy } from './engine';
import { loadPolicy } from './load';
import { BuiltinPolicy, isBuiltin } from './sources';

export function policyCacheDir(roots: Roots): string {
  return featurePaths.policyCache(roots);
}

/** Loads a built-in or a file. */
export function openPolicy(ref: string, roots: Roots, opts: Omit<LoadOptions, 'cacheDir'> = {}): Promise<Policy> {
  const cacheDir = policyCacheDir(roots);
  if (isBuiltin(ref)) {
    const asset = `policy-${ref}.wasm` as AssetName;
    const built = builtDigest(asset);
    return loadPolicy(
      { read: () => readAsset(asset), name: ref },
      {
        ...opts,
        cacheDir,
        name: ref,
        knownDigest: built?.sha256,
        knownSize: built?.size,
        direct: true,
        builtCore: () => readAssetInPlace(`policy-${ref}.core.wasm` as AssetName),
      },
    );
  }
  return loadPolicy({ path: ref }, { ...opts, cacheDir });
}

/** The component bytes of a built-in (box policy export). */
export function builtinBytes(name: BuiltinPolicy): Buffer {
  return readAsset(`policy-${name}.wasm` as AssetName);
}
