// Loading a policy: a built-in's core module as box's build made it (engine.ts), a component built
// like the built-ins from its bytes (direct-core.ts), or any other component through jco's glue
// (glue.ts). The last two are imported only when used, so that a start judged by built-ins alone
// never loads or compiles them; they build on engine.ts, which therefore imports neither.
import { useFeature } from '../util/code-cache';
import {
  DEFAULT_INSTANTIATE_TIMEOUT_MS,
  DEFAULT_MEMORY_BYTES,
  DEFAULT_TIMEOUT_MS,
  LoadOptions,
  loadBuilt,
  MESSAGE_LIMITS,
  PATCH_MAX_CHARS,
  Policy,
  PolicyLimits,
  PolicySource,
} from './engine';

/**
 * Loads a policy: checks the binary, transpiles it (or takes it from the cache), checks that it
 * exports box's world and imports nothing, and compiles it. Throws PolicyLoadError (a BoxError)
 * with a message for the user when the file cannot be a policy.
 */
export async function loadPolicy(source: PolicySource, opts: LoadOptions): Promise<Policy> {
  useFeature('policy'); // this command's code cache should hold the policy engine's code too
  const limits = limitsOf(opts);
  // A built-in's core module as box's build made it: its checks and the memory limit's rewrite
  // cost each start ~0.3 ms of CPU (2026-12-05, 2-core dev VM), for bytes that are box's own.
  if (opts.direct && opts.builtCore && opts.knownDigest && limits.memoryBytes === DEFAULT_MEMORY_BYTES)
    return loadBuilt(source, opts, limits, opts.builtCore);
  // The other ways load modules of their own, which a start judged by built-ins alone then never
  // loads or compiles (with the glue's, ~12 KB less of box's code run: measured 2026-12-05).
  if (opts.direct) return (await import('./direct-core')).loadDirect(source, opts, limits);
  return (await import('./glue')).loadGlued(source, opts, limits);
}

function limitsOf(opts: LoadOptions): PolicyLimits {
  return {
    timeoutMs: opts.limits?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    instantiateTimeoutMs:
      opts.limits?.instantiateTimeoutMs ?? Math.max(DEFAULT_INSTANTIATE_TIMEOUT_MS, opts.limits?.timeoutMs ?? 0),
    memoryBytes: opts.limits?.memoryBytes ?? DEFAULT_MEMORY_BYTES,
    messages: opts.limits?.messages ?? MESSAGE_LIMITS,
    patchChars: opts.limits?.patchChars ?? PATCH_MAX_CHARS,
  };
}
