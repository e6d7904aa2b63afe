// Shared benchmark helpers: timing of whole commands, medians, side-by-side tables.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
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
 */
export function sideBySide(contenders, rounds, warmup = 3) {
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
  for (let i = 0; i < rounds; i++) for (const c of contenders) samples[c.name].push(c.run(i));
  return Object.fromEntries(
    contenders.map((c) => [
      c.name,
      { median: median(samples[c.name]), min: Math.min(...samples[c.name]), runs: rounds },
    ]),
  );
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
 * `dir` sets them to the hard limits the machine allows.
 */
export function podmanEnv(dir) {
  const hard = (flag) => Number(spawnSync('bash', ['-c', `ulimit -H${flag}`], { encoding: 'utf8' }).stdout.trim());
  const nofile = hard('n');
  const nproc = Math.min(hard('u'), 32768);
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n`);
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
}
