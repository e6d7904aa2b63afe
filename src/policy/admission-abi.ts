// A policy's core module called directly: how box runs a built-in without jco's glue.
//
// A built-in is one core module importing nothing and exporting its memory, cabi_realloc, and
// for each function `box:policy/admission@0.2.0#NAME` with its `cabi_post_...#NAME`; its strings
// are UTF-8 (build/policies.mjs embeds the WIT that way). `evaluate`'s request takes more than
// 16 core values, so it is written into memory the policy allocates and passed by address; both
// results are returned by address and released by the post-return function. The values are
// lowered and lifted by admission-codec.ts, generated from the types of admission-types.ts; the
// calls are checked against jco's by test/unit/policy-direct.test.ts.
import { Guest } from './canonical';
import { liftInfo, liftVerdict, lowerRequest } from './admission-codec';
import type { AdmissionExports, PolicyInfo, PolicyRequest, PolicyVerdict } from './types';
import { WIT_EXPORT } from './types';

/** The core exports a policy module must have for box to call it directly. */
export const DIRECT_EXPORTS = [
  'memory',
  'cabi_realloc',
  `${WIT_EXPORT}#describe`,
  `${WIT_EXPORT}#evaluate`,
  `cabi_post_${WIT_EXPORT}#describe`,
  `cabi_post_${WIT_EXPORT}#evaluate`,
] as const;

/**
 * The names in DIRECT_EXPORTS that `module` lacks, or that it imports anything (then it cannot be
 * called directly): empty when it can.
 */
export function directProblems(module: WebAssembly.Module): string[] {
  const problems = WebAssembly.Module.imports(module).map((i) => `imports ${i.module}.${i.name}`);
  const exported = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  for (const name of DIRECT_EXPORTS) {
    const kind = name === 'memory' ? 'memory' : 'function';
    if (exported.get(name) !== kind) problems.push(`lacks the ${kind} ${name}`);
  }
  return problems;
}

type CoreFn = (...args: number[]) => number;

/** The admission interface of an instance of such a module. */
export function directAdmission(instance: WebAssembly.Instance): AdmissionExports {
  const exports = instance.exports as Record<string, unknown>;
  const memory = exports.memory as WebAssembly.Memory;
  const guest: Guest = { memory, realloc: exports.cabi_realloc as Guest['realloc'] };
  const fn = (name: string) => exports[name] as CoreFn;
  const describe = fn(`${WIT_EXPORT}#describe`);
  const evaluate = fn(`${WIT_EXPORT}#evaluate`);
  const postDescribe = fn(`cabi_post_${WIT_EXPORT}#describe`);
  const postEvaluate = fn(`cabi_post_${WIT_EXPORT}#evaluate`);
  return {
    describe(): PolicyInfo {
      const ret = describe();
      const info = liftInfo(memory, ret) as PolicyInfo;
      postDescribe(ret);
      return info;
    },
    evaluate(request: PolicyRequest): PolicyVerdict {
      const ret = evaluate(lowerRequest(guest, request));
      const verdict = liftVerdict(memory, ret) as PolicyVerdict;
      postEvaluate(ret);
      return verdict;
    },
  };
}
