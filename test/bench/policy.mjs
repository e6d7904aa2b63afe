// What a policy adds to a container start: `box run` without a policy and with the built-ins
// baseline and strict, side by side, every start really evaluating its policy (box stores no
// verdicts); and the first use of a policy (transpile + cache write) in a fresh storage root.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, median, printTable, sideBySide, timeOnce } from './lib.mjs';
import { importTrueImage } from './start-latency.mjs';

const LIMITS = ['--memory', '64m', '--cpus', '0.5', '--pids-limit', '100', '--user', '1000:1000', '--network', 'none'];

export function benchPolicies({ rounds }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-policy-'));
  try {
    const env = importTrueImage(work);
    const run = (policy) => () => timeOnce([BOX, 'run', '--rm', ...LIMITS, ...policy, 'bench:true', '/bin/true'], { env });
    const results = sideBySide(
      [
        { name: 'box run', run: run([]) },
        { name: 'box run --policy baseline', run: run(['--policy', 'baseline']) },
        { name: 'box run --policy strict', run: run(['--policy', 'strict']) },
      ],
      rounds,
    );
    printTable(`start-to-exit latency with policies, ${rounds} rounds (each start evaluates its policy afresh)`, results, 'box run');
    const base = results['box run'].median;
    for (const name of ['box run --policy baseline', 'box run --policy strict']) {
      const extra = results[name].median - base;
      console.log(`  ${name.slice('box run '.length)}: +${extra.toFixed(1)} ms (${((extra / base) * 100).toFixed(1)}% of a start; goal: at most 10%)`);
    }
    // Inside those starts: the evaluation itself (instantiation + call), from the audit log.
    const audit = fs.readFileSync(path.join(work, 'box-root', 'policy-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const name of ['baseline', 'strict']) {
      const ms = audit.filter((e) => e.policy.name === name).map((e) => e.durationMs);
      console.log(`  ${name}: instantiate + evaluate inside box, median ${median(ms).toFixed(2)} ms over ${ms.length} starts`);
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
    console.log(`\nfirst use of a policy (box policy inspect strict, fresh root): median ${median(first).toFixed(0)} ms, then ${median(again).toFixed(0)} ms from the cache (goal: first use under 2 s)`);
    return results;
  } finally {
    spawnSync('rm', ['-rf', work]);
  }
}
