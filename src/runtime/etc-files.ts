// The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf, written to the container's
// directory on the host and bind-mounted into it (so they stay correct even with --read-only).
import * as fs from 'node:fs';
import { readFileIfExists } from '../util/fs';
import { openNoFollow } from '../util/safe-open';
import { ContainerConfig } from '../model';

export interface EtcFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

const LOCALHOST =
  '127.0.0.1\tlocalhost\n' +
  '::1\tlocalhost ip6-localhost ip6-loopback\n' +
  'fe00::0\tip6-localnet\n' +
  'ff00::0\tip6-mcastprefix\n' +
  'ff02::1\tip6-allnodes\n' +
  'ff02::2\tip6-allrouters\n';

export function hostsFile(config: ContainerConfig): string {
  if (config.network === 'host') return readFileIfExists('/etc/hosts') ?? LOCALHOST;
  return LOCALHOST + `127.0.1.1\t${config.hostname}\n`;
}

/** The host's resolv.conf; loopback name servers are dropped in an own network namespace, where they cannot be reached. */
export function resolvConf(config: ContainerConfig): string {
  const host = readFileIfExists('/etc/resolv.conf') ?? '';
  if (config.network === 'host') return host;
  return host
    .split('\n')
    .filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(l))
    .join('\n');
}

export function writeEtcFiles(files: EtcFiles, config: ContainerConfig): void {
  // Files in the container's own directory: plain writes, no temp-and-rename needed.
  writeEtcFile(files.hostname, config.hostname + '\n');
  writeEtcFile(files.hosts, hostsFile(config));
  writeEtcFile(files.resolvConf, resolvConf(config));
}

/**
 * 0644: the container's processes, whatever their user, read them through the bind mount (the
 * container directory above them stays root-only). Never written through a symlink.
 */
function writeEtcFile(file: string, text: string): void {
  const fd = openNoFollow(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
  try {
    fs.fchmodSync(fd, 0o644);
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}
