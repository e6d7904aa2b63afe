// Pulling: a multi-layer image of about 100 MB from a local docker-registry (127.0.0.1) into an
// empty store, `box pull` (download + digest check + unpack) side by side with `podman pull`
// (the same work, into a fresh storage of its own) and `skopeo copy` into an OCI directory
// (download only); and box's unpacking (`box load` of the same image as an
// OCI archive) side by side with GNU tar extracting the same layers. Skipped when docker-registry,
// skopeo or umoci is missing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOX, podmanEnv, printTable, printTraceSplit, sideBySide, timeOnce, which } from './lib.mjs';

const LAYERS = 5;
const LAYER_MB = 20;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  fs.mkdirSync(path.join(dir, 'storage'), { recursive: true });
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n' +
      `storage:\n  filesystem:\n    rootdirectory: ${dir}/storage\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  // Ready when it accepts connections.
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return { proc, host: `127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 50)); // polling for the listener, bounded
  }
  proc.kill();
  throw new Error('docker-registry did not start');
}

/** An OCI layout with LAYERS layers of LAYER_MB of incompressible data in many files. */
function makeImage(work) {
  const layout = path.join(work, 'layout');
  const bundle = path.join(work, 'bundle');
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:v1`]);
  for (let l = 0; l < LAYERS; l++) {
    fs.rmSync(bundle, { recursive: true, force: true });
    execFileSync('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    const dir = path.join(bundle, 'rootfs', `layer${l}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < LAYER_MB * 4; f++) fs.writeFileSync(path.join(dir, `f${f}`), crypto.randomBytes(256 * 1024));
    execFileSync('umoci', ['repack', '--image', `${layout}:v1`, bundle]);
  }
  fs.rmSync(bundle, { recursive: true, force: true });
  return layout;
}

/**
 * `podman pull` into a fresh storage root each round (overlay, as podman uses by default), its
 * storage unmounted and removed after; none when podman is not installed.
 */
function podmanPull(work, ref, fresh, cleanup) {
  const podman = which('podman');
  if (!podman) return [];
  const env = podmanEnv(work);
  return [
    {
      name: 'podman pull (download + unpack)',
      run: () => {
        const dir = fresh('podman');
        const args = [
          '--root',
          path.join(dir, 'root'),
          '--runroot',
          path.join(dir, 'run'),
          '--storage-driver',
          'overlay',
        ];
        try {
          return timeOnce([podman, ...args, 'pull', '-q', '--tls-verify=false', `docker://${ref}`], { env });
        } finally {
          // containers/storage bind-mounts its overlay directory onto itself
          for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n').reverse()) {
            const target = line.split(' ')[1];
            if (target?.startsWith(`${dir}/`)) spawnSync('umount', [target]);
          }
          cleanup(dir);
        }
      },
    },
  ];
}

export async function benchPull({ rounds }) {
  const missing = ['docker-registry', 'skopeo', 'umoci'].filter((t) => !which(t));
  if (missing.length) {
    console.log(`\npull: left out (${missing.join(', ')} not installed)`);
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-pull-'));
  const reg = await startRegistry(path.join(work, 'registry'));
  try {
    const layout = makeImage(work);
    const ref = `${reg.host}/bench/big:v1`;
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref}`]);
    const archive = path.join(work, 'image.tar');
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `oci-archive:${archive}:bench/big:v1`]);
    const blobs = path.join(layout, 'blobs', 'sha256');
    const manifest = JSON.parse(
      fs.readFileSync(
        path.join(
          blobs,
          JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')).manifests[0].digest.slice(7),
        ),
        'utf8',
      ),
    );
    const layerFiles = manifest.layers.map((l) => path.join(blobs, l.digest.slice(7)));
    const bytes = layerFiles.reduce((n, f) => n + fs.statSync(f).size, 0);
    const n = Math.max(3, Math.min(rounds, 7));
    let i = 0;
    const fresh = (name) => {
      const dir = path.join(work, `${name}-${i++}`);
      return dir;
    };
    const cleanup = (dir) => spawnSync('rm', ['-rf', dir]);
    const pull = sideBySide(
      [
        {
          name: 'skopeo copy (download only)',
          run: () => {
            const dir = fresh('skopeo');
            const ms = timeOnce([
              'skopeo',
              'copy',
              '--quiet',
              '--src-tls-verify=false',
              `docker://${ref}`,
              `oci:${dir}:v1`,
            ]);
            cleanup(dir);
            return ms;
          },
        },
        {
          name: 'box pull (download + unpack)',
          run: () => {
            const dir = fresh('box');
            const ms = timeOnce([BOX, '--root', dir, 'pull', '-q', ref]);
            cleanup(dir);
            return ms;
          },
        },
        ...podmanPull(work, ref, fresh, cleanup),
      ],
      n,
      1,
    );
    printTable(
      `pull of ${LAYERS} layers, ${(bytes / 1048576).toFixed(0)} MiB compressed, from a local registry, ${n} rounds`,
      pull,
      'skopeo copy (download only)',
    );
    console.log(
      `  box / skopeo: ${(pull['box pull (download + unpack)'].median / pull['skopeo copy (download only)'].median).toFixed(2)} (goal: at most 1.3)`,
    );
    const podman = pull['podman pull (download + unpack)'];
    if (podman)
      console.log(
        `  box / podman: ${(pull['box pull (download + unpack)'].median / podman.median).toFixed(2)} (goal: at most 0.5)`,
      );
    else console.log('  podman was not measured (not installed, or it cannot run here): the 0.5x goal is unchecked');
    const traceRoot = fresh('box-trace');
    printTraceSplit('where the time of `box pull` goes', [BOX, '--root', traceRoot, 'pull', '-q', ref], process.env, 1);
    cleanup(traceRoot);
    const unpack = sideBySide(
      [
        {
          name: 'GNU tar -xzf (each layer)',
          run: () => {
            const dir = fresh('tar');
            fs.mkdirSync(dir);
            const start = process.hrtime.bigint();
            for (const f of layerFiles) execFileSync('tar', ['-xzf', f, '-C', dir]);
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            cleanup(dir);
            return ms;
          },
        },
        {
          name: 'box load (read + unpack)',
          run: () => {
            const dir = fresh('load');
            const ms = timeOnce([BOX, '--root', dir, 'load', '-i', archive]);
            cleanup(dir);
            return ms;
          },
        },
      ],
      n,
      1,
    );
    printTable(`unpacking the same layers, ${n} rounds`, unpack, 'GNU tar -xzf (each layer)');
  } finally {
    reg.proc.kill('SIGTERM');
    spawnSync('rm', ['-rf', work]);
  }
}
