#!/usr/bin/env node
// TypeScript types for policy authors, generated from box's WIT (policies/wit/policy.wit) by
// jco's bindings generator, as a guest sees them: `declare module 'box:policy/admission@0.2.0'`
// with Request, Verdict and the rest. They are committed in policies/types/ (a unit test checks
// that they match the WIT), embedded in box for `box policy types`, and used by the examples.
//
//   node build/policy-types.mjs     rewrites policies/types/ from the WIT
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './esbuild-plugins.mjs';

export const TYPES_DIR = path.join(ROOT, 'policies', 'types');

/** { relative path: content } of the types for the WIT text given. */
export async function generatePolicyTypes(
  witText = fs.readFileSync(path.join(ROOT, 'policies/wit/policy.wit'), 'utf8'),
) {
  const vendor = path.join(
    ROOT,
    'node_modules/@bytecodealliance/jco-transpile/vendor/js-component-bindgen-component.js',
  );
  const { $init, generateTypes } = await import(pathToFileURL(vendor).href);
  await $init;
  const files = generateTypes('box-policy', {
    wit: { tag: 'source', val: witText },
    world: 'policy',
    guest: true,
    tlaCompat: false,
    features: { tag: 'all' },
  });
  const header = '// Generated from policies/wit/policy.wit by build/policy-types.mjs: do not edit.\n';
  return Object.fromEntries(files.map(([name, bytes]) => [name, header + Buffer.from(bytes).toString('utf8')]));
}

/** The committed types, as { relative path: content }. */
export function committedPolicyTypes() {
  const out = {};
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(TYPES_DIR, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  if (fs.existsSync(TYPES_DIR)) walk(TYPES_DIR);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = await generatePolicyTypes();
  fs.rmSync(TYPES_DIR, { recursive: true, force: true });
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(TYPES_DIR, name)), { recursive: true });
    fs.writeFileSync(path.join(TYPES_DIR, name), text);
  }
  process.stdout.write(`policy types: ${Object.keys(files).join(', ')} in ${path.relative(ROOT, TYPES_DIR)}/\n`);
}
