// The kernel objects a test root's networks hold on the host (bridges, its nftables table, DNS
// responders), read with the host's own tools (`ip`, `nft`), so a test checks the kernel's view and
// a root's cleanup removes what a failed test left (and the root's claim of its tag).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nftTableName, ROOT_TAG_CLAIMS_DIR, rootTag } from '../../src/network/kernel-names';

/** Names of the host's interfaces now. */
export function hostLinks(): string[] {
  const out = execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' });
  return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname);
}

/** The bridges of a root's networks: its tagged names, and those its records name by option. */
export function rootBridges(root: string): string[] {
  const tag = rootTag({ root });
  const named = new Set<string>();
  try {
    for (const id of fs.readdirSync(path.join(root, 'networks'))) {
      const file = path.join(root, 'networks', id, 'network.json');
      const n = JSON.parse(fs.readFileSync(file, 'utf8')) as { Options: Record<string, string> };
      const b = n.Options['com.docker.network.bridge.name'];
      if (b) named.add(b);
    }
  } catch {
    /* no networks */
  }
  return hostLinks().filter((l) => (tag !== '' && l.startsWith(`bx${tag}`)) || named.has(l));
}

/** The links plugged into a bridge (its ports: the host ends of containers' veths). */
export function bridgePorts(bridge: string): string[] {
  const out = execFileSync('ip', ['-j', 'link', 'show', 'master', bridge], { encoding: 'utf8' });
  return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname).sort();
}

/** Host veth ends of a container (vb<10 hex of its id><index>). */
export function vethsOf(containerId: string, links: string[] = hostLinks()): string[] {
  return links.filter((l) => l.startsWith(`vb${containerId.slice(0, 10)}`));
}

/** Whether the root's nftables table exists. */
export function hasNftTable(root: string): boolean {
  return spawnSync('nft', ['list', 'table', 'inet', nftTableName({ root })], { stdio: 'ignore' }).status === 0;
}

/** The root's nftables table as `nft list` prints it ('' when there is none). */
export function nftTable(root: string): string {
  const r = spawnSync('nft', ['list', 'table', 'inet', nftTableName({ root })], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/** Removes what a root's networks hold on the host: responders, bridges, its table. */
export function removeRootNetworkObjects(root: string, runroot = path.join(root, 'run')): void {
  try {
    for (const id of fs.readdirSync(path.join(runroot, 'networks'))) {
      const pidFile = path.join(runroot, 'networks', id, 'dns.pid');
      const token = (JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { token: string }).token;
      const pid = Number.parseInt(token.split('.')[0], 10);
      // only a responder (box internal dns ...): a pid reused by anything else is left alone
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (pid > 1 && cmdline.includes('internal\0dns')) process.kill(pid, 'SIGKILL');
    }
  } catch {
    /* no responders */
  }
  // Bridges and the table are named by the root's tag (src/network/tag-claims.ts): when another
  // existing root has claimed the same tag, those of that name are its own, not this root's.
  const claim = path.join(ROOT_TAG_CLAIMS_DIR, rootTag({ root }));
  let holder: string | undefined;
  try {
    holder = fs.readFileSync(claim, 'utf8');
  } catch {
    /* no claim */
  }
  if (holder !== undefined && holder !== root && fs.existsSync(holder)) return;
  for (const b of rootBridges(root)) spawnSync('ip', ['link', 'del', b]);
  if (hasNftTable(root)) spawnSync('nft', ['delete', 'table', 'inet', nftTableName({ root })]);
  if (holder === root) fs.rmSync(claim, { force: true });
}

/**
 * Storage roots at or below `dir` (a test's directory may hold more than its main root: pull and
 * image tests run containers in roots of their own): every directory that has a `networks` store.
 */
export function rootsUnder(dir: string, depth = 3): string[] {
  const out: string[] = [];
  const walk = (d: string, left: number) => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    if (names.some((n) => n.name === 'networks' && n.isDirectory())) out.push(d);
    if (left > 0)
      for (const n of names)
        if (n.isDirectory() && !['networks', 'node_modules', '.git'].includes(n.name))
          walk(path.join(d, n.name), left - 1);
  };
  walk(dir, depth);
  return out;
}
