// Container listing and removal (the full lifecycle comes with detached containers).
import { Command, Option } from 'clipanion';
import { BoxError } from '../errors';
import { roots } from './context';
import { table, timeAgo } from './format';

export class PsCommand extends Command {
  static override paths = [['ps'], ['container', 'ls']];
  static override usage = Command.Usage({ description: 'list containers' });
  all = Option.Boolean('--all,-a', false, { description: 'show all containers, not only running ones' });
  quiet = Option.Boolean('--quiet,-q', false, { description: 'only show ids' });
  format = Option.String('--format', { description: 'json for machine-readable output' });

  override async execute(): Promise<number> {
    const { ContainerStore } = await import('../runtime/containers');
    const list = new ContainerStore(roots()).list().filter((c) => this.all || c.state.status === 'running');
    if (this.quiet) {
      process.stdout.write(list.map((c) => c.id.slice(0, 12) + '\n').join(''));
      return 0;
    }
    if (this.format === 'json') {
      for (const c of list) process.stdout.write(JSON.stringify({ ID: c.id, Names: c.name, Image: c.config.image.ref, Command: c.config.args.join(' '), CreatedAt: c.created, State: c.state.status, ExitCode: c.state.exitCode }) + '\n');
      return 0;
    }
    const status = (c: (typeof list)[number]) => (c.state.status === 'exited' ? `Exited (${c.state.exitCode})` : c.state.status === 'running' ? 'Up' : 'Created');
    const rows = list.map((c) => [c.id.slice(0, 12), c.config.image.ref, JSON.stringify(c.config.args.join(' ').slice(0, 30)), timeAgo(c.created), status(c), c.name]);
    process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows));
    return 0;
  }
}

export class RmCommand extends Command {
  static override paths = [['rm'], ['container', 'rm']];
  static override usage = Command.Usage({ description: 'remove stopped containers' });
  containers = Option.Rest({ required: 1, name: 'CONTAINER' });

  override async execute(): Promise<number> {
    const { ContainerStore } = await import('../runtime/containers');
    const store = new ContainerStore(roots());
    let code = 0;
    for (const q of this.containers) {
      const c = store.find(q);
      if (!c) {
        process.stderr.write(`box: no such container: ${q}\n`);
        code = 1;
        continue;
      }
      if (c.state.status === 'running' && c.state.pid && isAlive(c.state.pid)) {
        throw new BoxError(`container ${q} is running: stop it first`);
      }
      store.remove(c);
      process.stdout.write(q + '\n');
    }
    return code;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
