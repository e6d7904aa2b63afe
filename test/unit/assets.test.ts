// src/assets.ts and src/linux/ffi.ts in dev mode (assets read from BOX_ASSET_DIR).
//
// The in-process tests run the TypeScript sources. The bundle tests build a small entry point
// with the same esbuild options and koffi plugin as dist/box.js and run it with node from an empty
// directory: that is the code path of the binary (koffi's native module loaded with
// process.dlopen() from the cache, nothing from node_modules), except that the assets come from
// a directory instead of the SEA blob. These tests do not need `npm run build`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundleOptions, ROOT } from '../../build/esbuild-plugins.mjs';
import { assetPath, readAsset, type AssetName } from '../../src/assets';

const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));
const KOFFI_NODE = path.join(
  path.dirname(requireFromRoot.resolve('koffi/package.json')),
  'build/koffi/linux_x64/koffi.node',
);

let tmp: string;
let assetDir: string;
const savedAssetDir = process.env.BOX_ASSET_DIR;

const sha16 = (data: Buffer) => createHash('sha256').update(data).digest('hex').slice(0, 16);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-assets-'));
  assetDir = path.join(tmp, 'assets');
  fs.mkdirSync(assetDir);
  fs.writeFileSync(path.join(assetDir, 'box-helper'), '#!/bin/sh\necho helper\n');
  fs.copyFileSync(KOFFI_NODE, path.join(assetDir, 'koffi.node'));
  process.env.BOX_ASSET_DIR = assetDir;
});

afterAll(() => {
  if (savedAssetDir === undefined) delete process.env.BOX_ASSET_DIR;
  else process.env.BOX_ASSET_DIR = savedAssetDir;
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('assets (sources, dev mode)', () => {
  test('readAsset reads from BOX_ASSET_DIR', () => {
    expect(readAsset('box-helper').toString()).toBe('#!/bin/sh\necho helper\n');
    expect(readAsset('koffi.node').equals(fs.readFileSync(KOFFI_NODE))).toBe(true);
    expect(() => readAsset('nope' as AssetName)).toThrow(/unknown asset/);
  });

  test('assetPath writes once, by content, with the right mode', () => {
    const cache = path.join(tmp, 'cache1', 'nested');
    const helper = assetPath('box-helper', cache);
    expect(path.basename(helper)).toBe(`box-helper-${sha16(readAsset('box-helper'))}`);
    expect(fs.statSync(helper).mode & 0o777).toBe(0o700);
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    expect(spawnSync(helper, { encoding: 'utf8' }).stdout).toBe('helper\n');

    const lib = assetPath('koffi.node', cache);
    expect(fs.statSync(lib).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(lib).equals(fs.readFileSync(KOFFI_NODE))).toBe(true);

    // Reused, not rewritten.
    const ino = fs.statSync(helper).ino;
    expect(assetPath('box-helper', cache)).toBe(helper);
    expect(fs.statSync(helper).ino).toBe(ino);
    expect(fs.readdirSync(cache).sort()).toEqual([path.basename(helper), path.basename(lib)].sort());
  });

  test('assetPath replaces a truncated, foreign-writable or non-regular file', () => {
    const cache = path.join(tmp, 'cache2');
    const file = assetPath('box-helper', cache);
    fs.writeFileSync(file, '#!/bin/sh\n'); // truncated
    expect(assetPath('box-helper', cache)).toBe(file);
    expect(spawnSync(file, { encoding: 'utf8' }).stdout).toBe('helper\n');

    fs.chmodSync(file, 0o777);
    assetPath('box-helper', cache);
    expect(fs.statSync(file).mode & 0o777).toBe(0o700);

    fs.rmSync(file);
    fs.symlinkSync('/bin/true', file);
    assetPath('box-helper', cache);
    expect(fs.lstatSync(file).isFile()).toBe(true);
  });

  test('a new asset version gets a new file', () => {
    const cache = path.join(tmp, 'cache3');
    const first = assetPath('box-helper', cache);
    fs.writeFileSync(path.join(assetDir, 'box-helper'), '#!/bin/sh\necho helper v2\n');
    try {
      const second = assetPath('box-helper', cache);
      expect(second).not.toBe(first);
      expect(spawnSync(second, { encoding: 'utf8' }).stdout).toBe('helper v2\n');
    } finally {
      fs.writeFileSync(path.join(assetDir, 'box-helper'), '#!/bin/sh\necho helper\n');
    }
  });
});

describe('assets and ffi (bundled like dist/box.js)', () => {
  let bundle: string;
  let runDir: string;

  beforeAll(async () => {
    runDir = path.join(tmp, 'run');
    fs.mkdirSync(runDir);
    const entry = path.join(tmp, 'entry.ts');
    const src = (p: string) => JSON.stringify(path.join(ROOT, p));
    fs.writeFileSync(
      entry,
      `import { assetPath } from ${src('src/assets')};
       import * as ffi from ${src('src/linux/ffi')};
       const [cmd, dir] = process.argv.slice(2);
       if (cmd === 'asset') {
         process.stdout.write(assetPath('koffi.node', dir) + '\\n');
       } else if (cmd === 'ffi') {
         ffi.setFfiCacheDir(dir);
         const before = ffi.koffiLoaded();
         const t0 = process.hrtime.bigint();
         const k = ffi.koffi();
         const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
         const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
         process.stdout.write(JSON.stringify({
           before, loadMs, pid: ffi.getpid(), realPid: process.pid, sizeofInt: k.sizeof('int'),
           koffiMaps: [...new Set(maps.split('\\n').filter((l: string) => l.includes('koffi')).map((l: string) => l.split(/\\s+/)[5]))],
         }) + '\\n');
       }
      `,
    );
    bundle = path.join(tmp, 'bundle.js');
    await esbuild.build(bundleOptions({ entry, outfile: bundle, version: '0.0.0-test' }));
  });

  const run = (args: string[]) =>
    spawnSync(process.execPath, [bundle, ...args], {
      cwd: runDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BOX_ASSET_DIR: assetDir },
      encoding: 'utf8',
    });

  test('the bundle does not contain a way to find koffi in node_modules', () => {
    const code = fs.readFileSync(bundle, 'utf8');
    expect(code).toContain('boxKoffiFactory');
    expect(code).not.toMatch(/koffi\.node"\)/);
    expect(code).not.toContain('eval("require")');
    expect(code).not.toContain('require("https")');
  });

  test('koffi loads lazily from the cached asset and calls libc', () => {
    const cache = path.join(tmp, 'ffi-cache');
    const r = run(['ffi', cache]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.before).toBe(false);
    expect(out.pid).toBe(out.realPid);
    expect(out.sizeofInt).toBe(4);
    const cached = path.join(cache, `koffi.node-${sha16(fs.readFileSync(KOFFI_NODE))}`);
    expect(out.koffiMaps).toEqual([cached]);
    // Loading (copy to the cache excluded on a second run) stays cheap; informative bound only.
    const again = JSON.parse(run(['ffi', cache]).stdout);
    expect(again.loadMs).toBeLessThan(200);
  });

  test('many processes extracting the same asset at once all succeed', async () => {
    const cache = path.join(tmp, 'race-cache');
    const n = 12;
    const results = await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            const child = spawn(process.execPath, [bundle, 'asset', cache], {
              cwd: runDir,
              env: { BOX_ASSET_DIR: assetDir },
            });
            let out = '';
            let err = '';
            child.stdout.on('data', (d) => (out += d));
            child.stderr.on('data', (d) => (err += d));
            child.on('close', (code) => resolve({ code, out, err }));
          }),
      ),
    );
    for (const r of results) expect(r).toMatchObject({ code: 0, err: '' });
    const paths = new Set(results.map((r) => r.out.trim()));
    expect(paths.size).toBe(1);
    expect(fs.readdirSync(cache)).toEqual([path.basename([...paths][0])]); // no temp files left
    expect(fs.readFileSync([...paths][0]).equals(fs.readFileSync(KOFFI_NODE))).toBe(true);
  });
});
