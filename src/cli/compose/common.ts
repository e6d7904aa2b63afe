// What the compose subcommands share: the project's containers by service, the SERVICE
// positional, progress lines, and output prefixed by container as docker compose prints it.
import { BoxError } from '../../errors';
import type { Project } from '../../compose/model';
import { ProjectContainer, projectContainers } from '../../compose/project-containers';
import type { LogEntry } from '../../runtime/logs';
import { ContainerStore } from '../../runtime/containers';
import type { PositionalSpec } from '../args';
import { roots } from '../context';

export const SERVICES: PositionalSpec = { name: 'SERVICE', rest: true, optional: true };

export const store = () => new ContainerStore(roots());

/** Progress on stderr, as docker compose's ("Container shop-web-1  Started"). */
export const progress = (line: string) => process.stderr.write(` ${line}\n`);

/** The project's service containers (not one-off runs unless asked), of the named services or all. */
export function containersOf(project: Project, services: string[], oneoff = false): ProjectContainer[] {
  for (const s of services) if (!project.services[s]) throw new BoxError(`no such service: ${s}`);
  return projectContainers(store(), project.name).filter(
    (c) => (oneoff || !c.oneoff) && (!services.length || services.includes(c.service)),
  );
}

const COLOURS = [36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96];

/** Prints log entries with a `NAME  | ` prefix per container, coloured on a terminal. */
export class PrefixPrinter {
  private readonly width: number;
  private readonly colour = new Map<string, number>();

  constructor(
    names: string[],
    private readonly timestamps = false,
    private readonly withPrefix = true,
  ) {
    this.width = Math.max(0, ...names.map((n) => n.length));
    for (const [i, n] of names.entries()) this.colour.set(n, COLOURS[i % COLOURS.length]);
  }

  print(name: string, entries: LogEntry[]): void {
    const tty = process.stdout.isTTY;
    let prefix = this.withPrefix ? `${name.padEnd(this.width)}  | ` : '';
    if (tty && prefix) prefix = `\x1b[${this.colour.get(name) ?? 0}m${prefix}\x1b[0m`;
    for (const e of entries) {
      const text = (this.timestamps ? `${e.time} ` : '') + e.log;
      const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
      process.stdout.write(lines.map((l) => prefix + l + '\n').join(''));
    }
  }
}
