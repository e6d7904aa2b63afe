// Types of build/esm-inits.mjs for the tests (TypeScript).
export function esmInitsAsFunctions(code: string): { code: string; changed: number };
