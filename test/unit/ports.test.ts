// `-p`/`-P` parsing (Docker's forms and error texts), the choice and check of host ports, the
// kernel's listening sockets read from /proc/net (against real sockets), and `box port`'s lines.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import {
  assignHostPorts,
  ephemeralRange,
  HostSocket,
  hostSockets,
  parsePublish,
  PortBinding,
  portLines,
  PublishedPort,
  rulesetPorts,
  withExposedPorts,
} from '../../src/network/ports';

const tcp = (containerPort: number, hostPort = '', hostIp = ''): PortBinding => ({
  containerPort,
  protocol: 'tcp',
  hostIp,
  hostPort,
});

describe('parsePublish', () => {
  it.each<[string, PortBinding[]]>([
    ['80', [tcp(80)]],
    ['80/udp', [{ ...tcp(80), protocol: 'udp' }]],
    ['80/', [tcp(80)]],
    ['8080:80', [tcp(80, '8080')]],
    ['8080:80/TCP', [tcp(80, '8080')]],
    ['0:80', [tcp(80)]],
    ['127.0.0.1:8080:80', [tcp(80, '8080', '127.0.0.1')]],
    ['127.0.0.1::80', [tcp(80, '', '127.0.0.1')]],
    ['[0.0.0.0]:8080:80', [tcp(80, '8080', '0.0.0.0')]],
    ['1000-1002', [tcp(1000), tcp(1001), tcp(1002)]],
    ['2000-2001:1000-1001', [tcp(1000, '2000'), tcp(1001, '2001')]],
    ['2000-2010:80', [tcp(80, '2000-2010')]],
    ['08080:080', [tcp(80, '8080')]],
    ['published=8080,target=80', [tcp(80, '8080')]],
    ['target=53,published=5353,protocol=udp,mode=host', [{ ...tcp(53, '5353'), protocol: 'udp' }]],
    ['target=80', [tcp(80)]],
  ])('%s', (spec, want) => {
    expect(parsePublish(spec)).toEqual(want);
  });

  it.each<[string, string]>([
    ['', 'no port specified: <empty>'],
    ['127.0.0.1:', 'no port specified: 127.0.0.1:<empty>'],
    ['abc', 'invalid containerPort: abc'],
    ['0', 'invalid containerPort: 0'],
    ['65536', 'invalid containerPort: 65536'],
    ['81-80', 'invalid containerPort: 81-80'],
    ['a:80', 'invalid hostPort: a'],
    ['8080-8079:80', 'invalid hostPort: 8080-8079'],
    ['localhost:8080:80', 'invalid IP address: localhost'],
    ['1.2.3:8080:80', 'invalid IP address: 1.2.3'],
    ['2000-2001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 2000-2001'],
    ['80/xyz', 'invalid proto: xyz'],
    ['published=8080,80', "invalid publish opts format (should be name=value but got '80')"],
    ['published=8080', 'no port specified: 8080:/tcp<empty>'],
    ['80/sctp', 'box publishes tcp and udp ports, not sctp'],
    ['[::1]:8080:80', 'box publishes ports on IPv4 host addresses only, not ::1'],
    ['::1:8080:80', 'box publishes ports on IPv4 host addresses only, not ::1'],
  ])('refuses %j: %s', (spec, text) => {
    let err: unknown;
    try {
      parsePublish(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BoxError);
    expect((err as BoxError).exitCode).toBe(125);
    expect((err as BoxError).message.startsWith(text)).toBe(true);
    expect((err as BoxError).message).not.toContain('\n');
  });
});

describe('withExposedPorts (-P)', () => {
  it('adds a random host port for each exposed port that -p does not bind, tcp by default', () => {
    expect(withExposedPorts([tcp(80, '8080')], ['80/tcp', '53/udp', '443', '7/sctp'])).toEqual([
      tcp(80, '8080'),
      { ...tcp(53), protocol: 'udp' },
      tcp(443),
    ]);
  });
});

describe('assignHostPorts', () => {
  const sockets: HostSocket[] = [
    { address: '0.0.0.0', port: 5000, protocol: 'tcp' },
    { address: '127.0.0.1', port: 5001, protocol: 'tcp' },
    { address: '::', port: 5002, protocol: 'udp' },
  ];
  const others: PublishedPort[] = [{ hostIp: '0.0.0.0', hostPort: 6000, containerPort: 80, protocol: 'tcp' }];

  it('keeps a free host port asked for, on every address unless one is given', () => {
    expect(assignHostPorts([tcp(80, '7000'), tcp(81, '5001', '10.1.2.3')], others, sockets)).toEqual([
      { hostIp: '0.0.0.0', hostPort: 7000, containerPort: 80, protocol: 'tcp' },
      { hostIp: '10.1.2.3', hostPort: 5001, containerPort: 81, protocol: 'tcp' },
    ]);
    // another protocol is another port
    expect(assignHostPorts([{ ...tcp(53, '5000'), protocol: 'udp' }], others, sockets)[0].hostPort).toBe(5000);
  });

  it.each<[PortBinding, string]>([
    [tcp(80, '5000'), 'Bind for 0.0.0.0:5000 failed: port is already allocated (by a process on the host)'],
    [tcp(80, '5000', '127.0.0.1'), 'Bind for 127.0.0.1:5000 failed: port is already allocated (by a process'],
    [tcp(80, '5001'), 'Bind for 0.0.0.0:5001 failed: port is already allocated (by a process on the host)'],
    [tcp(80, '6000', '127.0.0.1'), 'Bind for 127.0.0.1:6000 failed: port is already allocated (by a container)'],
    [{ ...tcp(80, '5002'), protocol: 'udp' }, 'Bind for 0.0.0.0:5002 failed'],
  ])('refuses a taken port: %j', (b, text) => {
    expect(() => assignHostPorts([b], others, sockets)).toThrow(text);
  });

  it('picks a free port at random in a range, never one taken or chosen for another binding', () => {
    // 5000 and 5001 are taken (5001 on 127.0.0.1 clashes with every address): 4998 and 4999 remain
    const got = assignHostPorts([tcp(80, '4998-5001'), tcp(81, '4998-5001')], others, sockets, () => 0.5);
    expect(got.map((p) => p.hostPort)).toEqual([4998, 4999]);
  });

  it('refuses one host port for two bindings of the container', () => {
    expect(() => assignHostPorts([tcp(80, '7000'), tcp(81, '7000')], others, sockets)).toThrow(
      'Bind for 0.0.0.0:7000 failed: port is already allocated (by another -p of this container)',
    );
  });

  it('refuses a range with no free port', () => {
    expect(() => assignHostPorts([tcp(80, '5000-5001')], others, sockets)).toThrow(
      'no free host port in 5000-5001 on 0.0.0.0 for 80/tcp',
    );
  });

  it('takes random ports from the ephemeral range', () => {
    const [lo, hi] = ephemeralRange();
    const got = assignHostPorts([tcp(80), tcp(81)], [], [], () => 0);
    expect(got.map((p) => p.hostPort)).toEqual([lo, lo + 1]);
    const top = assignHostPorts([tcp(80)], [], [], () => 0.999999999);
    expect(top[0].hostPort).toBe(hi);
  });
});

describe('hostSockets', () => {
  it('lists the listening TCP and bound UDP sockets of this namespace, IPv4 and IPv6', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const server6 = net.createServer();
    await new Promise<void>((resolve) => server6.listen(0, '::', resolve));
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '0.0.0.0', resolve));
    try {
      const got = hostSockets();
      const tcpPort = (server.address() as net.AddressInfo).port;
      const tcp6Port = (server6.address() as net.AddressInfo).port;
      expect(got).toContainEqual({ address: '127.0.0.1', port: tcpPort, protocol: 'tcp' });
      expect(got).toContainEqual({ address: '::', port: tcp6Port, protocol: 'tcp' });
      expect(got).toContainEqual({ address: '0.0.0.0', port: udp.address().port, protocol: 'udp' });
      expect(() => assignHostPorts([tcp(80, String(tcp6Port))], [])).toThrow('already allocated');
    } finally {
      server.close();
      server6.close();
      udp.close();
    }
  });
});

describe('portLines (box port)', () => {
  const ports: PublishedPort[] = [
    { hostIp: '0.0.0.0', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
    { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
    { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  ];

  it("lists every port in Docker's format", () => {
    expect(portLines(ports, 'web')).toEqual([
      '53/udp -> 127.0.0.1:5353',
      '80/tcp -> 0.0.0.0:8080',
      '443/tcp -> 0.0.0.0:8443',
    ]);
  });

  it('gives the host side of one private port (tcp by default) or says none is published', () => {
    expect(portLines(ports, 'web', '80')).toEqual(['0.0.0.0:8080']);
    expect(portLines(ports, 'web', '53/udp')).toEqual(['127.0.0.1:5353']);
    expect(() => portLines(ports, 'web', '53')).toThrow("no public port '53/tcp' published for web");
    expect(() => portLines(ports, 'web', 'x')).toThrow('invalid port "x"');
  });
});

describe('rulesetPorts', () => {
  it("turns a container's ports into DNAT entries, every address as no address", () => {
    const ports: PublishedPort[] = [
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ];
    expect(rulesetPorts(ports, '10.88.0.2', 'box0')).toEqual([
      {
        hostIp: undefined,
        hostPort: 8080,
        containerIp: '10.88.0.2',
        containerPort: 80,
        protocol: 'tcp',
        bridge: 'box0',
      },
      {
        hostIp: '127.0.0.1',
        hostPort: 5353,
        containerIp: '10.88.0.2',
        containerPort: 53,
        protocol: 'udp',
        bridge: 'box0',
      },
    ]);
  });
});
