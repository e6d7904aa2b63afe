#!/usr/bin/env node
// `npm run bench`: box's benchmarks, each reporting medians and ratios against peers measured side
// by side in the same run. BENCH_ROUNDS sets the number of measured rounds (default 25).
// BENCH_ONLY (names separated by commas: start, cpu, policy, pull, detached, network, volumes,
// compose, oci, build, faults) runs only those;
// the long fault-injection run (faults.mjs) runs only when named there.
import { benchBuild } from './build.mjs';
import { benchCompose } from './compose.mjs';
import { benchCpu } from './cpu.mjs';
import { benchDetached } from './detached.mjs';
import { benchFaults } from './faults.mjs';
import { benchNetwork } from './network.mjs';
import { benchOci } from './oci.mjs';
import { benchPolicies } from './policy.mjs';
import { benchPull } from './pull.mjs';
import { benchStartLatency } from './start-latency.mjs';
import { benchVolumes } from './volumes.mjs';

if (process.getuid?.() !== 0) {
  console.error('bench: run as root (containers need namespaces and cgroups)');
  process.exit(1);
}
const rounds = Number(process.env.BENCH_ROUNDS ?? 25);
const only = process.env.BENCH_ONLY?.split(',');
const wanted = (name) => (only ? only.includes(name) : name !== 'faults');
if (wanted('start')) benchStartLatency({ rounds });
// (15 rounds by default: five starts each; BENCH_CPU_ROUNDS for more, e.g. to resolve a policy's ~1.5 ms)
if (wanted('cpu')) benchCpu({ rounds: Number(process.env.BENCH_CPU_ROUNDS ?? Math.min(rounds, 15)) });
if (wanted('policy')) benchPolicies({ rounds });
if (wanted('pull')) await benchPull({ rounds });
if (wanted('detached'))
  await benchDetached({
    count: Number(process.env.BENCH_CONTAINERS ?? 50),
    many: Number(process.env.BENCH_MANY ?? 200),
    rounds: Math.min(rounds, 5),
  });
if (wanted('network')) await benchNetwork({ rounds, count: Number(process.env.BENCH_CONTAINERS ?? 50) });
if (wanted('volumes')) benchVolumes({ rounds });
if (wanted('compose')) benchCompose({ rounds: Math.min(rounds, 10) });
if (wanted('oci')) benchOci({ rounds });
if (wanted('build')) benchBuild({ rounds: Math.min(rounds, 10) });
if (wanted('faults')) benchFaults();
