// Detached containers: wall time until N containers started with `run -d` are all running, and
// resident memory per running container (its native monitor; box keeps nothing else per
// container), side by side with podman when it is installed and can run here.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, podmanEnv, which } from './lib.mjs';

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

export async function benchDetached({ count = 50, concurrency = 8 } = {}) {
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
    const names = Array.from({ length: count }, (_, i) => `bench-${i}`);
    const t0 = performance.now();
    await runAll(
      names.map((n) => [
        BOX,
        '--root',
        root,
        'run',
        '-d',
        '--network',
        'none',
        '--name',
        n,
        'bench:busybox',
        '/bin/busybox',
        'sleep',
        '1000',
      ]),
      concurrency,
    );
    const boxMs = performance.now() - t0;
    const ps = JSON.parse(
      `[${execFileSync(BOX, ['--root', root, 'inspect', ...names], { encoding: 'utf8' })
        .trim()
        .replace(/^\[|\]$/g, '')}]`,
    );
    const running = ps.filter((c) => c.State.Running).length;
    const monitors = ps.map((c) =>
      Number(fs.readFileSync(`/proc/${c.State.Pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]),
    );
    const rss = monitors.map(rssKiB);
    const perContainerKiB = rss.reduce((a, b) => a + b, 0) / rss.length;
    console.log(`\ndetached containers: ${count} x run -d (${concurrency} at a time)`);
    console.log(
      `  box: ${(boxMs / 1000).toFixed(2)} s until all ${running} running; ` +
        `monitor RSS ${perContainerKiB.toFixed(0)} KiB per container (min ${Math.min(...rss)}, max ${Math.max(...rss)})`,
    );
    console.log(`  goals: under half of podman's time for ${count}; under 1 MiB resident per container`);
    await runAll(
      names.map((n) => [BOX, '--root', root, 'rm', '-f', n]),
      concurrency,
    );
    const podman = which('podman');
    if (podman) {
      const env = podmanEnv(work);
      try {
        execFileSync(podman, ['run', '--rm', '--network', 'none', '--rootfs', rootfs, '/bin/busybox', 'true'], {
          stdio: 'pipe',
          env,
        });
        const p0 = performance.now();
        await runAll(
          names.map((n) => [
            podman,
            'run',
            '-d',
            '--network',
            'none',
            '--name',
            `box-bench-${n}`,
            '--rootfs',
            rootfs,
            '/bin/busybox',
            'sleep',
            '1000',
          ]),
          concurrency,
          env,
        );
        const podmanMs = performance.now() - p0;
        console.log(`  podman: ${(podmanMs / 1000).toFixed(2)} s; box / podman = ${(boxMs / podmanMs).toFixed(2)}`);
        await runAll(
          names.map((n) => [podman, 'rm', '-f', '-t', '0', `box-bench-${n}`]),
          concurrency,
          env,
        );
      } catch (err) {
        console.log(`  (podman left out: ${String(err.message).split('\n')[0].slice(0, 160)})`);
      }
    } else console.log('  podman is not installed: the podman ratio was not measured');
    return { boxMs, perContainerKiB };
  } finally {
    execFileSync('rm', ['-rf', work]);
  }
}
