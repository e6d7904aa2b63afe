// Types for build/esbuild-plugins.mjs (imported by tests written in TypeScript).
import type { BuildOptions, Plugin } from 'esbuild';

export const ROOT: string;
export function koffiPlugin(): Plugin;
export function bundleOptions(opts: {
  entry: string;
  outfile: string;
  version: string;
  digests?: Record<string, { sha256: string; size: number }>;
  write?: boolean;
}): BuildOptions;
export function packageVersion(): string;
