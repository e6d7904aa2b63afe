// CPU time of a start: the user + system time of every process `box run -d` involves (box, the
// helper, the monitor it leaves running), from the kernel's accounting, against `node -e 0`'s.
// Each measured command runs alone in a new cgroup of its own: a shell moves itself there and
// execs the command, so everything it forks is counted, except the container's init, which box
// moves into the container's cgroup before it runs anything. Both contenders pay the same shell.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, median, pairedExtra } from './lib.mjs';
import { importTrueImage } from './start-latency.mjs';

/**
 * Where CPU time is counted: cgroup v1's cpuacct (nanoseconds) or, on a pure cgroup v2 host,
 * the unified tree's cpu.stat (microseconds). On a hybrid host the v2 tree would also count the
 * container, which box places in the v1 hierarchies only.
 */
function cpuAccounting() {
  for (const dir of ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct']) {
    if (fs.existsSync(path.join(dir, 'cpuacct.usage_user'))) {
      const ms = (cg, f) => Number(fs.readFileSync(path.join(cg, f), 'utf8')) / 1e6;
      // the total is the scheduler's exact runtime; its split into user and system is sampled at ticks
      const read = (cg) => ({
        total: ms(cg, 'cpuacct.usage'),
        user: ms(cg, 'cpuacct.usage_user'),
        system: ms(cg, 'cpuacct.usage_sys'),
      });
      return { dir, read };
    }
  }
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return {
      dir: '/sys/fs/cgroup',
      read: (cg) => {
        const stat = fs.readFileSync(path.join(cg, 'cpu.stat'), 'utf8');
        const us = (key) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(stat)[1]) / 1000;
        return { total: us('usage_usec'), user: us('user_usec'), system: us('system_usec') };
      },
    };
  }
  return undefined;
}

/** Runs argv in a new cgroup under `acct.dir`; returns its CPU time once argv has exited. */
function cpuOf(acct, argv, env, tag) {
  const cg = path.join(acct.dir, `box-bench-cpu-${process.pid}-${tag}`);
  fs.mkdirSync(cg);
  const r = spawnSync('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg, ...argv], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ...acct.read(cg), stdout: r.stdout, stderr: r.stderr, cgroup: cg };
}

/** Removes a measured cgroup once what it counted has gone (a container's monitor after rm -f). */
function removeCgroup(cg) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return fs.rmdirSync(cg);
    } catch (err) {
      if (err.code !== 'EBUSY' || Date.now() > deadline) throw err;
      spawnSync('sleep', ['0.02']); // the monitor is still exiting: poll, bounded
    }
  }
}

export function benchCpu({ rounds }) {
  const acct = cpuAccounting();
  if (!acct) return console.log('\nCPU time per start: no cpuacct or cgroup v2 accounting here, not measured');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-cpu-'));
  const env = importTrueImage(work);
  // a container that stays running, so its monitor is there to count (static, like /bin/true)
  const pauseSrc = path.join(work, 'pause.c');
  fs.writeFileSync(pauseSrc, '#include <unistd.h>\nint main(void) { pause(); return 0; }\n');
  const rootfs = path.join(work, 'rootfs');
  spawnSync('cc', ['-static', '-Os', '-s', '-o', path.join(rootfs, 'bin', 'pause'), pauseSrc]);
  spawnSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', path.join(work, 'pause.tar'), '.']);
  spawnSync(BOX, ['import', path.join(work, 'pause.tar'), 'bench:pause'], { env, stdio: 'ignore' });
  const samples = { node: [], box: [], boxOwn: [], user: [], system: [], policy: [], strict: [], limited: [] };
  try {
    for (let i = -2; i < rounds; i++) {
      const node = cpuOf(acct, [process.execPath, '-e', '0'], env, `node-${i + 2}`);
      removeCgroup(node.cgroup);
      const box = cpuOf(
        acct,
        [BOX, 'run', '-d', '--network', 'none', 'bench:pause', '/bin/pause'],
        { ...env, BOX_TRACE: '1' },
        `box-${i + 2}`,
      );
      spawnSync(BOX, ['rm', '-f', box.stdout.trim()], { env, stdio: 'ignore' });
      removeCgroup(box.cgroup);
      // The policy's cost: the same start (same limits, no trace) with and without --policy (each
      // built-in), a start as strict requires it (limits, non-root, a read-only root: strict would
      // otherwise make the root read-only, whose remount is the container's cost, not the policy's).
      // The three take turns at going first, so that none always follows the same one.
      const limits = ['--memory', '64m', '--pids-limit', '100', '--cpus', '0.5', '--user', '1000:1000', '--read-only'];
      const limitedArgv = [BOX, 'run', '-d', '--network', 'none', ...limits];
      const image = ['bench:pause', '/bin/pause'];
      const variants = [
        ['limited', []],
        ['policy', ['--policy', 'baseline']],
        ['strict', ['--policy', 'strict']],
      ];
      const first = (i + 2) % variants.length;
      const got = {};
      for (const [name, policy] of [...variants.slice(first), ...variants.slice(0, first)]) {
        const r = cpuOf(acct, [...limitedArgv, ...policy, ...image], env, `${name}-${i + 2}`);
        spawnSync(BOX, ['rm', '-f', r.stdout.trim()], { env, stdio: 'ignore' });
        removeCgroup(r.cgroup);
        got[name] = r;
      }
      const { limited, policy, strict } = got;
      if (i < 0) continue; // warm-up
      samples.policy.push(policy.total);
      samples.strict.push(strict.total);
      samples.limited.push(limited.total);
      samples.node.push(node.total);
      samples.box.push(box.total);
      samples.user.push(box.user);
      samples.system.push(box.system);
      const own = /cpu: user ([\d.]+) ms, system ([\d.]+) ms/.exec(box.stderr);
      if (own) samples.boxOwn.push(Number(own[1]) + Number(own[2]));
    }
  } finally {
    // A start that failed threw before its cgroup and container were removed: both go here.
    const left = spawnSync(BOX, ['ps', '-aq'], { env, encoding: 'utf8' }).stdout?.trim().split('\n').filter(Boolean);
    if (left?.length) spawnSync(BOX, ['rm', '-f', ...left], { env, stdio: 'ignore' });
    for (const name of fs.readdirSync(acct.dir))
      if (name.startsWith(`box-bench-cpu-${process.pid}-`)) removeCgroup(path.join(acct.dir, name));
    spawnSync('rm', ['-rf', work]);
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
  console.log(`\nCPU time per start (user + system from ${acct.dir}, medians of ${rounds} side by side)`);
  console.log(`  node -e 0: ${m.node.toFixed(1)} ms`);
  console.log(
    `  box run -d (box, helper, monitor): ${m.box.toFixed(1)} ms (at ticks: user ${m.user.toFixed(0)}, ` +
      `system ${m.system.toFixed(0)}); box's process alone ${m.boxOwn.toFixed(1)} ms (its own getrusage)`,
  );
  console.log(`  box / node: ${(m.box / m.node).toFixed(2)}x (goal: at most 1.5x)`);
  for (const [name, key] of [
    ['baseline', 'policy'],
    ['strict', 'strict'],
  ]) {
    const e = pairedExtra(samples[key], samples.limited);
    console.log(
      `  with --policy ${name}: ${m[key].toFixed(1)} ms against ${m.limited.toFixed(1)} ms for the same start ` +
        `without it, +${e.ofMedians.toFixed(1)} ms (${e.ofMediansPct.toFixed(1)}%) between the medians, ` +
        `+${e.paired.toFixed(1)} ms (${e.pairedPct.toFixed(1)}%) the median of each round's difference (goal: at most 5%)`,
    );
  }
  return m;
}
