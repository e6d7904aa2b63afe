// `box run [OPTIONS] IMAGE [COMMAND [ARG...]]` with Docker's flag names.
import { Command, Option } from 'clipanion';
import { BoxError } from '../errors';
import { roots } from './context';

export class RunCommand extends Command {
  static override paths = [['run'], ['container', 'run']];
  static override usage = Command.Usage({
    description: 'run a command in a new container',
    details: 'Runs IMAGE with COMMAND (or the image\'s Entrypoint/Cmd) in the foreground, isolated in its own namespaces and cgroup, and exits with its exit code.',
    examples: [['Run a shell', 'box run -it --rm busybox sh'], ['Limit memory and processes', 'box run --memory 64m --pids-limit 50 busybox sh -c "echo hi"']],
  });

  name = Option.String('--name', { description: 'assign a name to the container' });
  hostname = Option.String('--hostname,-h', { description: 'container host name' });
  env = Option.Array('--env,-e', [], { description: 'set environment variables (NAME=VALUE, or NAME to pass box\'s own)' });
  envFile = Option.Array('--env-file', [], { description: 'read environment variables from a file' });
  workdir = Option.String('--workdir,-w', { description: 'working directory inside the container' });
  user = Option.String('--user,-u', { description: 'user[:group], names or numbers' });
  entrypoint = Option.String('--entrypoint', { description: 'override the image\'s entrypoint' });
  tty = Option.Boolean('--tty,-t', false, { description: 'allocate a pseudo-terminal' });
  interactive = Option.Boolean('--interactive,-i', false, { description: 'keep standard input open' });
  network = Option.String('--network,--net', { description: 'none (default) or host' });
  readOnly = Option.Boolean('--read-only', false, { description: 'mount the root filesystem read-only' });
  init = Option.Boolean('--init', false, { description: 'run an init as PID 1 that forwards signals and reaps zombies' });
  privileged = Option.Boolean('--privileged', false, { description: 'give the container all capabilities and no confinement' });
  capAdd = Option.Array('--cap-add', [], { description: 'add Linux capabilities' });
  capDrop = Option.Array('--cap-drop', [], { description: 'drop Linux capabilities' });
  securityOpt = Option.Array('--security-opt', [], { description: 'no-new-privileges[=false], seccomp=unconfined|PROFILE.json' });
  ulimit = Option.Array('--ulimit', [], { description: 'resource limit NAME=SOFT[:HARD]' });
  memory = Option.String('--memory,-m', { description: 'memory limit (e.g. 256m)' });
  memorySwap = Option.String('--memory-swap', { description: 'memory plus swap limit, -1 for unlimited swap' });
  memoryReservation = Option.String('--memory-reservation', { description: 'memory soft limit' });
  cpus = Option.String('--cpus', { description: 'number of CPUs (e.g. 1.5)' });
  cpuShares = Option.String('--cpu-shares,-c', { description: 'CPU shares (relative weight)' });
  cpuPeriod = Option.String('--cpu-period', { description: 'CFS period in microseconds' });
  cpuQuota = Option.String('--cpu-quota', { description: 'CFS quota in microseconds' });
  cpusetCpus = Option.String('--cpuset-cpus', { description: 'CPUs allowed (e.g. 0-1)' });
  pidsLimit = Option.String('--pids-limit', { description: 'maximum number of processes (-1 for unlimited)' });
  label = Option.Array('--label,-l', [], { description: 'set metadata labels' });
  rm = Option.Boolean('--rm', false, { description: 'remove the container when it exits' });
  detach = Option.Boolean('--detach,-d', false, { description: 'run in the background (not available yet)' });

  image = Option.String({ name: 'IMAGE' });
  command = Option.Proxy({ name: 'COMMAND' });

  override async execute(): Promise<number> {
    if (this.detach) throw new BoxError('--detach is not available yet: run the container in the foreground');
    const { runForeground } = await import('../runtime/run');
    return runForeground({
      roots: roots(),
      image: this.image,
      command: this.command,
      flags: {
        name: this.name,
        hostname: this.hostname,
        env: this.env,
        envFile: this.envFile,
        workdir: this.workdir,
        user: this.user,
        entrypoint: this.entrypoint,
        tty: this.tty,
        interactive: this.interactive,
        network: this.network,
        readOnly: this.readOnly,
        init: this.init,
        privileged: this.privileged,
        capAdd: this.capAdd,
        capDrop: this.capDrop,
        securityOpt: this.securityOpt,
        ulimit: this.ulimit,
        memory: this.memory,
        memorySwap: this.memorySwap,
        memoryReservation: this.memoryReservation,
        cpus: this.cpus,
        cpuShares: this.cpuShares,
        cpuPeriod: this.cpuPeriod,
        cpuQuota: this.cpuQuota,
        cpusetCpus: this.cpusetCpus,
        pidsLimit: this.pidsLimit,
        label: this.label,
        rm: this.rm,
      },
      warn: (msg) => process.stderr.write(`box: ${msg}\n`),
    });
  }
}
