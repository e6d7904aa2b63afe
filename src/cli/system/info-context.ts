// What `box info --format` templates see: Docker's info fields where box has the same fact
// (`{{.KernelVersion}}`, `{{.CgroupVersion}}`, `{{.Containers}}`, ...), then box's own.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ImageStore } from '../../image/store';
import { Roots } from '../../paths';
import { ContainerStore } from '../../runtime/containers';
import { containerState } from '../../runtime/container-filter';
import { goStruct } from '../template';

/** PRETTY_NAME of /etc/os-release, as Docker's OperatingSystem. */
function operatingSystem(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    return m ? m[1] : 'Linux';
  } catch {
    return 'Linux';
  }
}

export interface InfoFacts {
  version: string;
  node: string;
  helperProtocol: number;
  kernel: string;
  cpus: number;
  memTotal: number;
  cgroupVersion: number;
  cgroupControllers: string[];
  seccomp: boolean;
  backingFilesystem: string;
  storageFreeBytes: number;
  runtimeRoot: string;
  ipv4Forwarding: boolean;
}

export function infoContext(r: Roots, info: InfoFacts) {
  const states = new ContainerStore(r).list().map(containerState);
  const count = (s: string) => states.filter((x) => x === s).length;
  return goStruct('info', {
    ID: '',
    Name: os.hostname(),
    ServerVersion: info.version,
    Driver: 'overlay',
    KernelVersion: info.kernel,
    OperatingSystem: operatingSystem(),
    OSType: 'linux',
    Architecture: os.machine(),
    NCPU: info.cpus,
    MemTotal: info.memTotal,
    CgroupVersion: String(info.cgroupVersion),
    CgroupDriver: 'cgroupfs',
    DockerRootDir: r.root,
    Containers: states.length,
    ContainersRunning: count('running') + count('restarting'),
    ContainersPaused: count('paused'),
    ContainersStopped: states.length - count('running') - count('restarting') - count('paused'),
    Images: new ImageStore(r).list().length,
    IPv4Forwarding: info.ipv4Forwarding,
    SecurityOptions: info.seccomp ? ['name=seccomp,profile=builtin', 'name=no-new-privileges'] : [],
    // box's own
    NodeVersion: info.node,
    HelperProtocol: info.helperProtocol,
    CgroupControllers: info.cgroupControllers,
    BackingFilesystem: info.backingFilesystem,
    StorageFreeBytes: info.storageFreeBytes,
    RuntimeRoot: info.runtimeRoot,
  });
}
