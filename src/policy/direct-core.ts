// A component built like the built-ins loaded from its bytes, to be called directly
// (admission-abi.ts). At a start engine.ts takes a built-in's core module as box's build made it, and
// loads this module only for a built-in under another memory limit or a direct load of other bytes.
import { mark } from '../util/trace';
import { directProblems } from './admission-abi';
import { PolicyFormatError } from './binary';
import { sha256Hex } from '../util/sha256';
import {
  describeSource,
  directCore,
  errMessage,
  LoadOptions,
  nowMs,
  Policy,
  PolicyLimits,
  PolicyLoadError,
  PolicySource,
  readSource,
} from './engine';
import { WIT_EXPORT } from './types';

/**
 * Loads a component built like the built-ins without jco (LoadOptions.direct), from its bytes: its
 * one core module, under the memory limit, compiled. A digest known in advance (a built-in's,
 * computed when box was built) is taken as is; otherwise the bytes are hashed.
 */
export function loadDirect(source: PolicySource, opts: LoadOptions, limits: PolicyLimits): Policy {
  const { name, what, file } = describeSource(source, opts);
  const t0 = nowMs();
  const bytes = readSource(source);
  const digest = opts.knownDigest ?? sha256Hex(bytes);
  const readMs = nowMs() - t0;
  const t1 = nowMs();
  let module: WebAssembly.Module;
  let starts: boolean;
  try {
    let core: Uint8Array;
    ({ core, starts } = directCore(bytes, what, limits.memoryBytes));
    module = new WebAssembly.Module(core);
  } catch (err) {
    if (err instanceof PolicyLoadError) throw err;
    if (err instanceof PolicyFormatError) throw new PolicyLoadError(err.message);
    throw new PolicyLoadError(`${what}: its code does not compile: ${errMessage(err)}`);
  }
  mark('policy compiled');
  const problems = directProblems(module);
  if (problems.length) throw new PolicyLoadError(`${what} cannot be called directly: it ${problems.join(', ')}`);
  return new Policy(
    name,
    file,
    digest,
    bytes.length,
    WIT_EXPORT,
    [],
    [[WIT_EXPORT, 'instance']],
    limits,
    { readMs, transpileMs: 0, compileMs: nowMs() - t1, cacheHit: true },
    { kind: 'direct', module, starts, checksDeadline: false },
  );
}
