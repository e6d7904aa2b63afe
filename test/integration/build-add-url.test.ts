// `box build`'s ADD of a URL, against an HTTP server this test runs on 127.0.0.1: Docker's file
// name rules, 0600 and Last-Modified as the mtime, never unpacked, --checksum, the content in the
// cache key (fetched on each build), and the errors (a bad checksum, a 404, a git repository).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRoot, storeSnapshot } from '../support/box';
import { makeTar } from '../support/tar';

const TOOL = 'echo tool\n';
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT'; // 1445412480
const PKG = zlib.gzipSync(makeTar([{ path: 'pkg/inside.txt', data: 'inside\n' }]));

describe('box build: ADD of a URL', () => {
  const t = busyboxRoot();
  let server: http.Server;
  let base = '';
  let changing = 'one\n';
  const requests: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      switch (req.url) {
        case '/files/tool.sh':
          res.writeHead(200, { 'last-modified': LAST_MODIFIED }).end(TOOL);
          return;
        case '/redirect':
          res.writeHead(302, { location: '/files/tool.sh' }).end();
          return;
        case '/pkg.tar.gz':
          res.writeHead(200, { 'content-type': 'application/gzip' }).end(PKG);
          return;
        case '/':
          res.writeHead(200).end('index\n');
          return;
        case '/changing':
          res.writeHead(200).end(changing);
          return;
        default:
          res.writeHead(404).end('no such file\n');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const build = (dockerfile: string, ...args: string[]) => t.boxAsync(['build', ...args, '-'], dockerfile);
  const run = (...args: string[]) => {
    const r = t.box(['run', '--rm', ...args]);
    expect(r.stderr).toBe('');
    return r.stdout;
  };
  const tmpLeft = () => fs.readdirSync(path.join(t.root, 'tmp')).filter((n) => n.startsWith('.tmp-url'));
  /** storeSnapshot, but for whether tmp/ exists (the work directory: kept once made) */
  const store = () => storeSnapshot(t.root).filter((line) => !line.startsWith('tmp '));

  it("Docker's file name, 0600, Last-Modified as mtime, not unpacked; --chmod, --chown, --checksum", async () => {
    const sum = crypto.createHash('sha256').update(TOOL).digest('hex');
    const r = await build(
      [
        'FROM busybox',
        `ADD ${base}/files/tool.sh /opt/`,
        `ADD --chmod=755 ${base}/redirect /usr/local/bin/tool`,
        `ADD ${base}/pkg.tar.gz /opt/`,
        `ADD ${base}/ /dl/`,
        `ADD --checksum=sha256:${sum} --chown=1:2 ${base}/files/tool.sh /checked`,
        '',
      ].join('\n'),
      '-q',
      '-t',
      'url:1',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const files = '/opt/tool.sh /usr/local/bin/tool /opt/pkg.tar.gz /dl/__unnamed__ /checked';
    expect(run('url:1', 'sh', '-c', `stat -c '%a %u:%g %Y %n' ${files}; ls /opt; cat /opt/tool.sh /dl/*`)).toBe(
      [
        '600 0:0 1445412480 /opt/tool.sh',
        '755 0:0 1445412480 /usr/local/bin/tool',
        '600 0:0 0 /opt/pkg.tar.gz',
        '600 0:0 0 /dl/__unnamed__',
        '600 1:2 1445412480 /checked',
        'pkg.tar.gz',
        'tool.sh',
        'echo tool',
        'index',
        '',
      ].join('\n'),
    );
    const saved = t.box(['run', '--rm', 'url:1', 'md5sum', '/opt/pkg.tar.gz']).stdout.split(' ')[0];
    expect(saved).toBe(crypto.createHash('md5').update(PKG).digest('hex'));
    expect(tmpLeft()).toEqual([]);
  });

  it("is cached by the file's content: fetched each build, unchanged reruns nothing, changed reruns", async () => {
    const dockerfile = `FROM busybox\nADD ${base}/changing /c\nRUN cp /c /copy\n`;
    changing = 'one\n';
    const first = await build(dockerfile, '-q');
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const fetched = requests.filter((u) => u === '/changing').length;
    const again = await build(dockerfile, '-q');
    expect(again.status).toBe(0);
    // the same image id: a step that ran again would have recorded a new creation time
    expect(again.stdout).toBe(first.stdout);
    expect(requests.filter((u) => u === '/changing').length).toBe(fetched + 1);
    changing = 'two\n';
    const changed = await build(dockerfile, '-q');
    expect(changed.status).toBe(0);
    expect(changed.stdout).not.toBe(first.stdout);
    expect(run(changed.stdout.trim(), 'cat', '/copy')).toBe('two\n');
  });

  it('a wrong checksum, a 404, a git repository or another scheme: a one-line error, nothing left', async () => {
    const before = store();
    const wrong = '0'.repeat(64);
    const cases: [string, RegExp][] = [
      [
        `ADD --checksum=sha256:${wrong} ${base}/files/tool.sh /x`,
        new RegExp(
          `^box: Dockerfile \\(stdin\\):2: ADD ${base}/files/tool.sh: the content's checksum is ` +
            `sha256:[0-9a-f]{64}, not the sha256:${wrong} --checksum asks for\\n$`,
        ),
      ],
      [`ADD --checksum=md5:abc ${base}/files/tool.sh /x`, /--checksum=md5:abc: expected sha256: and 64 hex digits/],
      [
        `ADD ${base}/missing /x`,
        /:2: ADD http:\/\/127\.0\.0\.1:\d+\/missing: the server answered 404 Not Found: check the URL\n$/,
      ],
      [
        `ADD ${base}/repo.git#main /src`,
        /:2: ADD .*repo\.git#main: git repositories are not supported by box build: clone it in a RUN step\n$/,
      ],
      ['ADD git@github.com:moby/moby.git /src', /git repositories are not supported/],
      ['ADD ftp://127.0.0.1/file /x', /ADD ftp:\/\/127\.0\.0\.1\/file: box build fetches http and https URLs only/],
      [
        `ADD ${base}/files/tool.sh local.txt /x/`,
        /ADD "local.txt" with a URL: give the local files their own ADD or COPY/,
      ],
      ['ADD --checksum=sha256:' + wrong + ' local.txt /x', /--checksum is for ADD of a URL/],
    ];
    for (const [line, message] of cases) {
      const r = await build(`FROM busybox\n${line}\n`, '-q');
      expect(r.stderr, line).toMatch(message);
      expect(r.stderr.trim().split('\n'), line).toHaveLength(1);
      expect(r.status, line).toBe(125);
    }
    expect(store()).toEqual(before);
  });
});
