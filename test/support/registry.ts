// Debian's docker-registry (the reference distribution registry) on 127.0.0.1 for tests: started
// on a free port with storage under a test directory, stopped by its PID.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export interface Registry {
  port: number;
  host: string;
  dir: string;
  proc: ChildProcess;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts docker-registry with storage in dir (plus optional `auth:` YAML, and TLS with the given
 * certificate and key files); resolves once it listens.
 */
export async function startRegistry(
  dir: string,
  authYaml = '',
  tls?: { cert: string; key: string },
): Promise<Registry> {
  fs.mkdirSync(path.join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    'version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n' +
      `storage:\n  filesystem:\n    rootdirectory: ${dir}/storage\n  delete:\n    enabled: true\n` +
      `http:\n  addr: 127.0.0.1:${port}\n` +
      `${tls ? `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n` : ''}${authYaml}`,
  );
  const proc = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const reg: Registry = { port, host: `127.0.0.1:${port}`, dir, proc };
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (d: Buffer) => {
      log += d.toString();
      if (log.includes(`listening on 127.0.0.1:${port}`)) {
        proc.stderr!.off('data', onData);
        proc.stdout!.off('data', onData);
        proc.stderr!.resume();
        proc.stdout!.resume();
        resolve();
      }
    };
    proc.stderr!.on('data', onData);
    proc.stdout!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`docker-registry exited (${code}): ${log}`)));
  });
  return reg;
}

export function stopRegistry(r: Registry): Promise<void> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    r.proc.once('exit', () => resolve());
    process.kill(r.proc.pid!, 'SIGTERM');
  });
}

/** Runs a program, failing with its output. */
export function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * An OCI image layout in `work/layout` (tag v1), made by umoci: busybox at /bin/busybox, a link
 * to it for each applet, the extra directories, then `umoci config` with configArgs. Returns the
 * layout's path.
 */
export function busyboxLayout(work: string, opts: { applets: string[]; dirs?: string[]; config: string[] }): string {
  const layout = path.join(work, 'layout');
  const bundle = path.join(work, 'bundle');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:v1`]);
  run('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
  const rootfs = path.join(bundle, 'rootfs');
  for (const dir of ['bin', ...(opts.dirs ?? [])]) fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
  fs.copyFileSync(
    ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p))!,
    path.join(rootfs, 'bin', 'busybox'),
  );
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of opts.applets) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  run('umoci', ['repack', '--image', `${layout}:v1`, bundle]);
  run('umoci', ['config', '--image', `${layout}:v1`, ...opts.config]);
  return layout;
}

/**
 * An OCI layout (work/layout, tag v1) of two layers made by umoci: busybox (from busyboxTarball), then
 * /hello holding `hello` and the deletion of /bin/not-executable (a whiteout), plus what `extra`
 * adds to the second layer's root; its command is `cat /hello`.
 */
export function helloLayout(work: string, busyboxTar: string, hello: string, extra?: (rootfs: string) => void): string {
  const layout = path.join(work, 'layout');
  const bundle = path.join(work, 'bundle');
  const rootfs = path.join(bundle, 'rootfs');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:base`]);
  run('umoci', ['unpack', '--image', `${layout}:base`, bundle]);
  run('tar', ['-C', rootfs, '-xf', busyboxTar]);
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
  fs.writeFileSync(path.join(rootfs, 'hello'), hello);
  extra?.(rootfs);
  fs.rmSync(path.join(rootfs, 'bin/not-executable'));
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
  const cmd = ['/bin/busybox', 'cat', '/hello'].flatMap((arg) => ['--config.cmd', arg]);
  run('umoci', ['config', '--image', `${layout}:v1`, ...cmd]);
  return layout;
}
