// The netlink client against the real kernel (root): attributes round-trip, a dump agrees with
// `ip -j link`, a refused request names the operation and carries the errno, replies to an
// earlier request are skipped by sequence number, and a socket opened in another process's netns
// sees that namespace while the calling thread returns to its own, even when opening fails.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Attrs,
  attr,
  attrString,
  attrU8,
  attrU32,
  attrU32BE,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NetlinkError,
  NetlinkSocket,
  nested,
  openNetlink,
} from '../../src/linux/netlink';
import { withNetnsOf } from '../../src/linux/netns';
import { ipJson, NetnsProcess, startNetnsProcess } from '../support/netns';

const RTM_GETLINK = 18;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;

function ifinfomsg(index = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  return b;
}

function linkNames(sock: NetlinkSocket): string[] {
  return sock
    .dump('list links', RTM_GETLINK, ifinfomsg())
    .map((m) => Attrs.parse(m.payload, 16).str(IFLA_IFNAME)!)
    .sort();
}

const threadNetns = () => fs.readlinkSync('/proc/thread-self/ns/net');

describe('attributes', () => {
  it('encode with padding and decode back, nested ones too', () => {
    const inner = [attrU32(1, 1500), attrString(2, 'eth0'), attrU8(3, 7), attrU32BE(4, 0x0a000001)];
    const buf = Buffer.concat([nested(5, inner), attr(6, Buffer.from([1, 2, 3])), attrU32(6, 9)]);
    expect(buf.length % 4).toBe(0);
    const top = Attrs.parse(buf);
    expect(top.types()).toEqual([5, 6]);
    expect(top.all(6)).toHaveLength(2); // a repeated type keeps both, in order
    expect([...top.get(6)!]).toEqual([1, 2, 3]);
    const n = top.nested(5)!; // the NLA_F_NESTED flag is masked off the type
    expect([n.u32(1), n.str(2), n.u8(3), n.u32be(4)]).toEqual([1500, 'eth0', 7, 0x0a000001]);
    expect(n.get(9)).toBeUndefined();
  });

  it('stop at a truncated tail instead of reading past the buffer', () => {
    const buf = Buffer.concat([attrU32(1, 5), attrString(2, 'x')]);
    expect(Attrs.parse(buf.subarray(0, buf.length - 4)).types()).toEqual([1]);
  });
});

describe('rtnetlink socket in the host netns', () => {
  let sock: NetlinkSocket;
  beforeAll(() => {
    sock = openNetlink(NETLINK_ROUTE);
  });
  afterAll(() => sock.close());

  it('dumps the same links as ip -j link', () => {
    const ours = linkNames(sock);
    const theirs = ipJson<{ ifname: string }[]>(undefined, ['link', 'show'])
      .map((l) => l.ifname)
      .sort();
    expect(ours).toEqual(theirs);
  });

  it('answers a GET by name before its ACK', () => {
    const replies = sock.request('get lo', {
      type: RTM_GETLINK,
      payload: Buffer.concat([ifinfomsg(), attrString(IFLA_IFNAME, 'lo')]),
    });
    expect(replies).toHaveLength(1);
    const a = Attrs.parse(replies[0].payload, 16);
    expect(a.str(IFLA_IFNAME)).toBe('lo');
    expect(a.u32(IFLA_MTU)).toBe(Number(fs.readFileSync('/sys/class/net/lo/mtu', 'utf8')));
  });

  it('throws a NetlinkError naming the operation, with the errno code', () => {
    const ask = () =>
      sock.request('get link nosuchlink0', {
        type: RTM_GETLINK,
        payload: Buffer.concat([ifinfomsg(), attrString(IFLA_IFNAME, 'nosuchlink0')]),
      });
    expect(ask).toThrow(NetlinkError);
    expect(ask).toThrow(/^get link nosuchlink0: ENODEV \(19\)/);
  });

  it("adds the kernel's own explanation (extended ACK) to the error", () => {
    const IFLA_LINKINFO = 18;
    const IFLA_INFO_KIND = 1;
    const RTM_NEWLINK = 16;
    expect(() =>
      sock.request('create link of kind nosuchkind', {
        type: RTM_NEWLINK,
        flags: NLM_F_CREATE | NLM_F_EXCL,
        payload: Buffer.concat([
          ifinfomsg(),
          attrString(IFLA_IFNAME, 'nosuchkind0'),
          nested(IFLA_LINKINFO, [attrString(IFLA_INFO_KIND, 'nosuchkind')]),
        ]),
      }),
    ).toThrow(/^create link of kind nosuchkind: E\w+ \(95\): Unknown device type$/);
  });

  it('sends a batch in one datagram, names the message the kernel refused, and stays usable', () => {
    const get = (name: string) => ({
      type: RTM_GETLINK,
      flags: NLM_F_ACK,
      payload: Buffer.concat([ifinfomsg(), attrString(IFLA_IFNAME, name)]),
      what: `get ${name}`,
    });
    const replies = sock.batch('two gets', [get('lo'), get('lo')]);
    expect(replies.map((m) => Attrs.parse(m.payload, 16).str(IFLA_IFNAME))).toEqual(['lo', 'lo']);
    expect(() => sock.batch('three gets', [get('lo'), get('nosuchlink1'), get('lo')])).toThrow(
      /^get nosuchlink1: ENODEV/,
    );
    // The replies after the refusal were drained: nothing stale reaches the next request.
    expect(linkNames(sock).filter((n) => n === 'lo')).toEqual(['lo']);
  });

  it('skips replies left over from an earlier request (sequence numbers)', () => {
    // A batch without NLM_F_ACK returns at once, leaving the kernel's answer queued on the socket.
    sock.batch('unread get', [
      { type: RTM_GETLINK, payload: Buffer.concat([ifinfomsg(), attrString(IFLA_IFNAME, 'lo')]) },
    ]);
    // Read without the check, that answer (an RTM_NEWLINK for lo) would join the dump as a second lo.
    expect(linkNames(sock).filter((n) => n === 'lo')).toEqual(['lo']);
  });

  it('refuses to work once closed', () => {
    const s = openNetlink(NETLINK_ROUTE);
    s.close();
    expect(() => linkNames(s)).toThrow(/closed/);
  });
});

describe('a socket in another process netns', () => {
  let container: NetnsProcess;
  beforeAll(async () => {
    container = await startNetnsProcess();
  });
  afterAll(() => container?.stop());

  it('sees only that namespace, and the thread comes back to its own', () => {
    const before = threadNetns();
    const sock = openNetlink(NETLINK_ROUTE, { netnsPid: container.pid });
    try {
      expect(threadNetns()).toBe(before);
      expect(linkNames(sock)).toEqual(['lo']);
    } finally {
      sock.close();
    }
  });

  it('returns the thread to its own netns when the work inside throws', () => {
    const before = threadNetns();
    let inside = '';
    expect(() =>
      withNetnsOf(container.pid, () => {
        inside = threadNetns();
        throw new Error('injected');
      }),
    ).toThrow('injected');
    expect(inside).toBe(fs.readlinkSync(`/proc/${container.pid}/ns/net`));
    expect(inside).not.toBe(before);
    expect(threadNetns()).toBe(before);
  });

  it('fails with the pid named when the process is gone, and stays home', async () => {
    const before = threadNetns();
    const gone = await startNetnsProcess();
    await gone.stop();
    expect(() => openNetlink(NETLINK_ROUTE, { netnsPid: gone.pid })).toThrow(
      new RegExp(`network namespace of process ${gone.pid}: ENOENT`),
    );
    expect(threadNetns()).toBe(before);
  });
});
