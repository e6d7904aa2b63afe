// The compose loader against the specification: interpolation, merge (with !reset/!override),
// extends, include, profiles, project names, .env files and errors. The expected models are
// written by hand from the specification's text, not printed by the code under test.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose files hold ${...} in plain strings
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interpolate } from '../../src/compose/interpolate';
import { networksByPriority } from '../../src/compose/model';
import { parseDotenv } from '../../src/compose/dotenv';
import { discoverFiles, LoadOptions, loadProject, normaliseProjectName } from '../../src/compose/project';
import { splitWords } from '../../src/compose/shlex';

let dir: string;
let warnings: string[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-compose-'));
  warnings = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function load(o: Partial<LoadOptions> = {}) {
  return loadProject({ files: [], envFiles: [], profiles: [], cwd: dir, env: {}, warn: (m) => warnings.push(m), ...o });
}

const DEFAULT_NET = (project: string) => ({ default: { name: `${project}_default` } });

describe('interpolation', () => {
  const vars: Record<string, string | undefined> = { SET: 'v', EMPTY: '' };
  const i = (s: string) =>
    interpolate(
      s,
      (n) => vars[n],
      'test',
      (m) => warnings.push(m),
    );

  it('every form of the specification', () => {
    expect(i('$SET ${SET}')).toBe('v v');
    expect(i('${SET:-d} ${EMPTY:-d} ${UNSET:-d}')).toBe('v d d');
    expect(i('${SET-d} ${EMPTY-d} ${UNSET-d}')).toBe('v  d');
    expect(i('${SET:+r} ${EMPTY:+r} ${UNSET:+r}')).toBe('r  ');
    expect(i('${SET+r} ${EMPTY+r} ${UNSET+r}')).toBe('r r ');
    expect(i('${SET:?e} ${EMPTY?e}')).toBe('v ');
    expect(i('$$SET $${SET} a$ $1')).toBe('$SET ${SET} a$ $1');
    expect(i('${UNSET:-${SET}-x}')).toBe('v-x');
    expect(i('${UNSET:-${ALSO:-deep}}')).toBe('deep');
    expect(warnings).toEqual([]);
    expect(i('[$UNSET]')).toBe('[]');
    expect(warnings).toEqual(['the "UNSET" variable is not set: defaulting to a blank string']);
  });

  it('required variables and bad forms are errors naming the variable', () => {
    expect(() => i('${EMPTY:?must be set}')).toThrow('required variable EMPTY is missing a value: must be set');
    expect(() => i('${UNSET?}')).toThrow('required variable UNSET is missing a value (in test)');
    expect(() => i('${SET')).toThrow('invalid interpolation format for test');
    expect(() => i('${SET%%x}')).toThrow('invalid interpolation format');
    expect(() => i('${}')).toThrow('invalid interpolation format');
  });
});

describe('.env files', () => {
  it('quotes, export, comments, interpolation and bare names', () => {
    const text = [
      '# comment',
      'export A=1',
      'B = two words # comment',
      "C='${A} literal'",
      'D="${A}\\nline"',
      'E=${A}-${B}',
      'F',
      'G="multi',
      'line"',
      '',
    ].join('\n');
    const vars = parseDotenv(text, '.env', (n) => (n === 'F' ? 'from-env' : undefined));
    expect(Object.fromEntries(vars)).toEqual({
      A: '1',
      B: 'two words',
      C: '${A} literal',
      D: '1\nline',
      E: '1-two words',
      F: 'from-env',
      G: 'multi\nline',
    });
    expect(() => parseDotenv('=x', 'e', () => undefined)).toThrow('e:1: invalid line "=x"');
  });
});

describe('words of a string command', () => {
  it('splits as a shell would, without expansion', () => {
    expect(splitWords(`sh -c 'echo "a b"' "x \\"y\\"" z\\ w`, 'c')).toEqual(['sh', '-c', 'echo "a b"', 'x "y"', 'z w']);
    expect(() => splitWords('echo "a', 'services.x.command')).toThrow('services.x.command: unterminated "');
  });
});

describe('project name and files', () => {
  it('normalises a directory name as Docker Compose does', () => {
    expect(normaliseProjectName('My App.v2')).toBe('myappv2');
    expect(normaliseProjectName('_-x_y')).toBe('x_y');
  });

  it('is -p, else COMPOSE_PROJECT_NAME (also from .env), else name:, else the directory', () => {
    const sub = path.join(dir, 'My.Proj');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, 'compose.yaml'), 'services:\n  a:\n    image: busybox\n');
    expect(load({ cwd: sub }).name).toBe('myproj');
    fs.writeFileSync(path.join(sub, 'compose.yaml'), 'name: ${N:-named}\nservices:\n  a:\n    image: busybox\n');
    expect(load({ cwd: sub }).name).toBe('named');
    fs.writeFileSync(path.join(sub, '.env'), 'COMPOSE_PROJECT_NAME=fromdotenv\n');
    expect(load({ cwd: sub }).name).toBe('fromdotenv');
    expect(load({ cwd: sub, env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).name).toBe('fromenv');
    expect(load({ cwd: sub, projectName: 'flag' }).name).toBe('flag');
    expect(() => load({ cwd: sub, projectName: 'Bad Name' })).toThrow('invalid project name "Bad Name" (-p)');
  });

  it('finds compose.yaml upwards from the working directory, with its override file', () => {
    write('docker-compose.yml', 'services: {}\n');
    write('compose.yaml', 'services: {}\n');
    write('compose.override.yaml', 'services: {}\n');
    fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    expect(discoverFiles(path.join(dir, 'a', 'b'))).toEqual([
      path.join(dir, 'compose.yaml'),
      path.join(dir, 'compose.override.yaml'),
    ]);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'box-compose-none-'));
    try {
      expect(() => discoverFiles(empty)).toThrow(/no compose file found in .* create compose.yaml or name one with -f/);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it('reads -f - from stdin, relative paths from the working directory', () => {
    expect(() => load({ files: ['-'], readStdin: () => 'services: {a: {image: x, env_file: e.env}}' })).toThrow(
      `cannot read env_file of service "a" "${path.join(dir, 'e.env')}" (no such file)`,
    );
    write('e.env', 'X=1\n');
    const p = load({ files: ['-'], readStdin: () => 'services:\n  a:\n    image: busybox\n    env_file: e.env\n' });
    expect(p.workingDir).toBe(dir);
    expect(p.files).toEqual(['-']);
    expect(p.services.a).toEqual({ image: 'busybox', environment: { X: '1' }, networks: { default: null } });
  });
});

describe('the normalised model', () => {
  it('long forms of the short syntaxes, interpolated from the environment over .env', () => {
    write('.env', 'TAG=1.0\nPORT=8080\n');
    write('web.env', 'FROM_FILE=yes\nOVERRIDDEN=file\n');
    write(
      'compose.yaml',
      [
        'name: shop',
        'services:',
        '  web:',
        '    image: "registry.local/web:${TAG}"',
        '    command: sh -c "echo $$HOME"',
        '    environment: [A=1, OVERRIDDEN=env, FROM_SHELL, MISSING]',
        '    env_file: web.env',
        '    labels: {tier: front}',
        '    ports: ["${PORT}:80", "127.0.0.1:9000-9001:90-91/udp", 7000]',
        '    volumes: [data:/data:ro, ./site:/site, /anon]',
        '    depends_on: [db]',
        '    healthcheck: {test: wget -q localhost, interval: 5s}',
        '    deploy: {replicas: 2, resources: {limits: {memory: 64m}}}',
        '  db:',
        '    image: db',
        '    networks: {back: {aliases: [database]}}',
        'networks:',
        '  back: {}',
        'volumes:',
        '  data:',
        '  ext: {external: true}',
      ].join('\n'),
    );
    const p = load({ env: { TAG: '2.0', FROM_SHELL: 'shell' } });
    expect(p).toEqual({
      name: 'shop',
      workingDir: dir,
      files: [path.join(dir, 'compose.yaml')],
      services: {
        db: { image: 'db', networks: { back: { aliases: ['database'] } } },
        web: {
          image: 'registry.local/web:2.0',
          command: ['sh', '-c', 'echo $HOME'],
          environment: { FROM_FILE: 'yes', OVERRIDDEN: 'env', A: '1', FROM_SHELL: 'shell' },
          labels: { tier: 'front' },
          ports: [
            { mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' },
            { mode: 'ingress', target: 90, published: '9000', host_ip: '127.0.0.1', protocol: 'udp' },
            { mode: 'ingress', target: 91, published: '9001', host_ip: '127.0.0.1', protocol: 'udp' },
            { mode: 'ingress', target: 7000, protocol: 'tcp' },
          ],
          volumes: [
            { type: 'volume', source: 'data', target: '/data', read_only: true },
            { type: 'bind', source: path.join(dir, 'site'), target: '/site', bind: { create_host_path: true } },
            { type: 'volume', target: '/anon' },
          ],
          depends_on: { db: { condition: 'service_started', required: true } },
          healthcheck: { test: ['CMD-SHELL', 'wget -q localhost'], interval: '5s' },
          deploy: { replicas: 2, resources: { limits: { memory: '64m' } } },
          networks: { default: null },
        },
      },
      networks: { back: { name: 'shop_back' }, ...DEFAULT_NET('shop') },
      volumes: { data: { name: 'shop_data' }, ext: { name: 'ext', external: true } },
      secrets: {},
      configs: {},
      disabledServices: [],
    });
  });

  it("takes mac_address (also a network's), and dns_search and dns_opt as one value or a list", () => {
    write(
      'compose.yaml',
      'services:\n  web:\n    image: x\n    mac_address: 02:42:ac:11:00:09\n' +
        '    dns_search: shop.internal\n    dns_opt: [ndots:2, timeout:1]\n',
    );
    expect(load().services.web).toMatchObject({
      mac_address: '02:42:ac:11:00:09',
      dns_search: ['shop.internal'],
      dns_opt: ['ndots:2', 'timeout:1'],
    });
    write(
      'compose.yaml',
      'services:\n  web:\n    image: x\n    networks: {default: {mac_address: 02:42:ac:11:00:09}}\n',
    );
    expect(load().services.web.networks).toEqual({ default: { mac_address: '02:42:ac:11:00:09' } });
    write('compose.yaml', 'services:\n  web:\n    image: x\n    dns_opt: {ndots: 2}\n');
    expect(() => load()).toThrow(':4: services.web.dns_opt: expected a list');
  });

  it("orders a service's networks by priority, highest first, then by name (Docker Compose's order)", () => {
    write(
      'compose.yaml',
      'services:\n  web:\n    image: x\n    networks: {zed: {}, back: null, mid: {priority: 5}, top: {priority: "9"}}\n' +
        'networks: {zed: {}, back: {}, mid: {}, top: {}}\n',
    );
    const web = load().services.web;
    expect(networksByPriority(web).map(([name]) => name)).toEqual(['top', 'mid', 'back', 'zed']);
    expect(web.networks!.top).toEqual({ priority: 9 });
    // names that look like numbers are names too, compared byte by byte as Docker Compose does
    // (a JavaScript object's key order would put them first, in numeric order)
    write(
      'compose.yaml',
      'services:\n  web:\n    image: x\n    networks: {b: {}, "10": {}, "2": {}, "9": {priority: 1}, "-1": {}}\n' +
        'networks: {b: {}, "10": {}, "2": {}, "9": {}, "-1": {}}\n',
    );
    expect(networksByPriority(load().services.web).map(([name]) => name)).toEqual(['9', '-1', '10', '2', 'b']);
    write(
      'compose.yaml',
      'services:\n  web:\n    image: x\n    networks: {back: {priority: high}}\nnetworks: {back: {}}\n',
    );
    expect(() => load()).toThrow(':4: services.web.networks.back.priority: expected a whole number');
  });

  it('refuses IPv6 keys, which box cannot honour, naming the service', () => {
    write(
      'compose.yaml',
      'services:\n  web:\n    image: x\n    networks:\n      back:\n        ipv6_address: "fd00::2"\n',
    );
    expect(() => load()).toThrow(
      ':6: services.web.networks.back.ipv6_address: service "web": IPv6 is not supported by box\'s networks: remove it',
    );
    write(
      'compose.yaml',
      'services:\n  web: {image: x}\nnetworks:\n  back: {enable_ipv6: "false", attachable: true}\n',
    );
    expect(load().networks.back).toMatchObject({ enable_ipv6: false, attachable: true });
    write('compose.yaml', 'services:\n  web: {image: x}\nnetworks:\n  back: {internal: sure}\n');
    expect(() => load()).toThrow(':4: networks.back.internal: expected true or false');
    write('compose.yaml', 'services:\n  web: {image: x}\nnetworks:\n  back: {enable_ipv6: false}\n');
    expect(load().networks.back).toMatchObject({ enable_ipv6: false });
  });

  it('an unknown key, an unsupported key and a wrong type name the file, line, key and service', () => {
    write('compose.yaml', 'services:\n  web:\n    image: x\n    imgae: y\n');
    expect(() => load()).toThrow(
      `${path.join(dir, 'compose.yaml')}:4: services.web.imgae: service "web": unknown key "imgae"`,
    );
    write('compose.yaml', 'services:\n  web:\n    image: x\n    build: .\n');
    expect(() => load()).toThrow(':4: services.web.build: service "web": "build" is not supported by box: remove it');
    write('compose.yaml', 'services:\n  web:\n    image: x\n    ports: 80\n');
    expect(() => load()).toThrow(':4: services.web.ports: expected a list');
    write(
      'compose.yaml',
      'services:\n  web:\n    image: x\n    depends_on: {db: {condition: service_ready}}\n  db: {image: y}\n',
    );
    expect(() => load()).toThrow(':4: services.web.depends_on.db.condition: expected one of service_started');
    write('compose.yaml', 'services:\n  web:\n    image: [x\n');
    expect(() => load()).toThrow(/compose.yaml:\d: invalid YAML/);
    write('compose.yaml', 'services:\n  web:\n    image: x\n    depends_on: [nope]\n');
    expect(() => load()).toThrow('service "web" depends on undefined service "nope"');
    write('compose.yaml', 'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n');
    expect(() => load()).toThrow('dependency cycle: a -> b -> a');
    write('compose.yaml', 'version: "3"\nservices:\n  a: {image: x}\n');
    load();
    expect(warnings.join('\n')).toContain('the top-level "version" is obsolete');
  });
});

describe('YAML features compose files use', () => {
  it('anchors, merge keys and x- extension fields (which are not part of the model)', () => {
    write(
      'compose.yaml',
      [
        'x-common: &common',
        '  image: busybox',
        '  environment: {TZ: UTC}',
        'services:',
        '  a:',
        '    <<: *common',
        '    command: [a]',
        '  b:',
        '    <<: *common',
        '    x-note: ignored',
        '    environment: {TZ: CET}',
      ].join('\n'),
    );
    expect(load().services).toEqual({
      a: { image: 'busybox', environment: { TZ: 'UTC' }, command: ['a'], networks: { default: null } },
      b: { image: 'busybox', environment: { TZ: 'CET' }, networks: { default: null } },
    });
  });
});

describe('merging -f files', () => {
  it("follows the specification's rules: maps merge, sequences append, commands and unique resources replace", () => {
    write(
      'a.yaml',
      [
        'services:',
        '  web:',
        '    image: web:1',
        '    command: [echo, a]',
        '    dns: [1.1.1.1]',
        '    environment: {A: "1", B: "1"}',
        '    ports: ["8080:80", "9090:90"]',
        '    volumes: ["data:/data", "/x"]',
        '    healthcheck: {test: [CMD, a], retries: 3}',
        'volumes: {data: {}, other: {}}',
      ].join('\n'),
    );
    write(
      'b.yaml',
      [
        'services:',
        '  web:',
        '    command: [echo, b]',
        '    dns: [8.8.8.8]',
        '    environment: [B=2, C=3]',
        '    ports: ["8080:80/tcp", "7070:70"]',
        '    volumes: ["other:/data"]',
        '    healthcheck: {test: [CMD, b]}',
      ].join('\n'),
    );
    const web = load({ files: ['a.yaml', 'b.yaml'] }).services.web;
    expect(web).toEqual({
      image: 'web:1',
      command: ['echo', 'b'],
      dns: ['1.1.1.1', '8.8.8.8'],
      environment: { A: '1', B: '2', C: '3' },
      ports: [
        { mode: 'ingress', target: 90, published: '9090', protocol: 'tcp' },
        { mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' },
        { mode: 'ingress', target: 70, published: '7070', protocol: 'tcp' },
      ],
      volumes: [
        { type: 'volume', target: '/x' },
        { type: 'volume', source: 'other', target: '/data' },
      ],
      healthcheck: { test: ['CMD', 'b'], retries: 3 },
      networks: { default: null },
    });
  });

  it('!reset removes a value and !override replaces it unmerged', () => {
    write(
      'a.yaml',
      'services:\n  web:\n    image: w\n    ports: ["80:80"]\n    dns: [1.1.1.1]\n    labels: {a: "1"}\n',
    );
    write(
      'b.yaml',
      'services:\n  web:\n    ports: !reset []\n    dns: !override [9.9.9.9]\n    labels: !override {b: "2"}\n',
    );
    expect(load({ files: ['a.yaml', 'b.yaml'] }).services.web).toEqual({
      image: 'w',
      dns: ['9.9.9.9'],
      labels: { b: '2' },
      networks: { default: null },
    });
  });
});

describe('extends and include', () => {
  it('extends a service of the same file or of another, the local values merged over the base', () => {
    write(
      'common/base.yaml',
      'services:\n  base:\n    image: base\n    env_file: base.env\n    cap_add: [NET_ADMIN]\n',
    );
    write('common/base.env', 'FROM_BASE=1\n');
    write(
      'compose.yaml',
      [
        'services:',
        '  app:',
        '    extends: {file: common/base.yaml, service: base}',
        '    cap_add: [SYS_TIME]',
        '  worker:',
        '    extends: app',
        '    command: work',
      ].join('\n'),
    );
    const p = load();
    expect(p.services.app).toEqual({
      image: 'base',
      environment: { FROM_BASE: '1' },
      cap_add: ['NET_ADMIN', 'SYS_TIME'],
      networks: { default: null },
    });
    expect(p.services.worker).toEqual({ ...p.services.app, command: ['work'] });
    write('compose.yaml', 'services:\n  a: {extends: b}\n  b: {extends: a}\n');
    expect(() => load()).toThrow('extends: a cycle (a -> b -> a)');
  });

  it("include imports another project's resources, with its own directory and .env; local definitions win", () => {
    write(
      'db/compose.yaml',
      'services:\n  db:\n    image: "db:${DB_TAG}"\n    volumes: ["./init:/init", "dbdata:/var"]\n' +
        'volumes: {dbdata: {}}\n',
    );
    write('db/.env', 'DB_TAG=15\n');
    write('compose.yaml', 'name: app\ninclude: [db/compose.yaml]\nservices:\n  web: {image: web, depends_on: [db]}\n');
    const p = load();
    expect(p.services.db).toEqual({
      image: 'db:15',
      volumes: [
        { type: 'bind', source: path.join(dir, 'db', 'init'), target: '/init', bind: { create_host_path: true } },
        { type: 'volume', source: 'dbdata', target: '/var' },
      ],
      networks: { default: null },
    });
    expect(p.volumes).toEqual({ dbdata: { name: 'app_dbdata' } });
    write('compose.yaml', 'include: [db/compose.yaml]\nservices:\n  db: {image: mine}\n');
    expect(load().services.db.image).toBe('mine');
    expect(warnings.join('\n')).toContain('service "db" of');
  });
});

describe('profiles', () => {
  const file = [
    'services:',
    '  web: {image: w}',
    '  debug: {image: d, profiles: [debug]}',
    '  all: {image: a, profiles: [debug, ops]}',
    '  needs: {image: n, profiles: [ops], depends_on: [debug]}',
  ].join('\n');

  it('enables services without profiles, those of active profiles, and those named', () => {
    write('compose.yaml', file);
    expect(Object.keys(load().services)).toEqual(['web']);
    expect(load().disabledServices).toEqual(['debug', 'all', 'needs']);
    expect(Object.keys(load({ profiles: ['debug'] }).services)).toEqual(['all', 'debug', 'web']);
    expect(Object.keys(load({ env: { COMPOSE_PROFILES: 'debug,ops' } }).services)).toEqual([
      'all',
      'debug',
      'needs',
      'web',
    ]);
    expect(Object.keys(load({ profiles: ['*'] }).services)).toHaveLength(4);
    expect(Object.keys(load({ enable: ['debug'] }).services)).toEqual(['debug', 'web']);
    expect(() => load({ profiles: ['ops'] })).toThrow('service "needs" depends on "debug", which its profiles disable');
  });
});
