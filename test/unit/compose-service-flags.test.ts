// A compose service as `box run`'s flags (what each key becomes, written by hand from the compose
// specification and box's flags), Docker Compose's labels and the configuration hash.
import { describe, expect, it } from 'vitest';
import type { Project, Service } from '../../src/compose/model';
import { configHash, serviceRun } from '../../src/compose/service-flags';

function projectWith(service: Service, extra: Partial<Project> = {}): Project {
  return {
    name: 'shop',
    workingDir: '/srv/shop',
    files: ['/srv/shop/compose.yaml'],
    services: { web: service },
    networks: { default: { name: 'shop_default' }, back: { name: 'shop_back' } },
    volumes: { data: { name: 'shop_data' } },
    secrets: { pw: { name: 'shop_pw', file: '/srv/shop/pw.txt' } },
    configs: {},
    disabledServices: [],
    ...extra,
  };
}

describe('a service as box run flags', () => {
  it('maps every supported key', () => {
    const run = serviceRun(
      projectWith({
        image: 'busybox',
        entrypoint: ['/bin/sh', '-c'],
        command: ['echo hi'],
        environment: { A: '1' },
        labels: { tier: 'front' },
        ports: [{ mode: 'ingress', target: 80, published: '8080', host_ip: '127.0.0.1', protocol: 'tcp' }],
        volumes: [
          { type: 'volume', source: 'data', target: '/data', read_only: true },
          { type: 'bind', source: '/srv/shop/site', target: '/site', bind: { create_host_path: true } },
          { type: 'volume', target: '/anon' },
        ],
        tmpfs: ['/scratch'],
        networks: { back: { aliases: ['api'], ipv4_address: '10.5.0.9' }, default: null },
        healthcheck: { test: ['CMD', 'wget', '-q', 'http://localhost/a b'], interval: '5s', retries: 2 },
        restart: 'unless-stopped',
        deploy: { resources: { limits: { memory: '64m', cpus: '0.5', pids: 50 }, reservations: { memory: '32m' } } },
        user: '1000',
        working_dir: '/app',
        read_only: true,
        cap_drop: ['ALL'],
        ulimits: { nofile: { soft: 100, hard: 200 } },
        logging: { driver: 'json-file', options: { 'max-size': '1m' } },
        dns: ['1.1.1.1'],
        dns_search: ['shop.internal'],
        dns_opt: ['ndots:2'],
        mac_address: '02:42:ac:11:00:09',
        extra_hosts: ['db=10.0.0.5'],
        secrets: [{ source: 'pw', target: '/run/secrets/pw' }],
        stop_signal: 'SIGINT',
        init: true,
      }),
      'web',
      2,
    );
    expect(run.image).toBe('busybox');
    expect(run.command).toEqual(['-c', 'echo hi']);
    const { label, ...flags } = run.flags;
    expect(flags).toEqual({
      name: 'shop-web-2',
      entrypoint: '/bin/sh',
      env: ['A=1'],
      network: 'shop_back',
      networkAlias: ['web', 'api'],
      ip: '10.5.0.9',
      publish: ['127.0.0.1:8080:80/tcp'],
      mount: [
        'type=volume,source=shop_data,target=/data,readonly',
        'type=volume,target=/anon',
        'type=bind,source=/srv/shop/pw.txt,target=/run/secrets/pw,readonly',
      ],
      volume: ['/srv/shop/site:/site'],
      tmpfs: ['/scratch'],
      dns: ['1.1.1.1'],
      dnsSearch: ['shop.internal'],
      dnsOption: ['ndots:2'],
      macAddress: '02:42:ac:11:00:09',
      addHost: ['db:10.0.0.5'],
      healthCmd: "wget -q 'http://localhost/a b'",
      healthInterval: '5s',
      healthRetries: '2',
      restart: 'unless-stopped',
      memory: '64m',
      memoryReservation: '32m',
      cpus: '0.5',
      pidsLimit: '50',
      user: '1000',
      workdir: '/app',
      readOnly: true,
      capDrop: ['ALL'],
      ulimit: ['nofile=100:200'],
      logOpt: ['max-size=1m'],
      stopSignal: 'SIGINT',
      init: true,
    });
    const labels = label as string[];
    expect(labels.filter((l) => !l.startsWith('com.docker.compose.config-hash='))).toEqual([
      'tier=front',
      'com.docker.compose.project=shop',
      'com.docker.compose.service=web',
      'com.docker.compose.container-number=2',
      'com.docker.compose.oneoff=False',
      'com.docker.compose.project.working_dir=/srv/shop',
      'com.docker.compose.project.config_files=/srv/shop/compose.yaml',
    ]);
    expect(labels).toContainEqual(expect.stringMatching(/^com\.docker\.compose\.config-hash=[0-9a-f]{64}$/));
  });

  it('a one-off container has no name, service alias or published port, and says it is one', () => {
    const ports = [{ mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' }];
    const run = serviceRun(projectWith({ image: 'busybox', networks: { default: null }, ports }), 'web', 0, true);
    expect(run.flags.name).toBeUndefined();
    expect(run.flags.networkAlias).toBeUndefined();
    expect(run.flags.publish).toBeUndefined();
    expect(run.flags.label).toContain('com.docker.compose.oneoff=True');
  });

  it('network_mode host or none, and an empty entrypoint that clears the image one', () => {
    const run = serviceRun(projectWith({ image: 'busybox', network_mode: 'host', entrypoint: [] }), 'web', 1);
    expect(run.flags).toMatchObject({ network: 'host', entrypoint: '' });
    expect(() => serviceRun(projectWith({ image: 'b', network_mode: 'service:db' }), 'web', 1)).toThrow(
      'service "web": network_mode "service:db" is not supported (box has none, host and bridge): remove it',
    );
  });

  it("a first network's mac_address is the container's; on another network, or differing, it is refused", () => {
    const back = (mac: string) => ({ back: { mac_address: mac } });
    const run = serviceRun(projectWith({ image: 'b', networks: back('02:00:00:00:00:01') }), 'web', 1);
    expect(run.flags.macAddress).toBe('02:00:00:00:00:01');
    // joined second: equal priorities go by name (networksByPriority), whatever the order written
    const second = projectWith({ image: 'b', networks: { zed: { mac_address: '02:00:00:00:00:01' }, default: null } });
    expect(() => serviceRun(second, 'web', 1)).toThrow(
      'service "web": networks.zed.mac_address is for the first network only: remove it',
    );
    const both = projectWith({ image: 'b', mac_address: '02:00:00:00:00:02', networks: back('02:00:00:00:00:01') });
    expect(() => serviceRun(both, 'web', 1)).toThrow(
      'service "web": mac_address differs from networks.back.mac_address: remove it',
    );
  });

  it('what box cannot do is an error naming the service and the key', () => {
    const logging = projectWith({ image: 'b', logging: { driver: 'syslog' } });
    expect(() => serviceRun(logging, 'web', 1)).toThrow('service "web": logging driver "syslog" is not supported');
    const cpus = projectWith({ image: 'b', deploy: { resources: { reservations: { cpus: '1' } } } });
    expect(() => serviceRun(cpus, 'web', 1)).toThrow(
      'service "web": deploy.resources.reservations.cpus is not supported',
    );
  });
});

describe('the configuration hash', () => {
  it('changes with the configuration, not with the number of replicas', () => {
    const base: Service = { image: 'busybox', command: ['sleep', '1'] };
    expect(configHash({ ...base, scale: 3 })).toBe(configHash(base));
    expect(configHash({ ...base, deploy: { replicas: 2 } })).toBe(configHash({ ...base, deploy: {} }));
    expect(configHash({ ...base, command: ['sleep', '2'] })).not.toBe(configHash(base));
    expect(configHash({ command: ['sleep', '1'], image: 'busybox' })).toBe(configHash(base)); // key order
  });
});
