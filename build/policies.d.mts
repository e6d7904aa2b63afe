// Types for build/policies.mjs (imported by tests written in TypeScript).
export const BUILTIN_SOURCES: Record<string, string[]>;
export const BUILTIN_POLICIES: string[];
export interface BuildPoliciesOptions {
  /** default: all of BUILTIN_POLICIES */
  names?: string[];
  /** where NAME.wasm and manifest.json go (default dist/policies) */
  outDir?: string;
  /** where the input stamps go (default dist/.build) */
  stateDir?: string;
  /** rebuild even if up to date (default: BOX_BUILD_FORCE=1) */
  force?: boolean;
  /** progress lines (default: stdout) */
  log?: (line: string) => void;
}
export function buildPolicies(opts?: BuildPoliciesOptions): Promise<{
  manifest: Record<string, { sha256: string; size: number }>;
  /** the policies this call (re)built */
  built: string[];
}>;
/** Builds a policy component from C files (absolute paths; policies/builtin on the include path). */
export function buildComponent(opts: {
  sources: string[];
  out: string;
  log?: (line: string) => void;
}): Promise<{ out: string; size: number }>;
