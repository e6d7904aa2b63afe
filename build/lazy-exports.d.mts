// Types of build/lazy-exports.mjs for the tests (TypeScript).
export function exportsIntoInits(code: string): { code: string; moved: number };
