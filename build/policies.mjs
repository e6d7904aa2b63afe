#!/usr/bin/env node
// Builds box's built-in policies: policies/builtin/{baseline,strict,capacity}.ts ->
// dist/policies/<name>.wasm, with src/policy/build.ts (the same code as `box policy build`),
// one at a time (each is ~12 s of CPU). A policy is rebuilt only when the digest of its inputs
// (its bundled source, the WIT, componentize-js's version) changed. Also writes
// dist/policies/manifest.json: { name: { sha256, size } } for embedding (the engine's
// knownDigest fast path).
//
//   node build/policies.mjs [NAME...]
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { ROOT } from './esbuild-plugins.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));
const OUT = path.join(ROOT, 'dist', 'policies');
const STATE = path.join(ROOT, 'dist', '.build');
export const BUILTIN_POLICIES = ['baseline', 'strict', 'capacity'];

function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

async function loadBuilder() {
  // src/policy/build.ts is TypeScript: bundle it to a CommonJS module next to the state files.
  const out = path.join(STATE, 'policy-build.cjs');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'src/policy/build.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: out,
    external: ['esbuild', '@bytecodealliance/*'],
    logLevel: 'silent',
  });
  return require(out);
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  fs.mkdirSync(STATE, { recursive: true });
  const names = process.argv.slice(2).length ? process.argv.slice(2) : BUILTIN_POLICIES;
  const builder = await loadBuilder();
  const wit = fs.readFileSync(path.join(ROOT, 'policies/wit/policy.wit'), 'utf8');
  const cjsVersion = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@bytecodealliance/componentize-js/package.json'), 'utf8')).version;
  const manifestFile = path.join(OUT, 'manifest.json');
  const manifest = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, 'utf8')) : {};
  for (const name of names) {
    if (!BUILTIN_POLICIES.includes(name)) throw new Error(`unknown built-in policy ${name}`);
    const src = path.join(ROOT, 'policies/builtin', `${name}.ts`);
    const out = path.join(OUT, `${name}.wasm`);
    const key = sha256(await builder.bundlePolicySource(src), wit, cjsVersion);
    const stampFile = path.join(STATE, `policy-${name}.stamp`);
    if (fs.existsSync(out) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === key) {
      process.stdout.write(`build: policy ${name} up to date\n`);
    } else {
      const start = performance.now();
      const r = await builder.buildPolicy(src, out, { witText: wit });
      fs.writeFileSync(stampFile, key);
      process.stdout.write(`build: policy ${name} ${(r.size / 1048576).toFixed(1)} MiB (${Math.round(performance.now() - start)} ms)\n`);
    }
    const bytes = fs.readFileSync(out);
    manifest[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  }
  const tmp = `${manifestFile}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
  fs.renameSync(tmp, manifestFile);
}

main().catch((err) => {
  process.stderr.write(`build: policies: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
