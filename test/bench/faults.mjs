// The long fault-injection run: test/integration/faults.test.ts with FAULTS=long, i.e. every
// operation and every victim killed at FAULT_DELAYS delays (default 8) spread over the
// operation's measured duration, one line per (operation, victim, delay) with what was left.
// Long (about 20 minutes, measured 2026-12-04 on the 2-core dev VM), so `npm run bench` runs it
// only when asked: `BENCH_ONLY=faults npm run bench`. FAULT_OPS (names separated by commas)
// narrows it down.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO } from './lib.mjs';

export function benchFaults() {
  console.log('\nfault injection (SIGKILL of box, helper, monitor, exit callback; ps -a, rm -f, rmi; the inventory)');
  const vitest = path.join(REPO, 'node_modules', '.bin', 'vitest');
  const r = spawnSync(vitest, ['run', 'test/integration/faults.test.ts'], {
    cwd: REPO,
    stdio: 'inherit',
    env: { ...process.env, FAULTS: 'long' },
  });
  if (r.status !== 0) console.log(`  faults: some rounds left something (vitest exited ${r.status}); see above`);
}
