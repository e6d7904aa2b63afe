// Fixture modules bundled with box's own esbuild options, for the unit tests of the build's
// transforms of that bundle (build/lazy-exports.mjs, esm-inits.mjs, builtin-namespaces.mjs), and a
// way to run a (transformed) bundle in a fresh node, which prints one JSON line.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { expect } from 'vitest';
import { bundleOptions } from '../../build/esbuild-plugins.mjs';

export class BundleFixture {
  readonly dir: string;

  constructor(prefix: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  write(name: string, text: string): void {
    fs.writeFileSync(path.join(this.dir, name), text);
  }

  /** The bundle of the fixture's entry.ts, as the build makes box's. */
  async bundle(): Promise<string> {
    const out = await esbuild.build(
      bundleOptions({
        entry: path.join(this.dir, 'entry.ts'),
        outfile: path.join(this.dir, 'out.js'),
        version: '0',
        write: false,
      }),
    );
    return out.outputFiles![0].text;
  }

  /** Runs `code` in a fresh node; what it printed, parsed (it must write nothing to stderr). */
  run(code: string): unknown {
    const file = path.join(this.dir, `run-${Math.random().toString(36).slice(2)}.js`);
    fs.writeFileSync(file, code);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
