// Tells the executable's code cache (src/boot.ts) that this process uses an optional part of box
// (e.g. the policy engine), so that a cache written by a run without it is written again, this
// time holding its compiled functions. A no-op outside the single executable.
const USE_FEATURE = Symbol.for('box.codeCache.useFeature');

export function useFeature(name: string): void {
  (globalThis as { [USE_FEATURE]?: (name: string) => void })[USE_FEATURE]?.(name);
}
