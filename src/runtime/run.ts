// `box run` in the foreground: resolve and validate everything, create the container's files and
// cgroup, start it through box-helper, wait, and release everything it held. Any failure after the
// first object is created unwinds what was created, in reverse order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assetPath } from '../assets';
import { BoxError } from '../errors';
import { ImageStore } from '../image/store';
import { ContainerCgroup, checkLimits, detectCgroups } from '../linux/cgroups';
import { layout, Roots } from '../paths';
import { checkName, ContainerStore, newContainerId } from './containers';
import { EtcFiles, writeEtcFiles } from './etc-files';
import { runHelper } from './helper';
import { ContainerRecord } from './model';
import { buildSpec } from './plan';
import { resolveContainerConfig, RunFlags } from './run-options';
import { processSecurity } from './security';
import { mark } from '../util/trace';

export interface RunRequest {
  roots: Roots;
  image: string;
  command: string[];
  flags: RunFlags;
  warn: (msg: string) => void;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new BoxError('box must run as root to create containers (rootless mode is not supported yet): use sudo');
  }
}

export async function runForeground(req: RunRequest): Promise<number> {
  mark('run: parsed');
  requireRoot();
  const images = new ImageStore(req.roots);
  const imageId = images.resolve(req.image);
  if (!imageId) throw new BoxError(`image "${req.image}" not found: import it first with \`box import FILE ${req.image}\``);
  mark('image resolved');
  const image = images.get(imageId);
  const lowerDirs = images.lowerDirs(image.config);
  mark('image config read');
  checkName(req.flags.name);
  const id = newContainerId();
  const config = resolveContainerConfig(req.flags, { ref: req.image, id: imageId, config: image.config, lowerDirs }, req.command, id);
  mark('config resolved');
  const cgroupHost = detectCgroups();
  for (const w of checkLimits(cgroupHost, config.limits)) req.warn(w);
  mark('cgroups detected');
  const security = processSecurity(config);
  mark('security compiled');
  const helperPath = assetPath('box-helper', layout.cache(req.roots));

  // From here on, objects exist: unwind them on every path.
  mark('helper located');
  const containers = new ContainerStore(req.roots);
  const record = containers.create(id, config, req.flags.name, req.flags.rm);
  const cgroup = new ContainerCgroup(cgroupHost, `box/${record.id}`);
  let exitCode = 125;
  try {
    const dir = containers.dir(record.id);
    const files: EtcFiles = { hostname: path.join(dir, 'hostname'), hosts: path.join(dir, 'hosts'), resolvConf: path.join(dir, 'resolv.conf') };
    writeEtcFiles(files, record.config);
    for (const d of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(dir, d), { mode: 0o755 });
    mark('container files written');
    cgroup.create(config.limits, config.privileged);
    mark('cgroup created');
    const spec = buildSpec({
      config: record.config,
      lowerDirs,
      upperDir: path.join(dir, 'upper'),
      workDir: path.join(dir, 'work'),
      rootfsDir: path.join(dir, 'rootfs'),
      etcFiles: files,
      cgroupProcs: cgroup.joinFiles().procs,
      cgroupTasks: cgroup.joinFiles().selfTasks,
      cgroupHost,
      security,
    });
    const result = await runHelper(helperPath, spec.encode(), {
      stdin: config.openStdin || config.tty ? 'inherit' : 'ignore',
      onPid: (pid) => {
        mark('container cloned');
        containers.setState(record, { status: 'running', pid, startedAt: new Date().toISOString() });
      },
      onStarted: () => mark('command started'),
    });
    mark('container exited');
    exitCode = result.exitCode;
    const oomKilled = cgroup.oomKilled();
    if (result.error) req.warn(describeStartError(result.error, record.config.args[0]));
    else if (result.helperSignal) req.warn(`the container's monitor was killed by ${result.helperSignal}; the container was stopped`);
    if (oomKilled && exitCode === 137) req.warn(`container ${record.name} was killed by the OOM killer (memory limit ${describeBytes(config.limits.memory)})`);
    finish(containers, record, {
      status: result.error && !result.started ? 'created' : 'exited',
      exitCode,
      oomKilled,
      error: result.error?.text,
    });
  } catch (err) {
    exitCode = err instanceof BoxError ? err.exitCode : 125;
    throw err;
  } finally {
    try {
      cgroup.remove();
    } finally {
      if (req.flags.rm) containers.remove(record);
      mark('cleaned up');
    }
  }
  return exitCode;
}

function finish(containers: ContainerStore, record: ContainerRecord, state: Partial<ContainerRecord['state']>): void {
  if (record.autoRemove) return;
  containers.setState(record, { ...state, pid: undefined, finishedAt: new Date().toISOString() });
}

function describeBytes(bytes: number | undefined): string {
  if (bytes === undefined) return 'none';
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

function describeStartError(error: { stage: string; errno: number; text: string }, command: string): string {
  if (error.stage === 'exec' && error.errno === 2) return `${command}: executable file not found in $PATH`;
  if (error.stage === 'exec' && error.errno === 13) return `${command}: permission denied: the file is not executable`;
  return `cannot start the container (${error.stage}): ${error.text}`;
}
