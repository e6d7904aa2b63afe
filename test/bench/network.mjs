// Networks (issue 10): start cost on the default bridge, many detached starts on one user network,
// the time until a new container's name resolves, and TCP throughput container → container and
// client → published port against the direct path to the container's address. Side by side with
// podman where it is installed and can run here. Traffic stays on bridges and namespaces this
// benchmark made, and on loopback.
import { execFileSync, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import dnsPacket from 'dns-packet';
import { runAll } from './detached.mjs';
import { BOX, cleanRoot, median, podmanEnv, printTable, sideBySide, timeOnce, which } from './lib.mjs';

/** A root filesystem with busybox and, when installed, iperf3 with the shared libraries it needs. */
function makeRootfs(dir) {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  const iperf = which('iperf3');
  if (!iperf) return false;
  const libs = execFileSync('ldd', [iperf], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter(Boolean);
  for (const f of [iperf, ...libs]) {
    const real = fs.realpathSync(f);
    const dest = path.join(dir, f);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(real, dest);
    fs.chmodSync(dest, 0o755);
  }
  return true;
}

function box(root, args, opts = {}) {
  return execFileSync(BOX, ['--root', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Asks the network's responder for NAME from the host once; true when it answers with an address. */
function resolvesOnce(server, name) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (ok) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    sock.on('message', (msg) => done(dnsPacket.decode(msg).answers?.some((a) => a.type === 'A') ?? false));
    sock.on('error', () => done(false));
    const query = dnsPacket.encode({
      type: 'query',
      id: 1,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name }],
    });
    sock.send(query, 53, server);
  });
}

/** iperf3 for 2 s; returns Gbit/s as the receiver measured it. */
function iperfGbits(argv) {
  const r = spawnSync(argv[0], [...argv.slice(1), '-t', '2', '-J'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr || r.stdout.slice(0, 300)}`);
  return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
}

/** Polls a TCP connect to ip:port (a listener in a container) until it is accepted, for up to 10 s. */
async function untilListening(ip, port) {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = net.connect({ host: ip, port, timeout: 200 }, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
      c.on('timeout', () => {
        c.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`nothing listened on ${ip}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function benchNetwork({ rounds, count = 50 }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-bench-n-'));
  const root = path.join(work, 'root');
  const netName = `bench-net-${process.pid}`;
  try {
    const rootfs = path.join(work, 'rootfs');
    const haveIperf = makeRootfs(rootfs);
    const tar = path.join(work, 'rootfs.tar');
    execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
    box(root, ['import', tar, 'bench:net']);
    box(root, ['network', 'create', netName]);

    // 1. run --rm on the default bridge against none (what the bridge costs) and podman's bridge
    const contenders = [
      {
        name: 'box run (none)',
        run: () =>
          timeOnce([BOX, '--root', root, 'run', '--rm', '--network', 'none', 'bench:net', '/bin/busybox', 'true']),
      },
      {
        name: 'box run (bridge)',
        run: () => timeOnce([BOX, '--root', root, 'run', '--rm', 'bench:net', '/bin/busybox', 'true']),
      },
    ];
    const podman = which('podman');
    if (podman)
      contenders.push({
        name: 'podman run (bridge)',
        run: () =>
          timeOnce([podman, 'run', '--rm', '--rootfs', rootfs, '/bin/busybox', 'true'], { env: podmanEnv(work) }),
      });
    const results = sideBySide(contenders, rounds);
    printTable(`run --rm on the default bridge, ${rounds} rounds`, results, 'box run (bridge)');
    if (results['podman run (bridge)'])
      console.log(
        `  box / podman: ${(results['box run (bridge)'].median / results['podman run (bridge)'].median).toFixed(2)} (goal: under 0.5)`,
      );
    else console.log('  podman not measured (not installed, or it cannot run here): the 0.5x podman goal is unchecked');

    // 2. count × run -d on one user network, 8 at a time, until all run
    const names = Array.from({ length: count }, (_, i) => `bn-${i}`);
    const t0 = performance.now();
    await runAll(
      names.map((n) => [
        BOX,
        '--root',
        root,
        'run',
        '-d',
        '--network',
        netName,
        '--name',
        n,
        'bench:net',
        '/bin/busybox',
        'sleep',
        '1000',
      ]),
      8,
    );
    const manyMs = performance.now() - t0;
    console.log(`\n${count} x run -d on one user network (8 at a time): ${(manyMs / 1000).toFixed(2)} s until all run`);
    const gateway = JSON.parse(box(root, ['network', 'inspect', netName]))[0].IPAM.Config[0].Gateway;

    // 3. time from the start of `run -d` until the new name resolves at the network's responder
    const resolveMs = [];
    for (let i = 0; i < Math.min(rounds, 10); i++) {
      const name = `bn-dns-${i}`;
      const s = performance.now();
      box(root, ['run', '-d', '--network', netName, '--name', name, 'bench:net', '/bin/busybox', 'sleep', '1000']);
      const returned = performance.now();
      while (!(await resolvesOnce(gateway, name)))
        if (performance.now() - s > 10_000) throw new Error(`${name} never resolved`);
      resolveMs.push([returned - s, performance.now() - s]);
    }
    console.log(
      `  name resolves ${median(resolveMs.map((r) => r[1])).toFixed(1)} ms (median) after run -d began; run -d itself ` +
        `returned after ${median(resolveMs.map((r) => r[0])).toFixed(1)} ms`,
    );
    await runAll(
      [...names, ...resolveMs.map((_, i) => `bn-dns-${i}`)].map((n) => [BOX, '--root', root, 'rm', '-f', n]),
      8,
    );

    // 4. TCP throughput
    if (!haveIperf) console.log('\n  iperf3 is not installed: throughput not measured (apt-get install iperf3)');
    else {
      box(root, [
        'run',
        '-d',
        '--network',
        netName,
        '--name',
        'srv',
        '-p',
        '127.0.0.1::5201',
        'bench:net',
        '/usr/bin/iperf3',
        '-s',
      ]);
      const srvIp = JSON.parse(box(root, ['inspect', 'srv']))[0].NetworkSettings.Networks[netName].IPAddress;
      const hostPort = Number(box(root, ['port', 'srv', '5201/tcp']).trim().split(':').pop());
      await untilListening(srvIp, 5201);
      const c2c = iperfGbits([
        BOX,
        '--root',
        root,
        'run',
        '--rm',
        '--network',
        netName,
        'bench:net',
        '/usr/bin/iperf3',
        '-c',
        'srv',
      ]);
      const direct = iperfGbits(['iperf3', '-c', srvIp]);
      const published = iperfGbits(['iperf3', '-c', '127.0.0.1', '-p', String(hostPort)]);
      console.log('\nTCP throughput (iperf3, 2 s each)');
      console.log(`  container -> container by name: ${c2c.toFixed(2)} Gbit/s`);
      console.log(`  host -> container address (direct veth path): ${direct.toFixed(2)} Gbit/s`);
      console.log(
        `  host -> published port 127.0.0.1:${hostPort}: ${published.toFixed(2)} Gbit/s, ${(published / direct).toFixed(2)}x direct (goal: at least 0.9x)`,
      );
      box(root, ['rm', '-f', 'srv']);
    }
    return { results, manyMs, resolveMs };
  } finally {
    cleanRoot(root);
    spawnSync('rm', ['-rf', work]);
  }
}
