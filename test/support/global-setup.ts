// Runs once before the tests: the Debian packages the integration tests use are installed if
// missing (busybox-static for the test image, python3 for the pty driver, ...). After the tests,
// the host-global network objects of test roots (bridges, nftables tables) that appeared during
// the run and are still there are reported and removed: each test removes its own roots' objects,
// so one found here is a test that left something behind, which the report names for a fix.
// Objects of a storage root that still exists are not touched: they belong to a test run going on
// beside this one (engineers run test files in parallel on one host), whose own cleanup removes them.
// Container cgroups (`box/<id>` in every hierarchy) that appeared during the run and hold no
// process are reported and removed the same way, unless the container is recorded in a storage root
// that still exists: a start going on beside this run holds an empty cgroup until its init joins
// it (removing it failed that start, "cgroup-join ... ENOENT", in 50 or 200 concurrent starts).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rootTag } from '../../src/network/kernel-names';
import { rootsUnder } from './network';

// Names kernel-names.ts gives the objects of a storage root other than /var/lib/box.
const TEST_BRIDGE = /^bx[0-9a-f]{4}(0|-[0-9a-f]{8})$/;
const TEST_TABLE = /^box-[0-9a-f]{4}$/;

function testNetworkObjects(): { bridges: string[]; tables: string[] } {
  const bridges = fs.readdirSync('/sys/class/net').filter((n) => TEST_BRIDGE.test(n));
  const listed = spawnSync('nft', ['list', 'tables', 'inet'], { encoding: 'utf8' }).stdout ?? '';
  const tables = listed
    .split('\n')
    .map((l) => /^table inet (\S+)$/.exec(l.trim())?.[1] ?? '')
    .filter((n) => TEST_TABLE.test(n));
  return { bridges, tables };
}

/** Every `box/<id>` cgroup directory, in each v1 hierarchy and in the unified one. */
function containerCgroups(): string[] {
  const out: string[] = [];
  const parents = ['/sys/fs/cgroup/box', '/sys/fs/cgroup/unified/box'];
  for (const h of fs.readdirSync('/sys/fs/cgroup')) parents.push(path.join('/sys/fs/cgroup', h, 'box'));
  for (const parent of new Set(parents)) {
    let names: fs.Dirent[] = [];
    try {
      names = fs.readdirSync(parent, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const n of names) if (n.isDirectory() && /^[0-9a-f]{64}$/.test(n.name)) out.push(path.join(parent, n.name));
  }
  return out;
}

const empty = (cgroup: string) => {
  try {
    return fs.readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim() === '';
  } catch {
    return false;
  }
};

/** The tags (kernel-names.ts) of the storage roots that exist under the temporary directory now. */
function liveRootTags(): Set<string> {
  const tags = new Set<string>();
  for (const e of fs.readdirSync(os.tmpdir(), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    for (const root of rootsUnder(path.join(os.tmpdir(), e.name))) tags.add(rootTag({ root }));
  }
  return tags;
}

/**
 * The ids of the containers (created or being created: `.new-<id>`) recorded in the storage roots
 * that exist under the temporary directory now, at the depths rootsUnder looks at.
 */
function liveContainerIds(): Set<string> {
  const ids = new Set<string>();
  const walk = (dir: string, left: number) => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const n of names) {
      if (!n.isDirectory()) continue;
      if (n.name !== 'containers') {
        if (left > 0) walk(path.join(dir, n.name), left - 1);
        continue;
      }
      try {
        for (const c of fs.readdirSync(path.join(dir, n.name))) ids.add(c.replace(/^\.new-/, ''));
      } catch {
        /* removed meanwhile */
      }
    }
  };
  walk(os.tmpdir(), 3);
  return ids;
}

export default function setup(): () => void {
  const r = spawnSync('bash', [path.join(__dirname, '..', '..', 'build', 'test-deps.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('installing the test dependencies failed (build/test-deps.sh)');
  const before = testNetworkObjects();
  const cgroupsBefore = new Set(containerCgroups());
  return () => {
    const recorded = liveContainerIds();
    const cgroups = containerCgroups().filter(
      (c) => !cgroupsBefore.has(c) && empty(c) && !recorded.has(path.basename(c)),
    );
    if (cgroups.length) {
      console.warn(`tests left container cgroups behind (removed now): ${cgroups.join(' ')}`);
      for (const c of cgroups) {
        try {
          fs.rmdirSync(c);
        } catch {
          /* a process joined it meanwhile */
        }
      }
      for (const parent of new Set(cgroups.map((c) => path.dirname(c)))) {
        try {
          fs.rmdirSync(parent); // box's shared parent, once no container cgroup is left in it
        } catch {
          /* another container's cgroup is in it */
        }
      }
    }
    const after = testNetworkObjects();
    const live = liveRootTags();
    const orphan = (name: string, prefix: string) => !live.has(name.slice(prefix.length, prefix.length + 4));
    const bridges = after.bridges.filter((b) => !before.bridges.includes(b) && orphan(b, 'bx'));
    const tables = after.tables.filter((t) => !before.tables.includes(t) && orphan(t, 'box-'));
    if (!bridges.length && !tables.length) return;
    console.warn(`tests left network objects behind (removed now): ${[...bridges, ...tables].join(' ')}`);
    for (const b of bridges) spawnSync('ip', ['link', 'del', b]);
    for (const t of tables) spawnSync('nft', ['delete', 'table', 'inet', t]);
  };
}
