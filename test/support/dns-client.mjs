// A DNS client for tests, run where the query must come from (`ip netns exec NS node dns-client.mjs`):
//   node dns-client.mjs SERVER NAME [TYPE] [--tcp] [--class CH]   prints {"rcode", "flags", "answers": [data]}
//   node dns-client.mjs SERVER NAME A --count N --spread MS       N UDP queries over MS ms; prints {"sent", "answered"}
//   --timeout MS: how long to wait for the (last) answer (default 5000)
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import dnsPacket from 'dns-packet';

const [server, name, type = 'A', ...rest] = process.argv.slice(2);
const opt = (flag, dflt) => {
  const i = rest.indexOf(flag);
  return i >= 0 ? rest[i + 1] : dflt;
};
const tcp = rest.includes('--tcp');
const klass = opt('--class', 'IN');
const count = Number(opt('--count', '1'));
const spread = Number(opt('--spread', '0'));
const timeoutMs = Number(opt('--timeout', '5000'));

const query = (id) =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: klass }],
  });
const summary = (p) => ({
  rcode: p.rcode,
  authoritative: p.flag_aa,
  truncated: p.flag_tc,
  answers: (p.answers ?? []).map((a) => (Array.isArray(a.data) ? a.data.map(String).join('') : String(a.data))),
});

function fail(why) {
  process.stdout.write(JSON.stringify({ error: why }) + '\n');
  process.exit(1);
}

if (tcp) {
  const socket = net.connect({ host: server, port: 53 }, () => {
    const q = query(4242);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    socket.write(Buffer.concat([len, q]));
  });
  let got = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    got = Buffer.concat([got, chunk]);
    if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
      process.stdout.write(JSON.stringify(summary(dnsPacket.decode(got.subarray(2)))) + '\n');
      socket.destroy();
    }
  });
  socket.on('error', (e) => fail(String(e)));
  socket.on('end', () => fail('closed without an answer'));
  setTimeout(() => fail('timeout'), timeoutMs).unref();
} else {
  const socket = dgram.createSocket('udp4');
  const pending = new Map();
  let answered = 0;
  let last;
  socket.on('message', (msg) => {
    const p = dnsPacket.decode(msg);
    if (!pending.has(p.id)) return;
    pending.delete(p.id);
    answered++;
    last = p;
    if (answered === count) finish();
  });
  const finish = () => {
    socket.close();
    const out = count === 1 ? summary(last) : { sent: count, answered };
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  };
  for (let i = 0; i < count; i++) {
    const id = (i + 1) & 0xffff;
    setTimeout(
      () => {
        pending.set(id, true);
        socket.send(query(id), 53, server);
      },
      (spread * i) / count,
    );
  }
  setTimeout(() => (count === 1 && answered === 0 ? fail('timeout') : finish()), spread + timeoutMs);
}
