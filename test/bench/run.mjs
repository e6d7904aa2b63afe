#!/usr/bin/env node
// `npm run bench`: box's benchmarks, each reporting medians and ratios against peers measured side
// by side in the same run. BENCH_ROUNDS sets the number of measured rounds (default 25).
import { benchDetached } from './detached.mjs';
import { benchPolicies } from './policy.mjs';
import { benchPull } from './pull.mjs';
import { benchStartLatency } from './start-latency.mjs';

if (process.getuid?.() !== 0) {
  console.error('bench: run as root (containers need namespaces and cgroups)');
  process.exit(1);
}
const rounds = Number(process.env.BENCH_ROUNDS ?? 25);
benchStartLatency({ rounds });
benchPolicies({ rounds });
await benchPull({ rounds });
await benchDetached({ count: Number(process.env.BENCH_CONTAINERS ?? 50) });
