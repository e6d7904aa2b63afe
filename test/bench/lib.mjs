// Shared benchmark helpers: timing of whole commands, medians, side-by-side tables.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const BOX = process.env.BOX_BIN ?? path.join(REPO, 'dist', 'box');

export function which(cmd) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/**
 * box's executable as built from an earlier commit, for a side-by-side with the current one: the
 * commit is checked out in a temporary git worktree of this repository, its dependencies installed
 * and built there, and its dist/box copied to `dest`; the worktree is removed again. Returns dest.
 */
export function buildAtCommit(commit, dest) {
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'box-baseline-'));
  const run = (cmd, args, cwd) => {
    const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`baseline ${commit}: ${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  };
  try {
    run('git', ['worktree', 'add', '--detach', tree, commit], REPO);
    console.log(`  (building the baseline ${commit} in ${tree})`);
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], tree);
    run(process.execPath, ['build/build.mjs'], tree);
    fs.copyFileSync(path.join(tree, 'dist', 'box'), dest);
    fs.chmodSync(dest, 0o755);
    return dest;
  } finally {
    spawnSync('git', ['worktree', 'remove', '--force', tree], { cwd: REPO, stdio: 'ignore' });
    fs.rmSync(tree, { recursive: true, force: true });
  }
}

/** Runs argv once and returns wall time in ms; throws if it fails. */
export function timeOnce(argv, opts = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...opts });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures several contenders side by side: each round runs every contender once, in turn, so
 * drift of the machine affects all of them alike. `contenders` is [{ name, run: (i) => ms }].
 * `rotate`: round i starts with contender i (mod their number), so that none always runs right
 * after the same other one (what a start leaves behind, a cold cache, lands on each alike).
 * Each result keeps its samples in round order, for paired differences (pairedExtra).
 */
export function sideBySide(contenders, rounds, warmup = 3, { rotate = false } = {}) {
  // A peer that cannot run here (e.g. a cgroup layout it refuses) is reported and left out.
  contenders = contenders.filter((c) => {
    try {
      for (let i = 0; i < warmup; i++) c.run(-1 - i);
      return true;
    } catch (err) {
      console.log(`  (${c.name} left out: ${String(err.message).split('\n')[0].slice(0, 160)})`);
      return false;
    }
  });
  const samples = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let i = 0; i < rounds; i++) {
    const first = rotate ? i % contenders.length : 0;
    for (const c of [...contenders.slice(first), ...contenders.slice(0, first)]) samples[c.name].push(c.run(i));
  }
  return Object.fromEntries(
    contenders.map((c) => [
      c.name,
      { median: median(samples[c.name]), min: Math.min(...samples[c.name]), runs: rounds, samples: samples[c.name] },
    ]),
  );
}

/**
 * What `with` adds to `without`, both sample lists in round order: the difference of their medians,
 * and the median of each round's own difference (the two ran in the same round, so a drift of the
 * machine between rounds cancels out); each also as a share of `without`'s median.
 */
export function pairedExtra(withSamples, withoutSamples) {
  const base = median(withoutSamples);
  const ofMedians = median(withSamples) - base;
  const paired = median(withSamples.map((x, i) => x - withoutSamples[i]));
  const pct = (ms) => (ms / base) * 100;
  return { base, ofMedians, paired, ofMediansPct: pct(ofMedians), pairedPct: pct(paired) };
}

export function printTable(title, results, baseline) {
  console.log(`\n${title}`);
  const base = results[baseline]?.median;
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    r.median.toFixed(1),
    r.min.toFixed(1),
    base ? (r.median / base).toFixed(2) + 'x' : '',
  ]);
  const head = ['contender', 'median ms', 'min ms', `vs ${baseline}`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [head, ...rows]) console.log('  ' + row.map((c, i) => c.padEnd(widths[i] + 2)).join(''));
}

/**
 * The environment podman needs on this VM (ARCHITECTURE.md, fact 9): its default rlimits
 * (nofile/nproc 1048576) are above what a process may raise here, so a containers.conf under
 * `dir` sets them to the hard limits the machine allows, and picks runc as its OCI runtime.
 */
export function podmanEnv(dir) {
  const hard = (flag) => Number(spawnSync('bash', ['-c', `ulimit -H${flag}`], { encoding: 'utf8' }).stdout.trim());
  const nofile = hard('n');
  const nproc = Math.min(hard('u'), 32768);
  const conf = path.join(dir, 'containers.conf');
  // crun, podman's default runtime, refuses this VM's hybrid cgroup layout, and the fix changes the
  // host (ARCHITECTURE.md, fact 9): podman runs its containers with runc.
  fs.writeFileSync(
    conf,
    `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n` +
      '[engine]\nruntime = "runc"\n',
  );
  return { ...process.env, CONTAINERS_CONF: conf };
}

/** Removes every container of the root, then the host-global objects its networks made. */
export function cleanRoot(root) {
  const ids =
    spawnSync(BOX, ['--root', root, 'ps', '-aq'], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
  if (ids.length) spawnSync(BOX, ['--root', root, 'rm', '-f', ...ids], { stdio: 'ignore' });
  spawnSync(BOX, ['--root', root, 'network', 'prune', '-f'], { stdio: 'ignore' });
  // the default bridge and the nftables table stay with a root (as docker0 does): named by its tag
  const tag = createHash('sha256').update(root).digest('hex').slice(0, 4);
  for (const link of fs.readdirSync('/sys/class/net').filter((l) => l.startsWith(`bx${tag}`)))
    spawnSync('ip', ['link', 'del', link]);
  spawnSync('nft', ['delete', 'table', 'inet', `box-${tag}`], { stdio: 'ignore' });
  // and its claim of that tag (src/network/tag-claims.ts), if the claim is still this root's
  const claim = path.join('/run/box-root-tags', tag);
  try {
    if (fs.readFileSync(claim, 'utf8') === root) fs.rmSync(claim);
  } catch {
    /* never claimed */
  }
}

/**
 * Where a box command's time goes: runs argv `rounds` times with BOX_TRACE=1 (and BOX_TRACE_T0,
 * the spawn time on process.hrtime's clock, so the trace starts at the exec) and prints the
 * median time of each step of the trace (and the CPU time box spent in it), and its median CPU time.
 * `only`: a pattern of the steps to print (the time since the exec still counts every step).
 */
export function printTraceSplit(title, argv, env, rounds, { only } = {}) {
  const steps = new Map(); // label -> [ms spent in that step]
  const cpu = [];
  for (let i = 0; i < rounds; i++) {
    const r = spawnSync(argv[0], argv.slice(1), {
      env: { ...env, BOX_TRACE: '1', BOX_TRACE_T0: String(process.hrtime.bigint()) },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
    let cpuBefore = 0;
    for (const m of r.stderr.matchAll(/^ +[\d.-]+ ms +\+ *([\d.-]+) +(.+?)(?: {2}\[cpu ([\d.]+)\])?$/gm)) {
      if (!steps.has(m[2])) steps.set(m[2], { ms: [], cpu: [] });
      steps.get(m[2]).ms.push(Number(m[1]));
      if (m[3] === undefined) continue;
      steps.get(m[2]).cpu.push(Number(m[3]) - cpuBefore); // node's own steps before the first have no figure
      cpuBefore = Number(m[3]);
    }
    const c = /cpu: user ([\d.]+) ms, system ([\d.]+) ms/.exec(r.stderr);
    if (c) cpu.push(Number(c[1]) + Number(c[2]));
  }
  console.log(`\n${title} (BOX_TRACE=1, medians of ${rounds} runs, each step's own time)`);
  let total = 0;
  for (const [label, { ms, cpu }] of steps) {
    const m = median(ms);
    total += m;
    if (only && !only.test(label)) continue;
    // (a policy's steps last 0.01-0.3 ms: a step's wall time beyond its CPU time is a wait)
    const cpuColumn = cpu.length ? `  [cpu +${median(cpu).toFixed(2)}]` : '';
    console.log(`  ${total.toFixed(1).padStart(7)} ms  +${m.toFixed(2).padStart(6)}  ${label}${cpuColumn}`);
  }
  if (cpu.length) console.log(`  box's own CPU time (user + system): ${median(cpu).toFixed(1)} ms`);
}
