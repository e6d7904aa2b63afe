// Names by DNS through box itself: `box network create`, `box run -d --network`, and containers
// that look each other up with busybox's nslookup, on the bridges box made. No query leaves the
// host: the responder's idea of the host's resolvers is an empty file (BOX_HOST_RESOLV_CONF).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveResponder } from '../../src/network/dns/pid-file';
import { resolveRoots } from '../../src/paths';
import { ownerAlive } from '../../src/util/owner';
import { BOX, busyboxRoot, inspectOne, until } from '../support/box';
import { boxProcessesOf } from '../support/inventory';

/** Processes that have `file` open. */
function holdersOf(file: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file);
      } catch {
        return false; // gone, or a descriptor closed meanwhile
      }
    });
}

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
  const runLong = (name: string, network: string) =>
    expect(box('run', '-d', '--name', name, '--network', network, 'busybox', 'sleep', '300').status).toBe(0);
  const networkId = (name: string) => JSON.parse(box('network', 'inspect', name).stdout)[0].Id as string;

  it('resolve as soon as run -d returned, only on their network, and stop with the container', () => {
    expect(box('network', 'create', 'app').status).toBe(0);
    expect(box('network', 'create', 'other').status).toBe(0);
    // run -d is started holding one more open file, as from a caller that leaks one: the responder
    // it starts must not keep it open once run -d has returned. fd 100: Node marks its inherited
    // fds close-on-exec only up to the first gap past 15 (libuv's uv_disable_stdio_inheritance)
    const leaked = path.join(t.dir, 'leaked-fd');
    const dbArgs = ['--name', 'db', '--network', 'app', '--network-alias', 'database', 'busybox', 'sleep', '300'];
    const run = spawnSync(
      'bash',
      ['-c', 'exec 100>"$0"; exec "$@"', leaked, BOX, ...t.args(['run', '-d', ...dbArgs])],
      {
        encoding: 'utf8',
        env: env(),
      },
    );
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(holdersOf(leaked)).toEqual([]);
    const db = run.stdout.trim();
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

    // stopped, it no longer resolves; started again, it does at once (with its new address)
    expect(box('stop', '-t', '1', 'db').status).toBe(0);
    const stopped = lookup('app', 'db');
    expect(stopped.stdout + stopped.stderr).toContain('NXDOMAIN');
    expect(box('start', 'db').status).toBe(0);
    const again = inspectOne<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>(t, 'db')
      .NetworkSettings.Networks.app.IPAddress;
    expect(lookup('app', 'db').stdout).toContain(`Address: ${again}`);

    // a running container connected to the network resolves there by its name and alias, until disconnected
    runLong('web', 'other');
    expect(box('network', 'connect', '--alias', 'www', 'app', 'web').status).toBe(0);
    const webIp = inspectOne<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>(t, 'web')
      .NetworkSettings.Networks.app.IPAddress;
    expect(lookup('app', 'www').stdout).toContain(`Address: ${webIp}`);
    expect(box('network', 'disconnect', 'app', 'web').status).toBe(0);
    const disconnected = lookup('app', 'www');
    expect(disconnected.stdout + disconnected.stderr).toContain('NXDOMAIN');
    expect(box('rm', '-f', 'web').status).toBe(0);

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
