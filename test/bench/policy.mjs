// What a policy adds to a container start: `box run` without a policy and with the built-ins
// baseline and strict, side by side, every start really evaluating its policy (box stores no
// verdicts); and the first use of a policy (transpile + cache write) in a fresh storage root, for
// a built-in (C) and for the TypeScript example built by componentize-js (a JavaScript engine inside).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, median, pairedExtra, printTable, printTraceSplit, REPO, sideBySide, timeOnce } from './lib.mjs';
import { importTrueImage } from './start-latency.mjs';

// A start as strict requires it (limits, a non-root user, a read-only root): what a policy adds is
// then its own work. Strict's correction of a writable root is shown apart: the read-only root it
// asks for costs the helper a remount, a cost of the container, not of the policy.
const WRITABLE = [
  '--memory',
  '64m',
  '--cpus',
  '0.5',
  '--pids-limit',
  '100',
  '--user',
  '1000:1000',
  '--network',
  'none',
];
const LIMITS = [...WRITABLE, '--read-only'];

export function benchPolicies({ rounds }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-policy-'));
  try {
    const env = importTrueImage(work);
    // The benchmarks before this one leave the disk's writeback of thousands of files to the
    // kernel's flusher threads, which would take the CPU from the first rounds: flushed first.
    spawnSync('sync');
    const run =
      (policy, flags = LIMITS) =>
      () =>
        timeOnce([BOX, 'run', '--rm', ...flags, ...policy, 'bench:true', '/bin/true'], { env });
    const results = sideBySide(
      [
        { name: 'box run', run: run([]) },
        { name: 'box run --policy baseline', run: run(['--policy', 'baseline']) },
        { name: 'box run --policy strict', run: run(['--policy', 'strict']) },
        { name: 'box run, writable root', run: run([], WRITABLE) },
        { name: 'box run --policy strict, writable root', run: run(['--policy', 'strict'], WRITABLE) },
      ],
      rounds,
      3,
      { rotate: true },
    );
    printTable(
      `start-to-exit latency with policies, ${rounds} rounds (each start evaluates its policy afresh)`,
      results,
      'box run',
    );
    for (const name of ['box run --policy baseline', 'box run --policy strict']) {
      const e = pairedExtra(results[name].samples, results['box run'].samples);
      console.log(
        `  ${name.slice('box run '.length)}: +${e.ofMedians.toFixed(1)} ms (${e.ofMediansPct.toFixed(1)}% of a start) ` +
          `between the medians, +${e.paired.toFixed(1)} ms (${e.pairedPct.toFixed(1)}%) the median of each round's ` +
          `difference (goal: at most 5%)`,
      );
    }
    const writable = results['box run, writable root'].median;
    const corrected = results['box run --policy strict, writable root'].median - writable;
    console.log(
      `  --policy strict making a writable root read-only: +${corrected.toFixed(1)} ms ` +
        `(${((corrected / writable) * 100).toFixed(1)}%: the policy and the read-only root it asks for)`,
    );
    // Inside those starts: the evaluation itself (instantiation + call), from the audit log.
    const audit = fs
      .readFileSync(path.join(work, 'box-root', 'policy-audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const name of ['baseline', 'strict']) {
      const ms = audit.filter((e) => e.policy.name === name).map((e) => e.durationMs);
      console.log(
        `  ${name}: instantiate + evaluate inside box, median ${median(ms).toFixed(2)} ms over ${ms.length} starts`,
      );
    }
    // Each policy step's wall time against box's CPU time in it: a step whose wall time is longer
    // waits (for V8's threads, a file, an event loop turn), which the CPU benchmark cannot show.
    for (const name of ['baseline', 'strict']) {
      printTraceSplit(
        `--policy ${name}: its steps in a start`,
        [BOX, 'run', '--rm', ...LIMITS, '--policy', name, 'bench:true', '/bin/true'],
        env,
        rounds,
        { only: /^polic/ },
      );
    }

    // First use: an empty storage root has no transpiled policy cached.
    const firsts = [];
    for (let i = 0; i < Math.min(5, rounds); i++) {
      const fresh = { ...process.env, BOX_ROOT: path.join(work, `fresh-${i}`) };
      firsts.push(timeOnce([BOX, 'policy', 'inspect', 'strict'], { env: fresh }));
      const cached = timeOnce([BOX, 'policy', 'inspect', 'strict'], { env: fresh });
      firsts.push(-cached); // kept apart below
    }
    const first = firsts.filter((x) => x > 0);
    const again = firsts.filter((x) => x < 0).map((x) => -x);
    console.log(
      `\nfirst use of a policy (box policy inspect strict, fresh root): median ${median(first).toFixed(0)} ms, ` +
        `then ${median(again).toFixed(0)} ms from the cache (goal: first use under 2 s)`,
    );
    benchTypeScriptFirstUse({ rounds, work });
    return results;
  } finally {
    spawnSync('rm', ['-rf', work]);
  }
}

/**
 * First use of the TypeScript example policy (policies/examples/team-rules.ts, built once by
 * `box policy build`, outside the timing): `box policy eval` in a fresh storage root transpiles
 * it, caches the result, instantiates it and evaluates one request; then the same from the cache.
 */
export function benchTypeScriptFirstUse({ rounds, work }) {
  const wasm = path.join(work, 'team-rules.wasm');
  const built = spawnSync(
    BOX,
    ['policy', 'build', path.join(REPO, 'policies', 'examples', 'team-rules.ts'), '-o', wasm],
    { encoding: 'utf8', cwd: REPO },
  );
  if (built.status !== 0) throw new Error(`box policy build failed: ${built.stderr}`);
  const request = path.join(work, 'team-rules-request.json');
  fs.writeFileSync(
    request,
    JSON.stringify({ container: { image: { reference: 'web:2' }, labels: [['owner', 'bench']] } }),
  ); // allowed: eval exits 0
  const cold = [];
  const warm = [];
  const transpile = [];
  for (let i = 0; i < Math.min(3, rounds); i++) {
    const root = path.join(work, `fresh-ts-${i}`);
    const env = { ...process.env, BOX_ROOT: root };
    cold.push(timeOnce([BOX, 'policy', 'eval', wasm, '--request', request], { env }));
    warm.push(timeOnce([BOX, 'policy', 'eval', wasm, '--request', request], { env }));
    const cache = path.join(root, 'cache', 'policies');
    const entry = fs.readdirSync(cache).find((n) => fs.existsSync(path.join(cache, n, 'meta.json')));
    transpile.push(JSON.parse(fs.readFileSync(path.join(cache, entry, 'meta.json'), 'utf8')).transpileMs);
  }
  const size = fs.statSync(wasm).size;
  console.log(
    `first use of the TypeScript example (${(size / 1048576).toFixed(1)} MiB componentize-js component; box policy eval, fresh root): ` +
      `median ${median(cold).toFixed(0)} ms, of which transpiling ${median(transpile).toFixed(0)} ms; ` +
      `then ${median(warm).toFixed(0)} ms from the cache (goal: first use under 2 s)`,
  );
  return { cold, warm, transpile };
}
