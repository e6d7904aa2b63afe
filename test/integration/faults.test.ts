// Fault injection (issue 19): SIGKILL of `box`, of the helper, of the monitor and of the exit
// callback at delays spread over each operation's measured duration, then `ps -a`, `rm -f` of
// everything listed and `rmi -f` of every image, then an inventory of the kernel's view and the
// store's (test/support/faults.ts). The goal: no round leaves anything, and no recovery command
// runs longer than 10 s. This short variant kills image operations at 4 delays and container
// operations at 1 (or up to 3, until the victim was there); `BENCH_ONLY=faults npm run bench`
// runs the long one (FAULTS=long: FAULT_DELAYS delays, default 8, for every operation and
// victim) through this same file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRound, FaultBench, Operation, OPERATIONS, Round } from '../support/faults';

const LONG = process.env.FAULTS === 'long';
const only = process.env.FAULT_OPS?.split(',');
const IMAGE_OPS = ['import', 'load', 'pull', 'rmi'];

/**
 * The delays of a victim's rounds. Short variant: an image operation at 4 delays; a container
 * operation at one, the middle, or (when its victim was not there then) the next of three.
 */
function* delaysFor(op: Operation, killed: () => boolean): Generator<number> {
  const all = LONG ? Number(process.env.FAULT_DELAYS ?? 8) : 4;
  if (LONG || IMAGE_OPS.includes(op.name)) return yield* bench.delays(op, all);
  const [early, middle, late] = bench.delays(op, 3);
  for (const d of [middle, early, late]) {
    yield d;
    if (killed()) return;
  }
}
const selected = OPERATIONS.filter((o) => !only || only.includes(o.name));

/**
 * Rounds known to fail, skipped visibly by this short variant (the long one and FAULTS_STRICT=1
 * still run and assert them). Empty: every kind of round leaves nothing. A new entry names the
 * defect and its issue.
 */
const KNOWN: Record<string, string> = {};
const STRICT = process.env.FAULTS_STRICT === '1' || LONG;

const bench = new FaultBench();
beforeAll(() => bench.prepare(), 180_000);
afterAll(() => bench.close());

describe.each(selected.map((op) => [op.name, op] as const))('%s killed half-way', (_name, op) => {
  for (const victim of op.victims) {
    const known = KNOWN[`${op.name}/${victim}`];
    const title = `kill ${victim}: nothing is left after ps -a, rm -f and rmi, no recovery command runs over 10 s`;
    (known && !STRICT ? it.skip : it)(
      `${title}${known ? ` (known: ${known})` : ''}`,
      async (ctx) => {
        const rounds: Round[] = [];
        for (const d of delaysFor(op, () => rounds.some((r) => r.killed)))
          rounds.push(await bench.round(op, victim, d));
        const lines = rounds.map((r) => `  ${describeRound(r)}`);
        console.log(`${op.name}: ${bench.durations.get(op.name)} ms unkilled\n${lines.join('\n')}`);
        expect(rounds.filter((r) => r.left.length).map(describeRound)).toEqual([]);
        // A short-lived victim (the helper of a start lives a few ms on an idle machine) can be missed
        // at every delay: then this round proved nothing, and says so as a skip, not a pass. The
        // same kills are placed deterministically (SIGSTOP) in lifecycle-faults.test.ts.
        if (!rounds.some((r) => r.killed)) ctx.skip(`the ${victim} was never there at the delays tried`);
      },
      (LONG ? 3_600 : 120) * 1000,
    );
  }
});
