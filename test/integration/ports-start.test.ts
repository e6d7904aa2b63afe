// A container's host ports are checked again when it starts: one created with -p 8080:80 whose
// port something else took meanwhile fails to start with the one-line port error (exit 125), and
// the failed start leaves nothing: no veth, no address allocated, no DNAT rule.
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, inspectOne, leftovers, snapshot } from '../support/box';
import { nftTable, vethsOf } from '../support/network';
import { freePort } from '../support/registry';

describe('box start of a container whose host port was taken after create', () => {
  const t = busyboxRoot();
  const ok = (args: string[]) => {
    const r = t.box(args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };

  it('fails with the port error and leaves nothing; starts once the port is free again', async () => {
    const port = await freePort();
    const id = ok(['create', '--name', 'late', '-p', `${port}:80`, 'busybox', 'sleep', '600']).trim();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
    const before = snapshot(t);
    try {
      const r = t.box(['start', 'late']);
      expect({ status: r.status, stderr: r.stderr }).toEqual({
        status: 125,
        stderr:
          `box: Bind for 0.0.0.0:${port} failed: port is already allocated (by a process on the host); ` +
          'free it, or create the container again publishing 80/tcp on another host port\n',
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(inspectOne<{ State: { Status: string } }>(t, 'late').State.Status).toBe('created');
    expect(vethsOf(id)).toEqual([]);
    const bridge = JSON.parse(ok(['network', 'inspect', 'bridge']))[0] as { Containers: object };
    expect(bridge.Containers).toEqual({});
    expect(nftTable(t.root)).not.toContain(`dport ${port}`);
    expect(leftovers(t, before)).toEqual([]);
    // the port free again: the same container starts and publishes it
    ok(['start', 'late']);
    expect(ok(['port', 'late'])).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
    expect(nftTable(t.root)).toContain(`dport ${port}`);
    ok(['rm', '-f', 'late']);
  }, 60_000);
});
