// `box compose ps`: the project's containers with their service, as docker compose lists them.
import { refresh } from '../../runtime/lifecycle';
import { readHealth } from '../../runtime/health';
import { publishedPorts } from '../container/port';
import { printableJson } from '../../util/printable';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { statusText } from '../container/ps-context';
import { containerState } from '../../runtime/container-filter';
import { table } from '../format';
import { containersOf, SERVICES, store } from './common';
import { loadComposeProject } from './context';

export const psCommand: CommandSpec = {
  paths: [['compose', 'ps']],
  summary: "List the project's containers.",
  flags: [
    { names: ['--all', '-a'], key: 'all', kind: 'bool', description: 'also stopped containers' },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only ids' },
    { names: ['--services'], key: 'services', kind: 'bool', description: 'only the service names' },
    { names: ['--format'], key: 'format', kind: 'string', value: 'json', description: 'json: one object per line' },
  ],
  positionals: [SERVICES],
  async run(a) {
    const project = loadComposeProject(a.positionals);
    const s = store();
    const found = await Promise.all(
      containersOf(project, a.positionals).map(async (c) => ({ ...c, record: await refresh(roots(), s, c.record) })),
    );
    const shown = found.filter(
      (c) => bool(a, 'all') || c.record.state.status === 'running' || c.record.state.restarting,
    );
    if (bool(a, 'quiet')) {
      process.stdout.write(shown.map((c) => c.record.id + '\n').join(''));
      return 0;
    }
    if (bool(a, 'services')) {
      process.stdout.write([...new Set(shown.map((c) => c.service))].map((n) => n + '\n').join(''));
      return 0;
    }
    if (str(a, 'format') === 'json') {
      for (const { record: c, service } of shown) {
        const row = {
          ID: c.id,
          Name: c.name,
          Image: c.config.image.ref,
          Command: c.config.args.join(' '),
          Project: project.name,
          Service: service,
          Created: c.created,
          State: containerState(c),
          Status: statusText(c, roots()),
          ExitCode: c.state.exitCode ?? 0,
          Health: readHealth(roots(), c.id)?.status ?? '',
          Publishers: publishedPorts(c).map((x) => ({
            URL: x.hostIp,
            TargetPort: x.containerPort,
            PublishedPort: x.hostPort,
            Protocol: x.protocol,
          })),
        };
        process.stdout.write(printableJson(JSON.stringify(row)) + '\n');
      }
      return 0;
    }
    const rows = shown.map(({ record: c, service }) => [
      c.name,
      c.config.image.ref,
      JSON.stringify(c.config.args.join(' ').slice(0, 30)),
      service,
      statusText(c, roots()),
      publishedPorts(c)
        .map((x) => `${x.hostIp}:${x.hostPort}->${x.containerPort}/${x.protocol}`)
        .join(', '),
    ]);
    process.stdout.write(table(['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'STATUS', 'PORTS'], rows));
    return 0;
  },
};
