// Start-to-exit latency of `box run --rm --network none IMAGE true`, side by side with the floor
// of any Node.js program (`node -e 0`) and, when installed, runc, crun and podman on the same
// root filesystem.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, buildAtCommit, podmanEnv, printTable, printTraceSplit, sideBySide, timeOnce, which } from './lib.mjs';

/** A root filesystem holding one static /bin/true. */
export function makeRootfs(dir) {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const src = path.join(dir, '..', 'true.c');
  fs.writeFileSync(src, 'int main(void) { return 0; }\n');
  execFileSync('cc', ['-static', '-Os', '-s', '-o', path.join(dir, 'bin', 'true'), src]);
}

function ociBundle(tool, bundle, rootfs) {
  fs.mkdirSync(bundle, { recursive: true });
  execFileSync(tool, ['spec'], { cwd: bundle });
  const cfg = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  cfg.root = { path: rootfs, readonly: false };
  cfg.process.args = ['/bin/true'];
  cfg.process.terminal = false;
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(cfg));
}

/**
 * The root filesystem of makeRootfs in work/rootfs (made on the first call), imported as
 * `bench:true` by `box` into the storage root work/`rootName`; returns the environment that points
 * box at that root.
 */
export function importTrueImage(work, box = BOX, rootName = 'box-root') {
  const rootfs = path.join(work, 'rootfs');
  const tar = path.join(work, 'rootfs.tar');
  if (!fs.existsSync(tar)) {
    makeRootfs(rootfs);
    execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
  }
  const env = { ...process.env, BOX_ROOT: path.join(work, rootName) };
  execFileSync(box, ['import', tar, 'bench:true'], { env, stdio: 'ignore' });
  return env;
}

export function benchStartLatency({ rounds }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    const env = importTrueImage(work);

    const contenders = [
      { name: 'node -e 0', run: () => timeOnce([process.execPath, '-e', '0']) },
      {
        name: 'box run',
        run: () => timeOnce([BOX, 'run', '--rm', '--network', 'none', 'bench:true', '/bin/true'], { env }),
      },
    ];
    const baseline = process.env.BENCH_BASELINE;
    const baselineName = baseline && `box run @${baseline.slice(0, 12)}`;
    if (baseline) {
      // the earlier build keeps a root of its own: its store's layout may differ from today's
      const oldBox = buildAtCommit(baseline, path.join(work, 'baseline-box'));
      const oldEnv = importTrueImage(work, oldBox, 'baseline-root');
      contenders.push({
        name: baselineName,
        run: () => timeOnce([oldBox, 'run', '--rm', '--network', 'none', 'bench:true', '/bin/true'], { env: oldEnv }),
      });
    }
    for (const tool of ['runc', 'crun']) {
      const bin = which(tool);
      if (!bin) continue;
      const bundle = path.join(work, `${tool}-bundle`);
      ociBundle(bin, bundle, rootfs);
      contenders.push({
        name: `${tool} run`,
        run: (i) => timeOnce([bin, 'run', '-b', bundle, `box-bench-${tool}-${process.pid}-${i + 10}`]),
      });
    }
    const podman = which('podman');
    if (podman) {
      contenders.push({
        name: 'podman run',
        run: () =>
          timeOnce([podman, 'run', '--rm', '--network', 'none', '--rootfs', rootfs, '/bin/true'], {
            env: podmanEnv(work),
          }),
      });
    }
    const results = sideBySide(contenders, rounds);
    printTable(`start-to-exit latency, ${rounds} rounds (true in a fresh container)`, results, 'box run');
    const box = results['box run'].median;
    const node = results['node -e 0'].median;
    console.log(`  box - node: ${(box - node).toFixed(1)} ms (goal: at most 15 ms)`);
    if (results[baselineName]) {
      const old = results[baselineName].median;
      console.log(`  box - ${baselineName}: ${(box - old).toFixed(1)} ms, ${(box / old).toFixed(2)}x (goal: no worse)`);
    }
    if (results['podman run'])
      console.log(`  box / podman: ${(box / results['podman run'].median).toFixed(2)} (goal: at most 0.5)`);
    else
      console.log(
        '  podman was not measured (not installed, or it cannot run here): the 0.5x podman goal is unchecked',
      );
    printTraceSplit(
      'where the time of `box run --rm` goes',
      [BOX, 'run', '--rm', '--network', 'none', 'bench:true', '/bin/true'],
      env,
      Math.min(rounds, 15),
    );
    return results;
  } finally {
    spawnSync('rm', ['-rf', work]);
  }
}
