// How the registry client picks http or https for a loopback registry, against small servers on
// 127.0.0.1: plain http is asked first there (a TLS handshake to a plain http registry cost a
// pull 250-300 ms), a port that answers plain http with no registry's status is then asked in
// TLS, and a TLS port still never falls back to an unverified answer.
import { afterEach, describe, expect, it } from 'vitest';
import * as http from 'node:http';
import * as net from 'node:net';
import { RegistryClient } from '../../src/image/registry/client';

const TLS_HANDSHAKE = 0x16;
const servers: net.Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** An http server on 127.0.0.1 answering GET /v2/ with `status`; its port and each connection's first byte. */
async function plainServer(status: number): Promise<{ host: string; firstBytes: number[] }> {
  const firstBytes: number[] = [];
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/v2/' ? status : 404, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.on('connection', (socket: net.Socket) => {
    socket.once('data', (d: Buffer) => firstBytes.push(d[0]));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return { host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, firstBytes };
}

describe('the scheme of a loopback registry', () => {
  it('is found with plain http first: no TLS handshake is sent to a plain http registry', async () => {
    const reg = await plainServer(200);
    await new RegistryClient(reg.host).checkLogin();
    expect(reg.firstBytes.length).toBeGreaterThan(0);
    expect(reg.firstBytes).not.toContain(TLS_HANDSHAKE);
  });

  it('is the same with --tls-verify=false', async () => {
    const reg = await plainServer(200);
    await new RegistryClient(reg.host, { tlsVerify: false }).checkLogin();
    expect(reg.firstBytes).not.toContain(TLS_HANDSHAKE);
  });

  it('is then tried in TLS when plain http answers with no registry status, and reported as no registry', async () => {
    const reg = await plainServer(404);
    await expect(new RegistryClient(reg.host).checkLogin()).rejects.toThrow(
      `${reg.host} is not a registry (GET /v2/ answered HTTP 404)`,
    );
    // the second connection was the TLS attempt, which this plain server could not answer
    expect(reg.firstBytes).toEqual([0x47, TLS_HANDSHAKE]); // "G" of GET, then a ClientHello
  });
});
