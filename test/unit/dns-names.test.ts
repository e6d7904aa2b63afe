// A network's names file (src/network/dns/names.ts): concurrent changes under its lock, what is
// left out, and the file gone with its last entry; and which networks get a responder.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dnsNetworkOf } from '../../src/network/dns/containers';
import { networksWithNames, publishNames, readNames, unpublishNames } from '../../src/network/dns/names';
import type { NetworkRecord } from '../../src/network/store';
import { featurePaths, resolveRoots } from '../../src/paths';

const hex = () => crypto.randomBytes(32).toString('hex');

describe('names file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-dns-names-'));
  const roots = resolveRoots({ root: path.join(dir, 'root') });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every entry of 40 concurrent publishes, and is removed with its last entry', async () => {
    const net = hex();
    const ids = Array.from({ length: 40 }, hex);
    await Promise.all(
      ids.map((id, i) => publishNames(roots, net, { containerId: id, names: [`c${i}`], ipv4: `10.1.0.${i + 2}` })),
    );
    expect(
      readNames(roots, net)
        .map((e) => e.containerId)
        .sort(),
    ).toEqual([...ids].sort());
    expect(networksWithNames(roots)).toContain(net);
    expect(fs.readdirSync(path.dirname(featurePaths.dnsNames(roots, net)))).toEqual(['names.json']); // no temp file left
    await Promise.all(ids.map((id) => unpublishNames(roots, net, id)));
    expect(fs.existsSync(featurePaths.dnsNames(roots, net))).toBe(false);
    expect(networksWithNames(roots)).not.toContain(net);
  });

  it("replaces a container's entry, leaves out names DNS cannot carry, refuses a bad address", async () => {
    const net = hex();
    const id = hex();
    await publishNames(roots, net, { containerId: id, names: ['web', 'web'], ipv4: '10.1.0.2' });
    await publishNames(roots, net, {
      containerId: id,
      names: ['web', 'my alias', 'a..b', '-x', 'ok.alias', 'app_web-'],
      ipv4: '10.1.0.3',
    });
    expect(readNames(roots, net)).toEqual([
      { containerId: id, names: ['web', 'ok.alias', 'app_web-'], ipv4: '10.1.0.3' },
    ]);
    await expect(publishNames(roots, net, { containerId: id, names: ['web'], ipv4: '10.1.0.300' })).rejects.toThrow(
      /not a container id and IPv4/,
    );
    await unpublishNames(roots, net, id);
  });

  it('skips a damaged entry when reading, keeps the others', () => {
    const net = hex();
    const file = featurePaths.dnsNames(roots, net);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const good = { containerId: hex(), names: ['good'], ipv4: '10.1.0.2' };
    fs.writeFileSync(
      file,
      JSON.stringify({ entries: [good, { containerId: '../x', names: ['bad'], ipv4: '10.1.0.3' }, 7] }),
    );
    expect(readNames(roots, net)).toEqual([good]);
  });
});

describe('dnsNetworkOf', () => {
  const record = (Name: string, Internal = false) =>
    ({
      Id: 'f'.repeat(64),
      Name,
      Driver: 'bridge',
      Internal,
      IPAM: { Config: [{ Subnet: '10.89.0.0/24', Gateway: '10.89.0.1' }] },
    }) as unknown as NetworkRecord;

  it('gives a user network its gateway as a CIDR and its internal flag; the default bridge has no responder', () => {
    expect(dnsNetworkOf(record('app', true))).toEqual({
      id: 'f'.repeat(64),
      name: 'app',
      gateway: '10.89.0.1/24',
      internal: true,
    });
    expect(dnsNetworkOf(record('bridge'))).toBeUndefined();
  });
});
