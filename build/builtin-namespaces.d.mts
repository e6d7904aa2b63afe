// Types of build/builtin-namespaces.mjs for the tests (TypeScript).
export function builtinNamespacesAsModules(code: string): { code: string; changed: number };
