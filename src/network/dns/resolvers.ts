// The host's resolvers, to which a network's DNS responder forwards what is not a container's
// name. The responder runs in the host's network namespace, so it reaches every server the host
// itself uses, loopback ones included, with one exception taken from Docker: systemd-resolved's
// stub (127.0.0.53) is replaced by the servers it forwards to (/run/systemd/resolve/resolv.conf),
// so queries do not go through a second cache that knows nothing of containers.
// BOX_HOST_RESOLV_CONF names another file than /etc/resolv.conf (tests point it at their own).
import { isIP } from 'node:net';
import { readFileIfExists } from '../../util/fs';

const HOST_RESOLV_CONF = '/etc/resolv.conf';
const RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';
const RESOLVED_STUB = '127.0.0.53';
/** The resolver library reads at most three (MAXNS): so does the responder. */
const MAX_SERVERS = 3;

/** The `nameserver` addresses of a resolv.conf text, in order (a zone index `%eth0` dropped). */
export function nameserversOf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const address = m?.[1].replace(/%.*$/, '');
    if (address && isIP(address) && !out.includes(address)) out.push(address);
  }
  return out;
}

/** Where the host's resolv.conf is read from. */
export function hostResolvConfPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.BOX_HOST_RESOLV_CONF || HOST_RESOLV_CONF;
}

/**
 * The servers to forward to, at most three; `exclude` (the responder's own address) is left out
 * so a host that names a network's gateway as its resolver cannot make a query loop.
 */
export function hostResolvers(
  exclude: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  read: (file: string) => string | undefined = readFileIfExists,
): string[] {
  let servers = nameserversOf(read(hostResolvConfPath(env)) ?? '');
  if (servers.includes(RESOLVED_STUB)) {
    const upstream = nameserversOf(read(RESOLVED_UPSTREAM) ?? '');
    if (upstream.length) servers = [...new Set(servers.flatMap((s) => (s === RESOLVED_STUB ? upstream : [s])))];
  }
  return servers.filter((s) => !exclude.includes(s)).slice(0, MAX_SERVERS);
}
