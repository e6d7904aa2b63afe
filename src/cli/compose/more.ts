// The other compose subcommands, each a thin layer over a runtime function or a container
// command: create, exec, run (one-off), top, port, events, images, pull, wait, ls, version.
import { BoxError } from '../../errors';
import { allProjects } from '../../compose/project-containers';
import { LABEL, publishFlag } from '../../compose/service-flags';
import { requestFor } from '../../compose/create-all';
import { connectOtherNetworks } from '../../compose/networks';
import { ensureResources, selectServices, up } from '../../compose/up';
import type { Project } from '../../compose/model';
import { lockProject } from '../../compose/project-containers';
import type { AdmissionFlags } from '../../policy/admission';
import { ImageStore } from '../../image/store';
import { runDetached } from '../../runtime/detach';
import { refresh, removeContainer, waitFinalized } from '../../runtime/lifecycle';
import { parseLogOpts } from '../../runtime/log-options';
import { admissionFlagsFrom, POLICY_FLAGS } from '../../runtime/run-flags';
import { runForeground } from '../../runtime/run';
import { randomHex } from '../../util/random';
import { BOX_VERSION } from '../../version';
import { portLines } from '../../network/ports';
import { publishedPorts } from '../container/port';
import { bool, CommandSpec, list, ParsedArgs, str } from '../args';
import { pullWithProgress } from '../container/run';
import { roots } from '../context';
import { humanSize, table } from '../format';
import { eventsCommand } from '../system/events';
import { containersOf, progress, SERVICES, store } from './common';
import { loadComposeProject, warn } from './context';

const b = (names: string[], key: string, description: string) => ({ names, key, kind: 'bool' as const, description });
const s = (names: string[], key: string, value: string, description: string) => ({
  names,
  key,
  kind: 'string' as const,
  value,
  description,
});

export const createCommand: CommandSpec = {
  paths: [['compose', 'create']],
  summary: "Create the services' containers without starting them.",
  flags: [
    b(['--force-recreate'], 'forceRecreate', 'recreate containers even if unchanged'),
    b(['--no-recreate'], 'noRecreate', 'keep existing containers'),
    b(['--remove-orphans'], 'removeOrphans', 'remove containers of services the files no longer have'),
    ...POLICY_FLAGS,
  ],
  positionals: [SERVICES],
  async run(a) {
    const project = loadComposeProject(a.positionals);
    await up(roots(), project, {
      services: a.positionals,
      noDeps: false,
      forceRecreate: bool(a, 'forceRecreate'),
      noRecreate: bool(a, 'noRecreate'),
      removeOrphans: bool(a, 'removeOrphans'),
      scale: {},
      admission: admissionFlagsFrom(a.flags),
      pull: pullWithProgress(undefined),
      progress,
      warn,
      noStart: true,
    });
    return 0;
  },
};

/** The container of a service that exec and port act on: --index N (default 1). */
function serviceContainer(service: string, index: string | undefined) {
  const project = loadComposeProject([service]);
  const n = index === undefined ? 1 : Number(index);
  const c = containersOf(project, [service]).find((x) => x.number === n);
  if (!c) throw new BoxError(`service "${service}" has no container ${n}: start it with box compose up`);
  return c.record;
}

export const execCommand: CommandSpec = {
  paths: [['compose', 'exec']],
  summary: "Run a command in a service's running container.",
  flags: [
    b(['--detach', '-d'], 'detach', 'run it in the background'),
    b(['--no-tty', '-T'], 'noTty', 'no pseudo-terminal (the default when stdin is no terminal)'),
    s(['--user', '-u'], 'user', 'user', 'user[:group] to run as'),
    s(['--workdir', '-w'], 'workdir', 'dir', 'working directory'),
    { names: ['--env', '-e'], key: 'env', kind: 'list', value: 'NAME=VALUE', description: 'set a variable' },
    s(['--index'], 'index', 'n', 'which container of the service (default 1)'),
  ],
  positionals: [{ name: 'SERVICE' }, { name: 'COMMAND' }],
  stopAfterPositionals: true,
  async run(a) {
    const c = serviceContainer(a.positionals[0], str(a, 'index'));
    const { execInContainer } = await import('../../runtime/exec');
    const tty = !bool(a, 'noTty') && !bool(a, 'detach') && process.stdin.isTTY === true;
    return execInContainer({
      roots: roots(),
      container: c.id,
      command: [a.positionals[1], ...a.rest],
      user: str(a, 'user'),
      workdir: str(a, 'workdir'),
      env: list(a, 'env'),
      envFile: [],
      tty,
      interactive: !bool(a, 'detach'),
      detach: bool(a, 'detach'),
      warn,
    });
  },
};

export const runCommand: CommandSpec = {
  paths: [['compose', 'run']],
  summary: 'Run a one-off command in a new container of a service (its dependencies started first).',
  flags: [
    b(['--rm'], 'rm', 'remove the container when it exits'),
    b(['--detach', '-d'], 'detach', 'run in the background and print the container id'),
    b(['--no-deps'], 'noDeps', 'do not start the services it depends on'),
    b(['--no-tty', '-T'], 'noTty', 'no pseudo-terminal'),
    b(['--service-ports'], 'servicePorts', "publish the service's ports (not published by default)"),
    { names: ['--env', '-e'], key: 'env', kind: 'list', value: 'NAME=VALUE', description: 'set a variable' },
    s(['--name'], 'name', 'name', 'name of the container'),
    s(['--entrypoint'], 'entrypoint', 'cmd', "override the service's entrypoint"),
    s(['--user', '-u'], 'user', 'user', 'user[:group] to run as'),
    s(['--workdir', '-w'], 'workdir', 'dir', 'working directory'),
    ...POLICY_FLAGS,
  ],
  positionals: [{ name: 'SERVICE' }],
  stopAfterPositionals: true,
  async run(a) {
    const svc = a.positionals[0];
    const project = loadComposeProject([svc]);
    if (!project.services[svc]) throw new BoxError(`no such service: ${svc}`);
    const deps = selectServices(project, [svc], false).filter((d) => d !== svc);
    const r = roots();
    // the one-off container and the dependencies it starts are judged alike
    const admission = admissionFlagsFrom(a.flags);
    if (deps.length && !bool(a, 'noDeps')) {
      const base = { noDeps: false, forceRecreate: false, noRecreate: false, removeOrphans: false, scale: {} };
      await up(r, project, { ...base, services: deps, admission, pull: pullWithProgress(undefined), progress, warn });
    }
    // the service's networks and volumes, as up makes them (it ran for the dependencies only, if at all)
    const lock = await lockProject(r, project.name);
    let undoResources: () => Promise<void>;
    try {
      undoResources = await ensureResources(r, project, [svc], progress);
    } finally {
      lock.release();
    }
    try {
      return await runOneOff(a, project, svc, admission);
    } catch (err) {
      await undoResources(); // what is still in use stays
      throw err;
    }
  },
};

/** The one-off container of `compose run`: the service's flags with the command line's changes. */
function runOneOff(a: ParsedArgs, project: Project, svc: string, admission: AdmissionFlags): Promise<number> {
  const req = requestFor(roots(), project, svc, 0, { warn, admission }, true);
  const f = req.flags;
  if (a.rest.length) req.command = a.rest;
  if (str(a, 'entrypoint') !== undefined) {
    f.entrypoint = str(a, 'entrypoint');
    if (!a.rest.length) req.command = [];
  }
  f.env = [...f.env, ...list(a, 'env')];
  f.name = str(a, 'name') ?? `${project.name}-${svc}-run-${randomHex(6)}`;
  f.user = str(a, 'user') ?? f.user;
  f.workdir = str(a, 'workdir') ?? f.workdir;
  f.rm = bool(a, 'rm');
  if (bool(a, 'servicePorts')) f.publish = (project.services[svc].ports ?? []).map(publishFlag);
  f.restart = undefined; // a one-off container is not restarted, as docker compose run
  f.tty = !bool(a, 'noTty') && process.stdin.isTTY === true;
  f.interactive = !bool(a, 'detach');
  // the service's other networks, as up connects them (the first is the container's --network)
  req.onRecorded = async (containers, record) => {
    try {
      await connectOtherNetworks(containers, project, svc, record, true);
    } catch (err) {
      await removeContainer(req.roots, containers, record, true, true); // nobody has seen it yet
      throw err;
    }
    return containers.get(record.id) ?? record;
  };
  const log = parseLogOpts(f.logOpt);
  return bool(a, 'detach') ? runDetached(req, log) : runForeground(req, log);
}

export const topCommand: CommandSpec = {
  paths: [['compose', 'top']],
  summary: "Show the processes of the services' running containers.",
  flags: [],
  positionals: [SERVICES],
  async run(a) {
    const { processRows, TOP_TITLES } = await import('../../runtime/top');
    const { containerCgroup, detectCgroups } = await import('../../linux/cgroups');
    const project = loadComposeProject(a.positionals);
    for (const c of containersOf(project, a.positionals)) {
      const cur = await refresh(roots(), store(), c.record);
      if (cur.state.status !== 'running') continue;
      process.stdout.write(
        `${cur.name}\n${table(TOP_TITLES, processRows(containerCgroup(detectCgroups(), cur.id).pids()))}\n`,
      );
    }
    return 0;
  },
};

export const portCommand: CommandSpec = {
  paths: [['compose', 'port']],
  summary: 'Print the host address published for a port of a service (PRIVATE_PORT[/PROTO]).',
  flags: [
    s(['--index'], 'index', 'n', 'which container of the service (default 1)'),
    s(['--protocol'], 'protocol', 'proto', 'tcp (default), udp or sctp'),
  ],
  positionals: [{ name: 'SERVICE' }, { name: 'PRIVATE_PORT' }],
  async run(a) {
    const c = serviceContainer(a.positionals[0], str(a, 'index'));
    const ports = publishedPorts(c);
    const spec = a.positionals[1].includes('/')
      ? a.positionals[1]
      : `${a.positionals[1]}/${str(a, 'protocol') ?? 'tcp'}`;
    process.stdout.write(`${portLines(ports, c.name, spec).join('\n')}\n`);
    return 0;
  },
};

export const composeEventsCommand: CommandSpec = {
  paths: [['compose', 'events']],
  summary: "Show the events of the project's containers (box events, filtered by the project's label).",
  flags: eventsCommand.flags,
  positionals: [SERVICES],
  async run(a) {
    const project = loadComposeProject(a.positionals);
    const filters = [`label=${LABEL.project}=${project.name}`];
    for (const svc of a.positionals) filters.push(`label=${LABEL.service}=${svc}`);
    const own = list(a, 'filter');
    return eventsCommand.run({ ...a, positionals: [], flags: { ...a.flags, filter: [...own, ...filters] } });
  },
};

export const imagesCommand: CommandSpec = {
  paths: [['compose', 'images']],
  summary: "List the images of the project's containers.",
  flags: [],
  positionals: [SERVICES],
  async run(a) {
    const project = loadComposeProject(a.positionals);
    const images = new ImageStore(roots());
    const rows = containersOf(project, a.positionals).map(({ record }) => {
      const id = record.config.image.id;
      const [repo, tag] = splitRef(record.config.image.ref);
      let size = '';
      try {
        size = humanSize(images.get(id).size ?? 0);
      } catch {
        size = '';
      }
      return [record.name, repo, tag, id.replace(/^sha256:/, '').slice(0, 12), size];
    });
    process.stdout.write(table(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows));
    return 0;
  },
};

function splitRef(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}

export const pullCommand: CommandSpec = {
  paths: [['compose', 'pull']],
  summary: "Pull the services' images.",
  flags: [b(['--ignore-pull-failures'], 'ignoreFailures', 'go on when an image cannot be pulled')],
  positionals: [SERVICES],
  async run(a) {
    const project = loadComposeProject(a.positionals);
    const names = a.positionals.length ? a.positionals : Object.keys(project.services);
    const pull = pullWithProgress(undefined);
    for (const image of new Set(names.map((n) => project.services[n].image!))) {
      const code = await pull(image, 'always');
      if (code !== 0 && !bool(a, 'ignoreFailures')) return code;
    }
    return 0;
  },
};

export const waitCommand: CommandSpec = {
  paths: [['compose', 'wait']],
  summary: "Wait until the services' containers stop, and print their exit codes.",
  flags: [],
  positionals: [{ name: 'SERVICE', rest: true }],
  async run(a) {
    const project = loadComposeProject(a.positionals);
    let last = 0;
    for (const { record } of containersOf(project, a.positionals)) {
      last = (await waitFinalized(roots(), store(), record))?.state.exitCode ?? 0;
      process.stdout.write(`${last}\n`);
    }
    return 0;
  },
};

export const lsCommand: CommandSpec = {
  paths: [['compose', 'ls']],
  summary: 'List the compose projects that have containers.',
  flags: [
    b(['--all', '-a'], 'all', 'also projects whose containers are all stopped'),
    b(['--quiet', '-q'], 'quiet', 'only the names'),
    s(['--format'], 'format', 'json', 'json: an array of objects'),
  ],
  positionals: [],
  async run(a) {
    const st = store();
    const rows: { Name: string; Status: string; ConfigFiles: string }[] = [];
    for (const [name, containers] of [...allProjects(st)].sort(([x], [y]) => (x < y ? -1 : 1))) {
      const counts = new Map<string, number>();
      for (const c of containers) {
        const status = (await refresh(roots(), st, c.record)).state.status;
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
      if (!counts.get('running') && !bool(a, 'all')) continue;
      const status = [...counts].map(([k, n]) => `${k}(${n})`).join(', ');
      rows.push({
        Name: name,
        Status: status,
        ConfigFiles: containers[0].record.config.labels[LABEL.configFiles] ?? '',
      });
    }
    if (bool(a, 'quiet')) process.stdout.write(rows.map((r) => r.Name + '\n').join(''));
    else if (str(a, 'format') === 'json') process.stdout.write(JSON.stringify(rows) + '\n');
    else
      process.stdout.write(
        table(
          ['NAME', 'STATUS', 'CONFIG FILES'],
          rows.map((r) => [r.Name, r.Status, r.ConfigFiles]),
        ),
      );
    return 0;
  },
};

export const versionCommand: CommandSpec = {
  paths: [['compose', 'version']],
  summary: 'Show the version of box compose.',
  flags: [b(['--short'], 'short', 'only the number')],
  positionals: [],
  async run(a) {
    process.stdout.write(bool(a, 'short') ? `${BOX_VERSION}\n` : `box compose version ${BOX_VERSION}\n`);
    return 0;
  },
};
