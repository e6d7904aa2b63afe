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

/** What is known of a container's networks once they are attached (src/network/setup.ts). */
export interface AttachedNetworks {
  /** its addresses, first network first: /etc/hosts names the hostname by them, as Docker's */
  addresses: string[];
  /** a user network's DNS responder (its gateway): the name server, as Docker's embedded DNS */
  nameserver?: string;
}

export function hostsFile(config: ContainerConfig, attached?: AttachedNetworks): string {
  if (config.network === 'host') return readFileIfExists('/etc/hosts') ?? LOCALHOST;
  const extra = (config.extraHosts ?? []).map((h) => {
    const i = h.indexOf(':');
    return `${h.slice(i + 1)}\t${h.slice(0, i)}\n`;
  });
  const self = attached?.addresses.length ? attached.addresses : ['127.0.1.1'];
  return LOCALHOST + extra.join('') + self.map((a) => `${a}\t${config.hostname}\n`).join('');
}

/**
 * The host's resolv.conf; loopback name servers are dropped in an own network namespace, where they
 * cannot be reached. On a user network the responder at its gateway is the one server; --dns,
 * --dns-search and --dns-option replace the servers, search and options lines.
 */
export function resolvConf(config: ContainerConfig, attached?: AttachedNetworks): string {
  const host = readFileIfExists('/etc/resolv.conf') ?? '';
  if (config.network === 'host') return host;
  const lines = host.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(l));
  const dns = config.dns;
  const servers = dns?.servers.length ? dns.servers : attached?.nameserver ? [attached.nameserver] : undefined;
  if (!servers && !dns?.search.length && !dns?.options.length) return lines.join('\n');
  const keep = lines.filter(
    (l) =>
      !(servers && /^\s*nameserver\s/.test(l)) &&
      !(dns?.search.length && /^\s*(search|domain)\s/.test(l)) &&
      !(dns?.options.length && /^\s*options\s/.test(l)),
  );
  const added = [
    ...(servers ?? []).map((s) => `nameserver ${s}`),
    ...(dns?.search.length ? [`search ${dns.search.join(' ')}`] : []),
    ...(dns?.options.length ? [`options ${dns.options.join(' ')}`] : []),
  ];
  return [...keep.filter((l) => l.trim() !== ''), ...added].join('\n') + '\n';
}

/** Writes the three files; again once the networks are attached, before the init goes on (in place: no rename). */
export function writeEtcFiles(files: EtcFiles, config: ContainerConfig, attached?: AttachedNetworks): void {
  // Files in the container's own directory: plain writes, no temp-and-rename needed.
  writeEtcFile(files.hostname, config.hostname + '\n');
  writeEtcFile(files.hosts, hostsFile(config, attached));
  writeEtcFile(files.resolvConf, resolvConf(config, attached));
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
