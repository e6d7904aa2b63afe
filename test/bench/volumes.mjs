// What volumes cost (issue 11): the start-to-exit latency of `box run --rm IMAGE true` with 5 bind
// mounts and 2 volumes against none (goal: under 5 ms more), and the copy-up of a 10,000-file image
// directory into a new volume, against podman's when it is installed and can run here.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, cleanRoot, podmanEnv, printTable, sideBySide, timeOnce, which } from './lib.mjs';
import { importTrueImage, makeRootfs } from './start-latency.mjs';

const FILES = 10_000;

/** makeRootfs plus /data holding FILES small files in 100 directories, imported as bench:data. */
function importDataImage(work, env) {
  const rootfs = path.join(work, 'data-rootfs');
  makeRootfs(rootfs);
  for (let d = 0; d < 100; d++) {
    const dir = path.join(rootfs, 'data', String(d));
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES / 100; f++) fs.writeFileSync(path.join(dir, `f${f}`), `file ${d}/${f}\n`);
  }
  const tar = path.join(work, 'data.tar');
  execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
  execFileSync(BOX, ['import', tar, 'bench:data'], { env, stdio: 'ignore' });
  return rootfs;
}

export function benchVolumes({ rounds }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-vol-'));
  try {
    const env = importTrueImage(work);
    const binds = [];
    for (let i = 0; i < 5; i++) {
      const dir = path.join(work, `bind${i}`);
      fs.mkdirSync(dir);
      binds.push('-v', `${dir}:/b${i}:ro`);
    }
    const run = (extra) =>
      timeOnce([BOX, 'run', '--rm', '--network', 'none', ...extra, 'bench:true', '/bin/true'], { env });
    const start = sideBySide(
      [
        { name: 'no mounts', run: () => run([]) },
        { name: '5 binds + 2 volumes', run: () => run([...binds, '-v', 'bench1:/v1', '-v', 'bench2:/v2']) },
      ],
      rounds,
    );
    printTable(`start-to-exit latency with mounts, ${rounds} rounds`, start, 'no mounts');
    const extra = start['5 binds + 2 volumes'].median - start['no mounts'].median;
    console.log(`  mounts add ${extra.toFixed(1)} ms (goal: under 5 ms)`);

    const rootfs = importDataImage(work, env);
    const copyRounds = Math.max(3, Math.round(rounds / 5));
    const contenders = [
      {
        name: 'box, no copy-up (nocopy)',
        run: (i) =>
          timeOnce([BOX, 'run', '--rm', '-v', `nc${i + 10}:/data:nocopy`, 'bench:data', '/bin/true'], { env }),
      },
      {
        name: `box, copy-up of ${FILES} files`,
        run: (i) => timeOnce([BOX, 'run', '--rm', '-v', `cu${i + 10}:/data`, 'bench:data', '/bin/true'], { env }),
      },
    ];
    const podman = which('podman');
    if (podman) {
      contenders.push({
        name: `podman, copy-up of ${FILES} files`,
        run: (i) =>
          timeOnce(
            [podman, 'run', '--rm', '-v', `boxbench${process.pid}-${i + 10}:/data`, '--rootfs', rootfs, '/bin/true'],
            { env: podmanEnv(work) },
          ),
      });
    }
    const copy = sideBySide(contenders, copyRounds, 1);
    printTable(`copy-up into a new volume, ${copyRounds} rounds`, copy, `box, copy-up of ${FILES} files`);
    if (!podman) console.log('  podman was not measured (not installed): the side-by-side copy-up figure is unchecked');
    return { start, copy };
  } finally {
    const podmanVolumes = which('podman')
      ? spawnSync('podman', ['volume', 'ls', '-q'], { encoding: 'utf8' }).stdout.split('\n')
      : [];
    const ours = podmanVolumes.filter((v) => v.startsWith(`boxbench${process.pid}-`));
    if (ours.length) spawnSync('podman', ['volume', 'rm', '-f', ...ours], { stdio: 'ignore' });
    spawnSync(BOX, ['volume', 'prune', '-a'], {
      env: { ...process.env, BOX_ROOT: path.join(work, 'box-root') },
      stdio: 'ignore',
    });
    cleanRoot(path.join(work, 'box-root'));
    spawnSync('rm', ['-rf', work]);
  }
}
