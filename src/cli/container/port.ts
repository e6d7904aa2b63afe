// `box port CONTAINER [PRIVATE_PORT[/PROTO]]`: a container's published ports, in Docker's format.
// As Docker, only a running container (paused included) has them: the host ports of a stopped one
// are free for others.
import { ContainerRecord } from '../../model';
import { portLines, PublishedPort } from '../../network/ports';
import { refresh } from '../../runtime/lifecycle';
import { CommandSpec } from '../args';
import { roots } from '../context';
import { lookup, store } from './common';

/** The ports the record says box published (none in records made before box published any). */
export function publishedPorts(c: ContainerRecord): PublishedPort[] {
  if (c.state.status !== 'running') return [];
  return (c.config as ContainerRecord['config'] & { ports?: PublishedPort[] }).ports ?? [];
}

export const portCommand: CommandSpec = {
  paths: [['port'], ['container', 'port']],
  summary: "List a container's published ports, or the host side of one (PRIVATE_PORT[/PROTO]).",
  flags: [],
  positionals: [{ name: 'CONTAINER' }, { name: 'PRIVATE_PORT', optional: true }],
  async run(a) {
    const s = store();
    const c = await refresh(roots(), s, lookup(s, a.positionals[0]));
    const lines = portLines(publishedPorts(c), a.positionals[0], a.positionals[1]);
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
