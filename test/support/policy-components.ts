// Builds policy components for the tests with box's own build function, cached by content under
// the system temp directory: the key covers everything that goes into a component (the bundled
// source, the WIT, componentize-js's version, the enabled features), so a cached component is
// exactly what a fresh build would make, and a run builds each distinct component once.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BuildOptions, buildPolicy, bundlePolicySource, policyWitText } from '../../src/policy/build';

export const COMPONENT_CACHE = process.env.BOX_TEST_COMPONENTS ?? path.join(os.tmpdir(), 'box-test-components');

function componentizeVersion(): string {
  const pkg = path.join(__dirname, '..', '..', 'node_modules', '@bytecodealliance', 'componentize-js', 'package.json');
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

export async function component(src: string, opts: BuildOptions = {}): Promise<string> {
  const code = await bundlePolicySource(src);
  const key = createHash('sha256')
    .update(code)
    .update('\0')
    .update(opts.witText ?? policyWitText())
    .update('\0')
    .update(opts.worldName ?? '')
    .update('\0')
    .update(componentizeVersion())
    .update('\0')
    .update([...(opts.enableFeatures ?? [])].sort().join(','))
    .digest('hex')
    .slice(0, 32);
  fs.mkdirSync(COMPONENT_CACHE, { recursive: true });
  const out = path.join(COMPONENT_CACHE, `${path.basename(src).replace(/\.[jt]s$/, '')}-${key}.wasm`);
  if (!fs.existsSync(out)) await buildPolicy(src, out, opts);
  return out;
}

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'policies');

/**
 * A component made from a hand-written core module (WebAssembly text) that exports box's
 * policy world: for hostile shapes no compiler emits (huge tables, table.grow, a looping start
 * function). The module must export `memory`, `cabi_realloc` and the world's functions
 * (`box:policy/admission@0.2.0#describe` → i32, `#evaluate` i32 → i32).
 */
export async function coreComponent(coreWat: string): Promise<Uint8Array> {
  const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
  const core = await tools.parse(coreWat);
  const embedded = await tools.componentEmbed({
    binary: core,
    witSource: policyWitText(),
    world: 'policy',
    stringEncoding: 'utf8',
  });
  return tools.componentNew(embedded);
}
