// Detached containers: wall time until N containers started with `run -d` all at once are all
// running, and resident memory per running container (its native monitor; box keeps nothing else
// per container), side by side with podman when it is installed and can run here (the same image
// from its own store, and --rootfs); then 200 at once, which must all start.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, cleanRoot, median, podmanEnv, which } from './lib.mjs';

/** Runs every argv, `concurrency` at a time; rejects on the first failure. */
export function runAll(argvs, concurrency, env = process.env) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed;
    const start = () => {
      if (failed) return;
      if (next === argvs.length && running === 0) return resolve();
      while (running < concurrency && next < argvs.length) {
        const argv = argvs[next++];
        running++;
        const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.on('close', (code) => {
          running--;
          if (code !== 0) {
            failed = new Error(`${argv.join(' ')} failed (${code}): ${err}`);
            return reject(failed);
          }
          start();
        });
      }
    };
    start();
  });
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

/** Spawns every argv at once; resolves when all have exited with the wall time and the failures. */
export function launchAll(argvs, env = process.env) {
  const t0 = performance.now();
  return Promise.all(
    argvs.map(
      (argv) =>
        new Promise((resolve) => {
          const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
          let err = '';
          p.stderr.on('data', (d) => (err += d));
          p.on('error', (e) => (err += e.message));
          p.on('close', (code) => resolve(code === 0 ? undefined : `${argv.join(' ')} failed (${code}): ${err}`));
        }),
    ),
  ).then((results) => ({ ms: performance.now() - t0, failures: results.filter(Boolean) }));
}

const boxRunD = (root, name) => [
  BOX,
  '--root',
  root,
  'run',
  '-d',
  '--network',
  'none',
  '--name',
  name,
  'bench:busybox',
  '/bin/busybox',
  'sleep',
  '1000',
];

/** The containers of `names` box reports running, and their monitors' pids (inspected 25 at a time). */
function boxRunning(root, names) {
  const ps = [];
  for (let i = 0; i < names.length; i += 25) {
    const out = execFileSync(BOX, ['--root', root, 'inspect', ...names.slice(i, i + 25)], { encoding: 'utf8' });
    ps.push(...JSON.parse(out));
  }
  const running = ps.filter((c) => c.State.Running);
  return running.map((c) => Number(fs.readFileSync(`/proc/${c.State.Pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]));
}

async function removeBox(root, names) {
  const chunks = [];
  for (let i = 0; i < names.length; i += 25) chunks.push(names.slice(i, i + 25));
  await runAll(
    chunks.map((c) => [BOX, '--root', root, 'rm', '-f', ...c]),
    4,
  );
}

/** "1.23 s" */
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

/**
 * `count` containers started with `run -d` all at once (not in batches), until all run, side by
 * side with podman, in `rounds` alternated rounds (box, podman's image, podman --rootfs: each
 * round's containers removed before the next contender's); medians reported. Then `many` at once,
 * where every start must succeed.
 */
export async function benchDetached({ count = 50, many = 200, rounds = 3 } = {}) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-d-'));
  const root = path.join(work, 'root');
  try {
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    const tar = path.join(work, 'rootfs.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    execFileSync(BOX, ['--root', root, 'import', tar, 'bench:busybox'], { stdio: 'ignore' });
    execFileSync(BOX, ['--root', root, 'run', '--rm', '--network', 'none', 'bench:busybox', '/bin/busybox', 'true']);

    // Each contender: one burst of `count` with its own names, then its containers removed.
    const boxBurst = async (round) => {
      const names = Array.from({ length: count }, (_, i) => `bench-${round}-${i}`);
      const burst = await launchAll(names.map((n) => boxRunD(root, n)));
      const monitors = boxRunning(root, names);
      const rss = monitors.map(rssKiB);
      await removeBox(root, names);
      return { ...burst, running: monitors.length, rss };
    };
    const podman = which('podman');
    const env = podman ? podmanEnv(work) : undefined;
    const image = 'localhost/box-bench-detached';
    const podmanBurst = (source) => async (round) => {
      const podNames = Array.from({ length: count }, (_, i) => `box-bench-${round}-${i}`);
      const burst = await launchAll(
        podNames.map((n) => [
          podman,
          'run',
          '-d',
          '--network',
          'none',
          '--name',
          n,
          ...source,
          '/bin/busybox',
          'sleep',
          '1000',
        ]),
        env,
      );
      await runAll(
        podNames.map((n) => [podman, 'rm', '-f', '-t', '0', n]),
        8,
        env,
      );
      return burst;
    };
    // The same image in podman's own store, as box runs it from its own: both mount an overlay over
    // the image per container. --rootfs (a directory, no overlay, no image store) is shown too: it
    // is less work per container than either tool's run of an image.
    const contenders = { box: boxBurst };
    let podmanLeftOut;
    if (podman) {
      try {
        execFileSync(podman, ['import', tar, image], { stdio: 'ignore', env });
        for (const source of [[image], ['--rootfs', rootfs]])
          execFileSync(podman, ['run', '--rm', '--network', 'none', ...source, '/bin/busybox', 'true'], {
            stdio: 'pipe',
            env,
          });
        contenders.podman = podmanBurst([image]);
        contenders.podmanRootfs = podmanBurst(['--rootfs', rootfs]);
      } catch (err) {
        podmanLeftOut = String(err.message).split('\n')[0].slice(0, 160);
      }
    }
    const results = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
    for (let round = 0; round < rounds; round++)
      for (const [name, burst] of Object.entries(contenders)) {
        if (name !== 'box' && podmanLeftOut) continue;
        try {
          results[name].push(await burst(round));
        } catch (err) {
          if (name === 'box') throw err;
          podmanLeftOut = String(err.message).split('\n')[0].slice(0, 160);
        }
      }
    if (podman) spawnSync(podman, ['rmi', image], { stdio: 'ignore', env });

    const summary = (runs) => ({
      ms: median(runs.map((r) => r.ms)),
      all: runs.map((r) => seconds(r.ms)).join(', '),
      failed: runs.reduce((n, r) => n + r.failures.length, 0),
    });
    const box = summary(results.box);
    const rss = results.box.flatMap((r) => r.rss);
    const perContainerKiB = rss.reduce((a, b) => a + b, 0) / rss.length;
    const running = Math.min(...results.box.map((r) => r.running));
    console.log(
      `\ndetached containers: ${count} x run -d, all launched at once, medians of ${rounds} alternated rounds`,
    );
    console.log(
      `  box: ${seconds(box.ms)} until all exited (${box.all}), at least ${running} of ${count} running, ` +
        `${box.failed} failed; monitor RSS ${perContainerKiB.toFixed(0)} KiB per container ` +
        `(min ${Math.min(...rss)}, max ${Math.max(...rss)})`,
    );
    for (const f of results.box.flatMap((r) => r.failures).slice(0, 3))
      console.log(`    ${f.trim().split('\n').at(-1)}`);
    console.log(`  goals: under half of podman's time for ${count}; under 1 MiB resident per container`);
    if (!podmanLeftOut && results.podman?.length === rounds) {
      const pod = summary(results.podman);
      const dir = summary(results.podmanRootfs);
      console.log(
        `  podman, the same image from its store: ${seconds(pod.ms)} (${pod.all}), ${pod.failed} failed; ` +
          `box / podman = ${(box.ms / pod.ms).toFixed(2)}`,
      );
      console.log(
        `  podman --rootfs (a directory, no overlay): ${seconds(dir.ms)} (${dir.all}), ${dir.failed} failed; ` +
          `box / podman --rootfs = ${(box.ms / dir.ms).toFixed(2)}`,
      );
    } else if (podman) console.log(`  (podman left out: ${podmanLeftOut})`);
    else console.log('  podman is not installed: the podman ratio was not measured');
    let manyMs;
    if (many > 0) {
      const manyNames = Array.from({ length: many }, (_, i) => `many-${i}`);
      const all = await launchAll(manyNames.map((n) => boxRunD(root, n)));
      const running = boxRunning(root, manyNames).length;
      manyMs = all.ms;
      console.log(
        `  ${many} at once: ${(all.ms / 1000).toFixed(2)} s, ${running} running, ${all.failures.length} failed ` +
          '(goal: none)',
      );
      for (const f of all.failures.slice(0, 3)) console.log(`    ${f.trim().split('\n').at(-1)}`);
      await removeBox(root, manyNames);
    }
    return { boxMs: box.ms, perContainerKiB, manyMs };
  } finally {
    cleanRoot(root); // every container, even after a failure, before its root goes
    execFileSync('rm', ['-rf', work]);
  }
}
