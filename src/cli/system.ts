// `box version` and `box info`: what box is and what this host offers it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Command, Option } from 'clipanion';
import { detectCgroups } from '../linux/cgroups';
import { BOX_VERSION } from '../version';
import { SPEC_VERSION } from '../runtime/spec';
import { roots } from './context';

export class VersionCommand extends Command {
  static override paths = [['version'], ['--version'], ['-v']];
  static override usage = Command.Usage({ description: 'show the box version' });
  format = Option.String('--format,-f', { description: 'json for machine-readable output' });

  override async execute(): Promise<number> {
    const v = { version: BOX_VERSION, node: process.versions.node, helperProtocol: SPEC_VERSION, os: 'linux', arch: process.arch };
    if (this.format === 'json') process.stdout.write(JSON.stringify(v) + '\n');
    else process.stdout.write(`box ${BOX_VERSION}\n`);
    return 0;
  }
}

function fsSupported(name: string): boolean {
  try {
    return fs.readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.split('\t')[1] === name);
  } catch {
    return false;
  }
}

export class InfoCommand extends Command {
  static override paths = [['info'], ['system', 'info']];
  static override usage = Command.Usage({ description: 'show what this host offers box: kernel, cgroups, overlay, seccomp, storage' });
  format = Option.String('--format,-f', { description: 'json for machine-readable output' });

  override async execute(): Promise<number> {
    const cg = detectCgroups();
    const r = roots();
    const seccomp = fs.existsSync('/proc/sys/kernel/seccomp/actions_avail');
    const info = {
      version: BOX_VERSION,
      kernel: os.release(),
      os: 'linux',
      arch: process.arch,
      cpus: os.cpus().length,
      memTotal: os.totalmem(),
      cgroupVersion: cg.version,
      cgroupControllers: [...cg.mounts.keys()],
      overlay: fsSupported('overlay'),
      seccomp,
      storageRoot: r.root,
      runtimeRoot: r.runroot,
      root: process.getuid?.() === 0,
    };
    if (this.format === 'json') {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `Version:            ${info.version}`,
      `Kernel:             ${info.kernel} (${info.arch})`,
      `CPUs / Memory:      ${info.cpus} / ${(info.memTotal / 2 ** 30).toFixed(1)} GiB`,
      `Cgroup version:     ${info.cgroupVersion}`,
      `Cgroup controllers: ${info.cgroupControllers.join(' ') || '(none)'}`,
      `Overlay:            ${info.overlay ? 'supported' : 'not supported'}`,
      `Seccomp:            ${info.seccomp ? 'supported' : 'not supported'}`,
      `Storage root:       ${info.storageRoot}`,
      `Runtime root:       ${info.runtimeRoot}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  }
}
