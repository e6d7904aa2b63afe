// Names by DNS through box itself: `box network create`, `box run -d --network`, and containers
// that look each other up with busybox's nslookup, on the bridges box made. No query leaves the
// host: the responder's idea of the host's resolvers is an empty file (BOX_HOST_RESOLV_CONF).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveResponder } from '../../src/network/dns/pid-file';
import { resolveRoots } from '../../src/paths';
import { ownerAlive } from '../../src/util/owner';
import { busyboxRoot, inspectOne, runDetached, until } from '../support/box';
import { boxProcessesOf } from '../support/inventory';

describe('names by DNS between containers', () => {
  const t = busyboxRoot();
  const env = () => {
    const empty = path.join(t.dir, 'no-resolvers.conf');
    fs.writeFileSync(empty, '');
    return { ...process.env, BOX_HOST_RESOLV_CONF: empty };
  };
  const box = (...args: string[]) => t.box(args, { env: env() });
  const lookup = (network: string, name: string) =>
    box('run', '--rm', '--network', network, 'busybox', 'nslookup', '-type=a', name);
  const networkId = (name: string) => JSON.parse(box('network', 'inspect', name).stdout)[0].Id as string;

  it('resolve as soon as run -d returned, only on their network, and stop with the container', () => {
    expect(box('network', 'create', 'app').status).toBe(0);
    expect(box('network', 'create', 'other').status).toBe(0);
    const db = runDetached(
      t,
      '--name',
      'db',
      '--network',
      'app',
      '--network-alias',
      'database',
      'busybox',
      'sleep',
      '300',
    );
    const dbIp = inspectOne<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>(t, 'db')
      .NetworkSettings.Networks.app.IPAddress;
    expect(dbIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const byName = lookup('app', 'db');
    expect(byName.stdout).toContain(`Address: ${dbIp}`);
    expect(lookup('app', 'DATABASE.app').stdout).toContain(`Address: ${dbIp}`);
    expect(lookup('app', db.slice(0, 12)).stdout).toContain(`Address: ${dbIp}`);
    const elsewhere = lookup('other', 'db');
    expect(elsewhere.status).not.toBe(0);
    expect(elsewhere.stdout + elsewhere.stderr).toContain('NXDOMAIN');

    const responder = liveResponder(resolveRoots({ root: t.root }), networkId('app'))!;
    expect(responder).toBeDefined();
    expect(box('rm', '-f', 'db').status).toBe(0);
    const gone = lookup('app', 'db');
    expect(gone.status).not.toBe(0);
    expect(gone.stdout + gone.stderr).toContain('NXDOMAIN');
    // the lookup's own container has gone too: the network is empty and its responder ends
    until(
      'the responder of an empty network ends',
      () => ownerAlive(responder.token),
      (alive) => !alive,
      10_000,
    );
    expect(box('network', 'rm', 'app', 'other').status).toBe(0);
    expect(boxProcessesOf(t)).toEqual([]);
  });
});
