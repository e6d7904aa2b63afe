// `box port CONTAINER [PRIVATE_PORT[/PROTO]]`: a container's published ports, in Docker's format.
import { ContainerConfig } from '../../model';
import { portLines, PublishedPort } from '../../network/ports';
import { CommandSpec } from '../args';
import { lookup, store } from './common';

/** The ports a container's record says box published (none in records made before box published any). */
function publishedPorts(config: ContainerConfig): PublishedPort[] {
  return (config as ContainerConfig & { ports?: PublishedPort[] }).ports ?? [];
}

export const portCommand: CommandSpec = {
  paths: [['port'], ['container', 'port']],
  summary: "List a container's published ports, or the host side of one (PRIVATE_PORT[/PROTO]).",
  flags: [],
  positionals: [{ name: 'CONTAINER' }, { name: 'PRIVATE_PORT', optional: true }],
  async run(a) {
    const c = lookup(store(), a.positionals[0]);
    const lines = portLines(publishedPorts(c.config), a.positionals[0], a.positionals[1]);
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
