// box as an OCI runtime against runc and crun: the lifecycle a container engine drives for every
// container (create, start, state, kill, delete) of one busybox bundle (`runc spec`'s, running
// `sleep`), each step timed on its own, medians per step and of the whole. Contenders:
// box-runc as `box system install-runtime` installs it (the native helper, which answers all but
// create and runs box for that), box-runc as a link to box (every step a Node.js start, how it
// ran before), runc, crun. Then `podman run --rm` of the same root filesystem with box-runc and
// with runc as podman's runtime. Rounds alternate the contenders, so the machine's drift touches
// them alike; a contender that cannot run here is left out with its reason.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, median, podmanEnv, printTable, sideBySide, timeOnce, which } from './lib.mjs';

const STEPS = ['create', 'start', 'state', 'kill', 'delete'];

function busyboxRootfs(rootfs) {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'sleep', 'true']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
}

/** runc spec's bundle (written out here if runc is missing), detached and running sleep. */
function bundleAt(bundle, rootfs) {
  fs.mkdirSync(bundle, { recursive: true });
  const runc = which('runc');
  if (runc) execFileSync(runc, ['spec'], { cwd: bundle });
  const cfg = runc
    ? JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'))
    : {
        ociVersion: '1.0.2',
        process: { user: { uid: 0, gid: 0 }, env: ['PATH=/bin'], cwd: '/' },
        mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
        linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
      };
  cfg.root = { path: rootfs, readonly: true };
  cfg.process.terminal = false;
  cfg.process.args = ['sleep', '1000'];
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(cfg));
}

/** Runs one step; create's stdio is the container's, so nothing of ours may be a pipe it keeps. */
function timeStep(argv, errFile, env) {
  const err = fs.openSync(errFile, 'w');
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', err], env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  fs.closeSync(err);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${fs.readFileSync(errFile, 'utf8')}`);
  return ms;
}

/** One lifecycle with `bin`; the ms of each step. */
function lifecycle(c, bundle, i, work) {
  const id = `bench-oci-${c.tag}-${process.pid}-${i + 10}`;
  const run = (...args) => timeStep([c.bin, '--root', c.root, ...args], path.join(work, 'err'), c.env);
  try {
    return [
      run('create', '--bundle', bundle, id),
      run('start', id),
      run('state', id),
      run('kill', id, 'KILL'),
      run('delete', '--force', id),
    ];
  } catch (err) {
    spawnSync(c.bin, ['--root', c.root, 'delete', '--force', id], { stdio: 'ignore', env: c.env });
    throw err;
  }
}

export function benchOci({ rounds }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-oci-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    busyboxRootfs(rootfs);
    const bundle = path.join(work, 'bundle');
    bundleAt(bundle, rootfs);
    const env = { ...process.env, BOX_ROOT: path.join(work, 'box-root') };
    const fast = path.join(work, 'fast');
    execFileSync(BOX, ['system', 'install-runtime', '--dir', fast], { stdio: 'ignore' });
    const slow = path.join(work, 'node', 'box-runc');
    fs.mkdirSync(path.dirname(slow));
    fs.symlinkSync(BOX, slow);
    const contenders = [
      { name: 'box-runc', tag: 'box', bin: path.join(fast, 'box-runc'), env },
      { name: 'box-runc via Node', tag: 'node', bin: slow, env },
      ...['runc', 'crun'].filter(which).map((tool) => ({ name: tool, tag: tool, bin: which(tool), env: process.env })),
    ];
    for (const c of contenders) c.root = path.join(work, `state-${c.tag}`);

    // every step of every round, per contender; sideBySide times the whole and keeps the steps
    const steps = Object.fromEntries(contenders.map((c) => [c.name, []]));
    const results = sideBySide(
      contenders.map((c) => ({
        name: c.name,
        run: (i) => {
          const ms = lifecycle(c, bundle, i, work);
          if (i >= 0) steps[c.name].push(ms);
          return ms.reduce((a, b) => a + b, 0);
        },
      })),
      rounds,
      2,
    );
    console.log(`\nOCI lifecycle of a busybox bundle, ${rounds} rounds: median ms per step`);
    const names = Object.keys(results);
    const head = ['step', ...names];
    const rows = STEPS.map((s, k) => [s, ...names.map((n) => median(steps[n].map((r) => r[k])).toFixed(1))]);
    rows.push(['whole', ...names.map((n) => results[n].median.toFixed(1))]);
    if (results.runc)
      rows.push(['vs runc', ...names.map((n) => `${(results[n].median / results.runc.median).toFixed(2)}x`)]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const row of [head, ...rows]) console.log(`  ${row.map((c, i) => c.padEnd(widths[i] + 2)).join('')}`);

    const podman = which('podman');
    if (podman && which('runc')) {
      const penv = { ...podmanEnv(work), BOX_ROOT: env.BOX_ROOT };
      const global = ['--root', `${work}/podman`, '--runroot', `${work}/podman-run`, '--tmpdir', `${work}/podman-tmp`];
      const host = ['--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
      const podmanRun = (runtime) => () =>
        timeOnce(
          [podman, ...global, ...runtime, ...host, 'run', '--rm', '--network', 'none', '--rootfs', rootfs, 'true'],
          {
            env: penv,
          },
        );
      const viaPodman = sideBySide(
        [
          {
            name: 'podman + box-runc',
            run: podmanRun(['--runtime', path.join(fast, 'box-runc'), '--runtime-flag', `box-root=${env.BOX_ROOT}`]),
          },
          { name: 'podman + runc', run: podmanRun(['--runtime', which('runc')]) },
        ],
        rounds,
      );
      printTable(`podman run --rm of the busybox root filesystem, ${rounds} rounds`, viaPodman, 'podman + runc');
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
