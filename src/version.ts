// Replaced at bundle time by esbuild's `define` with package.json's version.
declare const __BOX_VERSION__: string | undefined;
export const BOX_VERSION: string = typeof __BOX_VERSION__ === 'string' ? __BOX_VERSION__ : '0.0.0-dev';
