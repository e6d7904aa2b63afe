// `box compose config`: the project's normalised model (files merged, interpolated, extends and
// include resolved, profiles applied), or only its service or volume names.
import * as YAML from 'yaml';
import { BoxError } from '../../errors';
import type { Project } from '../../compose/model';
import { bool, CommandSpec, str } from '../args';
import { loadComposeProject } from './context';

export const configCommand: CommandSpec = {
  paths: [['compose', 'config']],
  summary: 'Print the normalised compose model.',
  flags: [
    { names: ['--services'], key: 'services', kind: 'bool', description: 'print the service names, one per line' },
    { names: ['--volumes'], key: 'volumes', kind: 'bool', description: 'print the volume names, one per line' },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'yaml|json',
      description: 'output format (default yaml)',
    },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only check the files' },
  ],
  positionals: [{ name: 'SERVICE', rest: true, optional: true }],
  async run(a) {
    const format = str(a, 'format') ?? 'yaml';
    if (format !== 'yaml' && format !== 'json') throw new BoxError(`invalid --format "${format}": use yaml or json`);
    const project = loadComposeProject(a.positionals);
    if (bool(a, 'quiet')) return 0;
    if (bool(a, 'services')) return print(Object.keys(project.services));
    if (bool(a, 'volumes')) return print(Object.keys(project.volumes));
    const model = modelOf(project, a.positionals);
    process.stdout.write(format === 'json' ? JSON.stringify(model, null, 2) + '\n' : YAML.stringify(model));
    return 0;
  },
};

function print(names: string[]): number {
  if (names.length) process.stdout.write(names.join('\n') + '\n');
  return 0;
}

/** The model as Docker Compose prints it: name, services, then the resources that are declared. */
function modelOf(p: Project, only: string[]): Record<string, unknown> {
  for (const s of only) if (!p.services[s]) throw new BoxError(`no such service: ${s}`);
  const services = only.length ? Object.fromEntries(only.map((s) => [s, p.services[s]])) : p.services;
  const out: Record<string, unknown> = { name: p.name, services };
  for (const kind of ['networks', 'volumes', 'secrets', 'configs'] as const)
    if (Object.keys(p[kind]).length) out[kind] = p[kind];
  return out;
}
