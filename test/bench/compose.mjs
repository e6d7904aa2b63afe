// Compose projects: wall time of `box compose up -d --wait` for 20 independent services and for a
// 3-level chain gated on service_healthy, side by side with one `box run -d` and 20 sequential ones,
// and with podman-compose (Debian's package) on the same files when it is installed and can run.
// Each round ends with `down`, which is not timed. Goal (issue 12): 20 independent services up in
// under twice the time of a single `box run -d`.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, cleanRoot, printTable, sideBySide, timeOnce, which } from './lib.mjs';

const independent = (image) =>
  `services:\n${Array.from({ length: 20 }, (_, i) => `  s${i}: {image: ${image}, command: sleep 1000, init: true}\n`).join('')}`;

const chain = (image) => {
  const health = '{test: test -f /tmp/up, interval: 100ms, start_interval: 100ms, start_period: 10s}';
  const level = (name, dep) =>
    `  ${name}:\n    image: ${image}\n    command: sh -c 'touch /tmp/up; exec sleep 1000'\n    init: true\n` +
    `    healthcheck: ${health}\n` +
    (dep ? `    depends_on: {${dep}: {condition: service_healthy}}\n` : '');
  return `services:\n${level('a')}${level('b', 'a')}${level('c', 'b')}`;
};

export function benchCompose({ rounds }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-compose-'));
  const root = path.join(work, 'root');
  const box = (...args) => [BOX, '--root', root, ...args];
  try {
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(rootfs, 'tmp'));
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'sleep', 'touch', 'test']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    const tar = path.join(work, 'rootfs.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    execFileSync(BOX, ['--root', root, 'import', tar, 'bench:busybox'], { stdio: 'ignore' });
    const files = {};
    for (const [name, text] of [
      ['independent', independent('bench:busybox')],
      ['chain', chain('bench:busybox')],
    ]) {
      fs.mkdirSync(path.join(work, name));
      files[name] = path.join(work, name, 'compose.yaml');
      fs.writeFileSync(files[name], text);
    }
    const composeUp = (file) => () => {
      const ms = timeOnce(box('compose', '-f', file, 'up', '-d', '--wait'));
      timeOnce(box('compose', '-f', file, 'down', '-t', '0'));
      return ms;
    };
    const runOne = () => {
      const ms = timeOnce(box('run', '-d', '--name', 'one', '--init', 'bench:busybox', 'sleep', '1000'));
      timeOnce(box('rm', '-f', 'one'));
      return ms;
    };
    const runTwenty = () => {
      let ms = 0;
      for (let i = 0; i < 20; i++)
        ms += timeOnce(box('run', '-d', '--name', `r${i}`, '--init', 'bench:busybox', 'sleep', '1000'));
      timeOnce(box('rm', '-f', ...Array.from({ length: 20 }, (_, i) => `r${i}`)));
      return ms;
    };
    const contenders = [
      { name: 'box run -d (1)', run: runOne },
      { name: 'box compose up 20', run: composeUp(files.independent) },
      { name: 'box run -d x20 sequential', run: runTwenty },
      { name: 'box compose up chain of 3 healthy', run: composeUp(files.chain) },
    ];
    const podmanCompose = which('podman-compose');
    if (podmanCompose) {
      // podman-compose calls podman once per container: the same files, with the image podman's own
      const image = 'localhost/bench-busybox';
      spawnSync('podman', ['import', tar, image], { stdio: 'ignore' });
      for (const [name, text] of [
        ['independent', independent(image)],
        ['chain', chain(image)],
      ]) {
        const file = path.join(work, name, 'podman-compose.yaml');
        fs.writeFileSync(file, text);
        contenders.push({
          name: `podman-compose up ${name}`,
          run: () => {
            const ms = timeOnce([podmanCompose, '-f', file, 'up', '-d']);
            timeOnce([podmanCompose, '-f', file, 'down', '-t', '0']);
            return ms;
          },
        });
      }
    }
    const results = sideBySide(contenders, rounds, 1);
    printTable('compose up -d --wait (ms; down not timed)', results, 'box run -d (1)');
    const ratio = results['box compose up 20'].median / results['box run -d (1)'].median;
    console.log(`  20 services / one run -d: ${ratio.toFixed(2)}x (goal: under 2x)`);
    if (!podmanCompose)
      console.log('  podman-compose was not measured (not installed: apt-get install podman-compose)');
  } finally {
    for (const file of [path.join(work, 'independent', 'compose.yaml'), path.join(work, 'chain', 'compose.yaml')])
      spawnSync(BOX, ['--root', root, 'compose', '-f', file, 'down', '-t', '0'], { stdio: 'ignore' });
    cleanRoot(root); // its default bridge, nftables table and tag claim (made by the run -d rounds)
    fs.rmSync(work, { recursive: true, force: true });
  }
}
