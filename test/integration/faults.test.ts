// Fault injection (issue 19): SIGKILL of `box`, of the helper, of the monitor and of the exit
// callback at delays spread over each operation's measured duration, then `ps -a`, `rm -f` of
// everything listed and `rmi -f` of every image, then an inventory of the kernel's view and the
// store's (test/support/faults.ts). The goal: no round leaves anything, and no recovery command
// runs longer than 10 s. This short variant kills image operations at 4 delays and container
// operations at 1; `BENCH_ONLY=faults npm run bench` runs the long one (FAULTS=long, FAULT_DELAYS
// delays for every operation and victim) through this same file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRound, FaultBench, Operation, OPERATIONS, Round } from '../support/faults';

const LONG = process.env.FAULTS === 'long';
const only = process.env.FAULT_OPS?.split(',');
const IMAGE_OPS = ['import', 'load', 'pull', 'rmi'];
const delaysFor = (op: Operation) => (LONG ? Number(process.env.FAULT_DELAYS ?? 8) : IMAGE_OPS.includes(op.name) ? 4 : 1);
const selected = OPERATIONS.filter((o) => !only || only.includes(o.name));

/**
 * Container rounds that fail today because of defects fixed on other branches (issue 19 items 1-4
 * and 6: wt-finalise, wt-records). They run and are reported; FAULTS_STRICT=1 asserts them too,
 * and once those branches are merged an entry that no longer fails goes from this list.
 */
const KNOWN: Record<string, string> = {};
const STRICT = process.env.FAULTS_STRICT === '1';

const bench = new FaultBench();
beforeAll(() => bench.prepare(), 180_000);
afterAll(() => bench.close());

async function roundsOf(op: Operation): Promise<Round[]> {
  const rounds: Round[] = [];
  const delays = bench.delays(op, delaysFor(op));
  for (const victim of op.victims) {
    for (const d of delays) {
      rounds.push(await bench.round(op, victim, d));
    }
  }
  const known = (r: Round) => (r.left.length && KNOWN[`${r.op}/${r.victim}`] ? `  [known: ${KNOWN[`${r.op}/${r.victim}`]}]` : '');
  console.log(`${op.name}: ${bench.durations.get(op.name)} ms unkilled\n${rounds.map((r) => `  ${describeRound(r)}${known(r)}`).join('\n')}`);
  return rounds;
}

describe.each(selected.map((op) => [op.name, op] as const))('%s killed half-way', (_name, op) => {
  it(`leaves nothing after ps -a, rm -f and rmi, and no recovery command runs over 10 s`, async () => {
    const rounds = await roundsOf(op);
    const failing = rounds.filter((r) => r.left.length && (STRICT || !KNOWN[`${r.op}/${r.victim}`]));
    expect(failing.map(describeRound)).toEqual([]);
    expect(rounds.some((r) => r.killed)).toBe(true);
  }, (LONG ? 3_600 : 120) * 1000);
});
