// `box info`: what this host offers box.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { assetPath } from '../../assets';
import { detectCgroups } from '../../linux/cgroups';
import { setFfiCacheDir } from '../../linux/ffi';
import { statfs } from '../../linux/statfs';
import { runningResponders } from '../../network/dns/status';
import { ipForwardEnabled } from '../../network/links';
import { layout } from '../../paths';
import { BOX_VERSION } from '../../version';
import { SPEC_VERSION } from '../../runtime/spec';
import { CommandSpec, str } from '../args';
import { roots } from '../context';
import { outputFormat } from '../template';
import { FORMAT } from './format-flag';
import { infoContext } from './info-context';

function fsSupported(name: string): boolean {
  try {
    return fs
      .readFileSync('/proc/filesystems', 'utf8')
      .split('\n')
      .some((l) => l.split('\t')[1] === name);
  } catch {
    return false;
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function respondersLine(all: ReturnType<typeof runningResponders>): string {
  if (!all.length) return 'none running';
  const own = all.reduce((sum, r) => sum + r.privateBytes, 0);
  const rss = Math.max(...all.map((r) => r.rssBytes));
  return `${all.length} running, ${mib(own)} of their own memory (resident up to ${mib(rss)} each, the rest shared)`;
}

export const infoCommand: CommandSpec = {
  paths: [['info'], ['system', 'info']],
  summary: 'Show what this host offers box: kernel, cgroups, overlay, seccomp, storage.',
  flags: [FORMAT],
  positionals: [],
  async run(a) {
    const cg = detectCgroups();
    const r = roots();
    // Both come from the embedded assets: this also proves the executable is self-contained.
    setFfiCacheDir(layout.cache(r));
    const helper = assetPath('box-helper', layout.cache(r));
    fs.mkdirSync(r.root, { recursive: true, mode: 0o700 });
    const backing = statfs(r.root);
    const seccomp = fs.existsSync('/proc/sys/kernel/seccomp/actions_avail');
    const info = {
      version: BOX_VERSION,
      node: process.versions.node,
      helperProtocol: SPEC_VERSION,
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
      backingFilesystem: backing.type,
      storageFreeBytes: backing.freeBytes,
      helper,
      runtimeRoot: r.runroot,
      root: process.getuid?.() === 0,
      /** net.ipv4.ip_forward: box sets it when it sets up a network that is not --internal */
      ipv4Forwarding: ipForwardEnabled(),
      /** one per user-defined network that has containers: its memory is what networks cost */
      dnsResponders: runningResponders(r),
    };
    const format = str(a, 'format');
    if (format === 'json') {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return 0;
    }
    if (format !== undefined) {
      process.stdout.write(outputFormat(format).render([infoContext(r, info)]));
      return 0;
    }
    const lines = [
      `Version:            ${info.version} (Node.js ${info.node}, helper protocol ${info.helperProtocol})`,
      `Kernel:             ${info.kernel} (${info.arch})`,
      `CPUs / Memory:      ${info.cpus} / ${(info.memTotal / 2 ** 30).toFixed(1)} GiB`,
      `Cgroup version:     ${info.cgroupVersion}`,
      `Cgroup controllers: ${info.cgroupControllers.join(' ') || '(none)'}`,
      `Overlay:            ${info.overlay ? 'supported' : 'not supported'}`,
      `Seccomp:            ${info.seccomp ? 'supported' : 'not supported'}`,
      `Storage root:       ${info.storageRoot} (${info.backingFilesystem}, ${(info.storageFreeBytes / 2 ** 30).toFixed(1)} GiB free)`,
      `Helper:             ${info.helper}`,
      `Runtime root:       ${info.runtimeRoot}`,
      `IPv4 forwarding:    ${info.ipv4Forwarding ? 'on' : 'off'} (box turns it on for a network that is not --internal)`,
      `DNS responders:     ${respondersLine(info.dnsResponders)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
