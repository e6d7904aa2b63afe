// `box compose` against real containers: dependency conditions (a database's health check gates
// the web service, a migration job gates on its success), a failing dependency, convergence, two
// concurrent `up` of one project, admission before anything starts, and `down` leaving nothing.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, exitOf, inspectOne, leftovers, snapshot, until, waitForOutput } from '../support/box';
import { userBridgeName } from '../../src/network/kernel-names';
import { nftTable, rootBridges } from '../support/network';
import { composeContainers, composeProject } from '../support/compose';
import { startRegistry, stopRegistry } from '../support/registry';

const t = busyboxRoot();

interface Inspect {
  Id: string;
  Name: string;
  Config: { Labels: Record<string, string> };
  State: { Status: string; ExitCode: number; StartedAt: string; FinishedAt: string };
}

const project = (yaml: string) => composeProject(t, yaml);

const inspect = (name: string) => inspectOne<Inspect>(t, name);

/** The project's events (box events, filtered by the compose project label), in order. */
function events(name: string): { Action: string; name: string; time: number }[] {
  const r = t.box(['events', '--since', '0', '--until', String(Date.now() / 1000 + 1), '--format', 'json',
    '--filter', `label=com.docker.compose.project=${name}`]); // biome-ignore format: one call
  expect(r.status).toBe(0);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .map((e) => ({ Action: e.Action, name: e.Actor.Attributes.name, time: e.timeNano }));
}

const projectContainers = (name: string) => composeContainers(t, name);

const HEALTHY_DB = `
  db:
    image: busybox
    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 1000'
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 100ms
      start_interval: 100ms
      start_period: 10s
`;

describe('box compose up', () => {
  it('starts web only after db turned healthy, and down leaves nothing', () => {
    const before = snapshot(t);
    const p = project(`services:${HEALTHY_DB}
  web:
    image: busybox
    command: sh -c 'echo web up; exec sleep 1000'
    depends_on:
      db: {condition: service_healthy}
`);
    const r = t.box(p.compose('up', '-d', '--wait'));
    expect(r.stderr).toContain(`Service db  Healthy`);
    expect(r.status).toBe(0);
    const db = inspect(`${p.name}-db-1`);
    const web = inspect(`${p.name}-web-1`);
    expect(db.Config.Labels).toMatchObject({
      'com.docker.compose.project': p.name,
      'com.docker.compose.service': 'db',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
    });
    expect(db.Config.Labels['com.docker.compose.config-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(web.State.Status).toBe('running');
    const ev = events(p.name);
    const healthy = ev.find((e) => e.name === `${p.name}-db-1` && e.Action === 'health_status: healthy');
    const webStart = ev.find((e) => e.name === `${p.name}-web-1` && e.Action === 'start');
    expect(healthy && webStart).toBeTruthy();
    expect(webStart!.time).toBeGreaterThanOrEqual(healthy!.time);
    expect(ev.indexOf(webStart!)).toBeGreaterThan(ev.indexOf(healthy!));

    const down = t.box(p.compose('down', '-t', '1'));
    expect(down.status).toBe(0);
    expect(projectContainers(p.name)).toEqual([]);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('runs a migration job to completion before the service that needs it; a failing job fails up in one line', () => {
    const job = (code: number) => `services:
  migrate:
    image: busybox
    command: sh -c 'echo migrating; sleep 0.3; exit ${code}'
  web:
    image: busybox
    command: sleep 1000
    depends_on:
      migrate: {condition: service_completed_successfully}
`;
    const ok = project(job(0));
    expect(t.box(ok.compose('up', '-d', '--wait')).status).toBe(0);
    const migrate = inspect(`${ok.name}-migrate-1`);
    const web = inspect(`${ok.name}-web-1`);
    expect(migrate.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    expect(Date.parse(web.State.StartedAt)).toBeGreaterThanOrEqual(Date.parse(migrate.State.FinishedAt));
    expect(t.box(ok.compose('logs', 'migrate')).stdout).toMatch(new RegExp(`^${ok.name}-migrate-1 +\\| migrating\\n$`));
    expect(t.box(ok.compose('down', '-t', '0')).status).toBe(0);

    const optional = project(job(3).replace('condition: service_completed_successfully', '$&, required: false'));
    const warned = t.box(optional.compose('up', '-d'));
    expect(warned.status).toBe(0);
    expect(warned.stderr).toContain(
      `box: service "migrate" didn't complete successfully: exit 3 (service "web" starts all the same: ` +
        'the dependency is not required)\n',
    );
    expect(inspect(`${optional.name}-web-1`).State.Status).toBe('running');
    expect(t.box(optional.compose('down', '-t', '0')).status).toBe(0);

    const bad = project(job(3));
    const r = t.box(bad.compose('up', '-d'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`box: service "migrate" didn't complete successfully: exit 3\n`);
    expect(inspect(`${bad.name}-web-1`).State.Status).toBe('created'); // never started
    expect(t.box(bad.compose('down')).status).toBe(0);
    expect(projectContainers(bad.name)).toEqual([]);
  });

  it('fails when a healthy dependency exits instead, naming the service and its code', () => {
    const p = project(`services:
  db:
    image: busybox
    command: sh -c 'exit 7'
    healthcheck: {test: "false", interval: 1s}
  web:
    image: busybox
    command: sleep 1000
    depends_on: {db: {condition: service_healthy}}
`);
    const r = t.box(p.compose('up', '-d'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('box: dependency failed: service "db" exited with code 7\n');
    expect(t.box(p.compose('down')).status).toBe(0);
  });

  it('fails when a healthy dependency turns unhealthy instead, with its last health check output', () => {
    const p = project(`services:
  db:
    image: busybox
    command: sleep 1000
    init: true
    healthcheck: {test: echo not ready; exit 1, interval: 100ms, retries: 2}
  web: {image: busybox, command: sleep 1000, depends_on: {db: {condition: service_healthy}}}
`);
    const r = t.box(p.compose('up', '-d'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('box: dependency failed: service "db" is unhealthy: not ready\n');
    expect(inspect(`${p.name}-web-1`).State.Status).toBe('created');
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });

  it('up --wait gives up after --wait-timeout on a service that never turns healthy', () => {
    const p = project(`services:
  slow:
    image: busybox
    command: sleep 1000
    init: true
    healthcheck: {test: "false", interval: 100ms, retries: 1000}
`);
    const started = Date.now();
    const r = t.box(p.compose('up', '-d', '--wait', '--wait-timeout', '1'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('box: timed out waiting for service "slow" (healthy)\n');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });

  it('config prints the normalised model of files given with -f, also from stdin', () => {
    const p = project('services:\n  b: {image: busybox}\n  a: {image: busybox, volumes: [v:/v]}\nvolumes: {v: {}}\n');
    expect(t.box(p.compose('config', '--services')).stdout).toBe('a\nb\n');
    expect(t.box(p.compose('config', '--volumes')).stdout).toBe('v\n');
    const json = JSON.parse(t.box(p.compose('config', '--format', 'json')).stdout);
    expect(json).toEqual({
      name: p.name,
      services: {
        a: { image: 'busybox', volumes: [{ type: 'volume', source: 'v', target: '/v' }], networks: { default: null } },
        b: { image: 'busybox', networks: { default: null } },
      },
      networks: { default: { name: `${p.name}_default` } },
      volumes: { v: { name: `${p.name}_v` } },
    });
    const stdin = t.box(['compose', '-f', '-', '-p', 'fromstdin', 'config', '--services'], {
      input: 'services: {x: {image: y}}',
    });
    expect(stdin.stdout).toBe('x\n');
  });

  it('converges: a second up recreates only the changed service; --scale adds and removes replicas', () => {
    const yaml = (webCommand: string) => `services:
  a: {image: busybox, command: sleep 1000, init: true}
  web: {image: busybox, command: ${webCommand}, init: true}
`;
    const p = project(yaml('sleep 1000'));
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    const a1 = inspect(`${p.name}-a-1`).Id;
    const web1 = inspect(`${p.name}-web-1`).Id;
    const again = t.box(p.compose('up', '-d'));
    expect(again.status).toBe(0);
    expect(again.stderr).not.toContain('Created');
    expect(inspect(`${p.name}-web-1`).Id).toBe(web1);
    fs.writeFileSync(path.join(p.dir, 'compose.yaml'), yaml('sleep 999'));
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    expect(inspect(`${p.name}-a-1`).Id).toBe(a1);
    expect(inspect(`${p.name}-web-1`).Id).not.toBe(web1);
    expect(projectContainers(p.name)).toHaveLength(2);
    expect(t.box(p.compose('up', '-d', '--scale', 'a=3')).status).toBe(0);
    expect(projectContainers(p.name)).toHaveLength(4);
    expect(inspect(`${p.name}-a-3`).State.Status).toBe('running');
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    expect(projectContainers(p.name)).toHaveLength(2);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });

  it('restarts a running dependent whose dependency was recreated when its depends_on says restart: true', () => {
    const yaml = (dbCommand: string) => `services:
  db: {image: busybox, command: ${dbCommand}, init: true}
  web: {image: busybox, command: sleep 1000, init: true, depends_on: {db: {condition: service_started, restart: true}}}
  other: {image: busybox, command: sleep 1000, init: true, depends_on: [db]}
`;
    const p = project(yaml('sleep 1000'));
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    const before = { web: inspect(`${p.name}-web-1`), other: inspect(`${p.name}-other-1`) };
    fs.writeFileSync(path.join(p.dir, 'compose.yaml'), yaml('sleep 999'));
    const r = t.box(p.compose('up', '-d'));
    expect(r.status).toBe(0);
    const web = inspect(`${p.name}-web-1`);
    expect(web.Id).toBe(before.web.Id);
    expect(Date.parse(web.State.StartedAt)).toBeGreaterThan(Date.parse(before.web.State.StartedAt));
    expect(inspect(`${p.name}-other-1`).State.StartedAt).toBe(before.other.State.StartedAt);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });

  it('up SERVICE starts what it depends on; --no-deps starts it alone, without waiting', () => {
    const p = project(`services:${HEALTHY_DB}
  web:
    image: busybox
    command: sleep 1000
    depends_on: {db: {condition: service_healthy}}
  other: {image: busybox, command: sleep 1000}
`);
    expect(t.box(p.compose('up', '-d', '--no-deps', 'web')).status).toBe(0);
    expect(projectContainers(p.name)).toHaveLength(1);
    expect(inspect(`${p.name}-web-1`).State.Status).toBe('running');
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
    expect(t.box(p.compose('up', '-d', 'web')).status).toBe(0);
    expect(projectContainers(p.name)).toHaveLength(2); // web and db, not other
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });

  it('down -p NAME without the files removes every container and network of the project', () => {
    const p = project('services:\n  a: {image: busybox, command: sleep 1000, init: true}\n');
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    const elsewhere = fs.mkdtempSync(path.join(t.dir, 'nofiles-'));
    const r = t.box(['compose', '-p', p.name, 'down'], { cwd: elsewhere });
    expect(r.status, r.stderr).toBe(0);
    expect(projectContainers(p.name)).toEqual([]);
    expect(t.box(['network', 'ls']).stdout).not.toContain(p.name);
    expect(t.box(['compose', 'down'], { cwd: elsewhere }).stderr).toMatch(/^box: no compose file found in .*: create/);
  });

  it("a profile's service started once is no orphan for an up without the profile; down removes it", () => {
    const p = project(`services:
  a: {image: busybox, command: sleep 1000, init: true}
  debug: {image: busybox, command: sleep 1000, init: true, profiles: [debug]}
`);
    expect(t.box(['compose', '--profile', 'debug', ...p.compose('up', '-d').slice(1)]).status).toBe(0);
    expect(projectContainers(p.name)).toHaveLength(2);
    const again = t.box(p.compose('up', '-d', '--remove-orphans'));
    expect(again.status).toBe(0);
    expect(again.stderr).not.toContain('debug-1  Removed');
    expect(projectContainers(p.name)).toHaveLength(2);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
    expect(projectContainers(p.name)).toEqual([]);
  });

  it('two concurrent up of one project end in one set of containers', async () => {
    const p = project(`services:
  a: {image: busybox, command: sleep 1000, deploy: {replicas: 2}}
  b: {image: busybox, command: sleep 1000, depends_on: [a]}
`);
    const runs = [0, 1].map(() => exitOf(spawn(BOX, t.args(p.compose('up', '-d')), { stdio: 'pipe' })));
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(projectContainers(p.name)).toHaveLength(3);
    expect(t.box(p.compose('ps', '--services')).stdout).toBe('a\nb\n');
    expect(t.box(['network', 'ls']).stdout.split(`${p.name}_default`)).toHaveLength(2);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });

  it('joins services to project networks by name, publishes ports; down removes networks, veths, rules', async () => {
    const before = snapshot(t);
    const port = 20000 + (process.pid % 20000);
    const p = project(`services:
  db:
    image: busybox
    command: sh -c 'echo db > /tmp/index.html; exec httpd -f -p 80 -h /tmp'
    init: true
    networks: {back: {aliases: [database]}}
  web:
    image: busybox
    command: sh -c 'echo web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'
    init: true
    ports: ["127.0.0.1:${port}:8080"]
    networks: [back, default]
  front:
    image: busybox
    command: sleep 1000
    init: true
networks:
  back: {}
`);
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    const fetch = (svc: string, url: string) => t.box(['exec', `${p.name}-${svc}-1`, 'wget', '-qO-', url]);
    // the servers listen some time after up returns (no health check here)
    until(
      'db answering web by its service name',
      () => fetch('web', 'http://db/').stdout,
      (o) => o === 'db\n',
    );
    expect(fetch('web', 'http://database/').stdout).toBe('db\n');
    until(
      'web answering front',
      () => fetch('front', 'http://web:8080/').stdout,
      (o) => o === 'web\n',
    );
    expect(fetch('front', 'http://db/').status).not.toBe(0); // db is only on back
    const fromHost = await new Promise<string>((resolve, reject) => {
      require('node:http')
        .get(`http://127.0.0.1:${port}/`, (res: NodeJS.ReadableStream) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    expect(fromHost).toBe('web\n');
    expect(t.box(['network', 'ls']).stdout).toMatch(new RegExp(`${p.name}_back[\\s\\S]*${p.name}_default`));
    const ids = ['back', 'default'].map(
      (n) => JSON.parse(t.box(['network', 'inspect', `${p.name}_${n}`]).stdout)[0].Id,
    );
    const bridges = ids.map((id: string) => userBridgeName({ root: t.root }, id));
    expect(rootBridges(t.root)).toEqual(expect.arrayContaining(bridges));
    expect(nftTable(t.root)).toContain(String(port));

    expect(t.box(p.compose('down', '-t', '1')).status).toBe(0);
    expect(projectContainers(p.name)).toEqual([]);
    expect(t.box(['network', 'ls']).stdout).not.toContain(p.name);
    for (const b of bridges) expect(rootBridges(t.root)).not.toContain(b);
    expect(nftTable(t.root)).not.toContain(String(port));
    expect(leftovers(t, before)).toEqual([]);
  });

  it('keeps a named volume across down and up, and down -v removes it with the anonymous ones', () => {
    const before = snapshot(t);
    const p = project(`services:
  db:
    image: busybox
    command: sh -c 'cat /data/count /run/secrets/pw 2>/dev/null; echo x >> /data/count'
    volumes: [data:/data, ./site:/site:ro, /anon]
    secrets: [pw]
volumes:
  data: {}
secrets:
  pw: {file: ./pw.txt}
`);
    fs.writeFileSync(path.join(p.dir, 'pw.txt'), 'secret\n');
    const volumes = () => t.box(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean);
    const volumesBefore = volumes();
    expect(t.box(p.compose('up', '-d', '--wait')).status).toBe(0);
    expect(t.box(p.compose('logs', '--no-log-prefix')).stdout).toBe('secret\n');
    expect(fs.statSync(path.join(p.dir, 'site')).isDirectory()).toBe(true); // a short bind's source is made
    expect(volumes()).toContain(`${p.name}_data`);
    expect(t.box(p.compose('down')).status).toBe(0);
    expect(t.box(p.compose('up', '-d', '--wait')).status).toBe(0);
    expect(t.box(p.compose('logs', '--no-log-prefix')).stdout).toBe('x\nsecret\n'); // the volume kept its data
    expect(t.box(p.compose('down', '-v')).status).toBe(0);
    const left = volumes().filter((v) => !volumesBefore.includes(v));
    expect(left).toHaveLength(1); // the first container's anonymous volume: plain down keeps it, as Docker's
    expect(left[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(t.box(['volume', 'rm', left[0]]).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('admits every service before any container exists: a denied service fails up with its reasons', () => {
    const p = project(`services:
  fine: {image: busybox, command: sleep 1000}
  bad: {image: busybox, command: sleep 1000, privileged: true}
`);
    const r = t.box(p.compose('up', '-d'), { env: { ...process.env, BOX_POLICY: 'baseline' } });
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('service "bad": denied by policy baseline: privileged containers are not allowed');
    expect(projectContainers(p.name)).toEqual([]);
    expect(t.box(['network', 'ls']).stdout).not.toContain(p.name); // the network made for it went again
  });

  it('a bad file is one line naming the file, line and key, and creates nothing', () => {
    const p = project('services:\n  a:\n    image: busybox\n    volumes_from: [x]\n');
    const r = t.box(p.compose('up', '-d'));
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(
      `box: ${path.join(p.dir, 'compose.yaml')}:4: services.a.volumes_from: service "a": ` +
        '"volumes_from" is not supported by box: remove it\n',
    );
    expect(projectContainers(p.name)).toEqual([]);
  });

  it('attached up follows the output and --exit-code-from ends with that service', () => {
    const p = project(`services:
  server: {image: busybox, command: sleep 1000, init: true}
  job: {image: busybox, command: sh -c 'echo done; exit 4', depends_on: [server]}
`);
    const r = t.box(p.compose('up', '--exit-code-from', 'job'));
    expect(r.stdout).toMatch(new RegExp(`^${p.name}-job-1 +\\| done$`, 'm'));
    expect(r.status).toBe(4);
    expect(inspect(`${p.name}-server-1`).State.Status).toBe('exited');
    expect(t.box(p.compose('down')).status).toBe(0);
  });

  it('Ctrl-C on an attached up stops the services gracefully, a second Ctrl-C kills them', async () => {
    const p = project(`services:
  quick: {image: busybox, command: sh -c 'echo quick ready; exec sleep 1000', init: true}
  stubborn:
    image: busybox
    command: sh -c 'trap "echo ignoring TERM" TERM; echo stubborn ready; while true; do sleep 0.1; done'
    stop_grace_period: 60s
`);
    const child = spawn(BOX, t.args(p.compose('up')), { stdio: 'pipe' });
    const done = exitOf(child);
    await Promise.all([waitForOutput(child.stdout, 'quick ready'), waitForOutput(child.stdout, 'stubborn ready')]);
    const started = Date.now();
    const graceful = waitForOutput(child.stderr, 'Gracefully stopping');
    const ignoring = waitForOutput(child.stdout, 'ignoring TERM');
    child.kill('SIGINT');
    await graceful;
    await ignoring; // the TERM reached stubborn, which ignores it: only the second Ctrl-C ends it
    until(
      'quick stopped',
      () => inspect(`${p.name}-quick-1`).State.Status,
      (s) => s === 'exited',
    );
    expect(inspect(`${p.name}-stubborn-1`).State.Status).toBe('running'); // within its 60 s of grace
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(Date.now() - started).toBeLessThan(30_000); // killed, not waited for
    expect(r.stdout).toMatch(/stubborn-1 +\| ignoring TERM/);
    expect(inspect(`${p.name}-stubborn-1`).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    expect(t.box(p.compose('down')).status).toBe(0);
  });

  it('Ctrl-C while up waits for a dependency stops what started, starts nothing more and exits 130', async () => {
    const p = project(`services:
  db:
    image: busybox
    command: sleep 1000
    init: true
    healthcheck: {test: "false", interval: 100ms, retries: 1000}
  web: {image: busybox, command: sleep 1000, init: true, depends_on: {db: {condition: service_healthy}}}
`);
    const child = spawn(BOX, t.args(p.compose('up')), { stdio: 'pipe' });
    const done = exitOf(child);
    await waitForOutput(child.stderr, `Container ${p.name}-db-1  Started`);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(inspect(`${p.name}-db-1`).State.Status).toBe('exited');
    expect(inspect(`${p.name}-web-1`).State.Status).toBe('created');
    expect(t.box(p.compose('down')).status).toBe(0);
  });

  it('system boot starts a project after a reboot in dependency order, web only once db is healthy again', () => {
    const p = project(`services:
  db:
    image: busybox
    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 1000'
    init: true
    restart: always
    network_mode: none
    healthcheck: {test: test -f /tmp/ready, interval: 100ms, start_interval: 100ms, start_period: 10s}
  web:
    image: busybox
    command: sleep 1000
    init: true
    restart: unless-stopped
    network_mode: none
    depends_on: {db: {condition: service_healthy}}
`);
    expect(t.box(p.compose('up', '-d', '--wait')).status).toBe(0);
    expect(inspect(`${p.name}-web-1`).Config.Labels['com.docker.compose.depends_on']).toBe('db:service_healthy:false');
    // A reboot: every monitor (and so every container) gone, the runtime root wiped.
    const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    for (const svc of ['db', 'web']) {
      const pid = (inspect(`${p.name}-${svc}-1`).State as unknown as { Pid: number }).Pid;
      process.kill(parentOf(pid), 'SIGKILL');
    }
    fs.rmSync(path.join(t.root, 'run'), { recursive: true, force: true });
    const bootAt = Date.now() * 1e6;
    const boot = t.box(['system', 'boot']);
    expect(boot.stderr).toBe('');
    expect(boot.status).toBe(0);
    expect(boot.stdout).toBe(`${p.name}-db-1\n${p.name}-web-1\n`);
    const ev = events(p.name).filter((e) => e.time >= bootAt);
    const healthy = ev.findIndex((e) => e.name === `${p.name}-db-1` && e.Action === 'health_status: healthy');
    const webStart = ev.findIndex((e) => e.name === `${p.name}-web-1` && e.Action === 'start');
    expect(healthy).toBeGreaterThanOrEqual(0);
    expect(webStart).toBeGreaterThan(healthy);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });
});

describe('the other compose commands', () => {
  it('create, start in order, ps, pause, exec, run, port, top, images, ls, kill, wait, stop, restart, rm', () => {
    const port = 20000 + ((process.pid + 7) % 20000);
    const p = project(`services:
  db: {image: busybox, command: sleep 1000, init: true, environment: {ROLE: db}}
  app: {image: busybox, command: sleep 1000, init: true, depends_on: [db], ports: ["127.0.0.1:${port}:80"]}
`);
    const ok = (...args: string[]) => {
      const r = t.box(p.compose(...args));
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    ok('create');
    expect(
      ok('ps', '-a', '--format', 'json')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).State),
    ).toEqual(['created', 'created']);
    ok('start');
    const ev = events(p.name);
    const start = (svc: string) => ev.findIndex((e) => e.name === `${p.name}-${svc}-1` && e.Action === 'start');
    expect(start('app')).toBeGreaterThan(start('db'));
    expect(ok('ps', '--services')).toBe('app\ndb\n');
    ok('pause', 'db');
    expect(ok('ps', 'db')).toContain('(Paused)');
    ok('unpause', 'db');
    expect(ok('exec', '-T', 'db', 'sh', '-c', 'echo $ROLE')).toBe('db\n');
    const run = t.box(p.compose('run', '--rm', '-T', '-e', 'X=1', 'db', 'sh', '-c', 'echo one-off $X $ROLE; exit 3'));
    expect(run.stdout).toBe('one-off 1 db\n');
    expect(run.status).toBe(3);
    expect(projectContainers(p.name)).toHaveLength(2); // the one-off container went with --rm
    // a one-off container of app does not publish app's port, which app-1 holds
    expect(t.box(p.compose('run', '--rm', '-T', 'app', 'true')).status).toBe(0);
    expect(ok('port', 'app', '80')).toBe(`127.0.0.1:${port}\n`);
    expect(ok('ps', 'app')).toMatch(new RegExp(`${p.name}-app-1 .* Up .* 127\\.0\\.0\\.1:${port}->80/tcp\n`));
    expect(ok('top', 'db')).toMatch(new RegExp(`^${p.name}-db-1\nUID +PID`));
    expect(ok('images')).toMatch(new RegExp(`${p.name}-app-1 +busybox +latest`));
    expect(t.box(['compose', 'ls']).stdout).toMatch(new RegExp(`${p.name} +running\\(2\\)`));
    expect(ok('version')).toMatch(/^box compose version /);
    ok('kill', '-s', 'TERM', 'app');
    expect(ok('wait', 'app')).toBe('143\n');
    ok('stop', '-t', '1');
    expect(inspect(`${p.name}-db-1`).State.Status).toBe('exited');
    ok('restart', 'db');
    expect(inspect(`${p.name}-db-1`).State.Status).toBe('running');
    ok('rm', '-s', '-f');
    expect(projectContainers(p.name)).toEqual([]);
    ok('down');
  });
});

describe('images from a registry', () => {
  it("pull fetches the services' images, up pulls a missing one, pull_policy never refuses to", async () => {
    const registry = await startRegistry(path.join(t.dir, 'registry'));
    try {
      const image = `127.0.0.1:${registry.port}/team/bb:1`;
      expect(t.box(['tag', 'busybox', image]).status).toBe(0);
      expect(t.box(['push', image]).status).toBe(0);
      expect(t.box(['rmi', image]).status).toBe(0);
      const p = project(`services:\n  a: {image: "${image}", command: sleep 1000, init: true}\n`);
      const pulled = t.box(p.compose('pull'));
      expect(pulled.status, pulled.stderr).toBe(0);
      expect(t.box(['image', 'inspect', image]).status).toBe(0);
      expect(t.box(['rmi', image]).status).toBe(0);
      const up = t.box(p.compose('up', '-d'));
      expect(up.status, up.stderr).toBe(0);
      expect(up.stderr).toContain(`Unable to find image '${image}' locally`);
      expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
      expect(t.box(['rmi', image]).status).toBe(0);
      fs.writeFileSync(
        path.join(p.dir, 'compose.yaml'),
        `services:\n  a: {image: "${image}", command: sleep 1000, pull_policy: never}\n`,
      );
      const never = t.box(p.compose('up', '-d'));
      expect(never.status).toBe(125);
      expect(never.stderr).toContain(`box: service "a": image "${image}" not found`);
      expect(projectContainers(p.name)).toEqual([]);
    } finally {
      await stopRegistry(registry);
    }
  });
});
