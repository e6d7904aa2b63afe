// Ambient declarations for the ES-module-only packages the policy code uses. The project's
// moduleResolution (node10) does not read package.json "exports", so TypeScript cannot see their
// own declarations; these cover the parts box calls.
declare module '@bytecodealliance/jco-transpile' {
  export interface TranspileResult {
    files: Record<string, Uint8Array>;
    imports: string[];
    exports: Array<[string, 'function' | 'instance']>;
  }
  export function transpileBytes(
    component: Uint8Array,
    opts?: {
      name?: string;
      instantiation?: 'async' | 'sync';
      emitTypescriptDeclarations?: boolean;
      minify?: boolean;
      optimize?: boolean;
    },
  ): Promise<TranspileResult>;
}

declare module '@bytecodealliance/componentize-js' {
  export function componentize(opts: {
    sourcePath: string;
    witWorld?: string;
    witPath?: string;
    worldName?: string;
    disableFeatures?: Array<'stdio' | 'random' | 'clocks' | 'http' | 'fetch-event'>;
    enableAot?: boolean;
  }): Promise<{ component: Uint8Array; imports: unknown[] }>;
}

// The WebAssembly JS API as box uses it (the project's lib is ES2022 without the DOM types).
declare namespace WebAssembly {
  type ImportValue = unknown;
  type Imports = Record<string, Record<string, ImportValue>>;
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }
  class Module {
    constructor(bytes: Uint8Array);
    static imports(module: Module): Array<{ module: string; name: string; kind: string }>;
    static exports(module: Module): Array<{ name: string; kind: string }>;
  }
  class Global {
    value: number;
  }
  class RuntimeError extends Error {}
  class CompileError extends Error {}
  function validate(bytes: Uint8Array): boolean;
}

declare module '@bytecodealliance/jco-transpile/wasm-tools' {
  /** WebAssembly text (core or component) to binary */
  export function parse(wat: string): Promise<Uint8Array>;
  export function componentWit(bytes: Uint8Array): Promise<string>;
  /** a core module plus a WIT world → a core module carrying the world's type information */
  export function componentEmbed(opts: {
    binary: Uint8Array;
    witSource: string;
    world: string;
    stringEncoding?: 'utf8';
  }): Promise<Uint8Array>;
  /** such a core module → a component */
  export function componentNew(binary: Uint8Array): Promise<Uint8Array>;
}
