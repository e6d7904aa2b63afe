// Measures the policy engine's costs in a fresh process: `npx esbuild`-bundled and run by
// test/bench/policy-cost.mjs, or imported from a test. Prints JSON.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPolicy } from '../../src/policy/load';
import { emptyRequest } from '../../src/policy/request';

export async function measure(
  wasm: string,
  cacheDir: string,
  tune: boolean,
): Promise<Record<string, number | boolean>> {
  const t0 = performance.now();
  const p = await loadPolicy({ path: wasm }, { cacheDir, tuneV8: tune });
  const loadMs = performance.now() - t0;
  const req = emptyRequest();
  req.container.user.uid = 1000;
  const first = p.evaluate(req);
  const t1 = performance.now();
  const n = 50;
  for (let i = 0; i < n; i++) p.evaluate(req);
  const perEval = (performance.now() - t1) / n;
  return {
    cacheHit: p.timings.cacheHit,
    readMs: Math.round(p.timings.readMs),
    transpileMs: Math.round(p.timings.transpileMs),
    compileMs: Math.round(p.timings.compileMs),
    loadMs: Math.round(loadMs),
    instantiateMs: Math.round(first.instantiateMs * 10) / 10,
    firstEvaluateMs: Math.round(first.evaluateMs * 10) / 10,
    totalFirstDecisionMs: Math.round(loadMs + first.instantiateMs + first.evaluateMs),
    laterEvaluateMs: Math.round(perEval * 100) / 100,
  };
}

if (require.main === module) {
  const [wasm, cacheDir, tune] = process.argv.slice(2);
  measure(wasm, cacheDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-')), tune !== 'untuned').then((r) =>
    process.stdout.write(JSON.stringify(r) + '\n'),
  );
}
