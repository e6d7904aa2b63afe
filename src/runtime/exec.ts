// `box exec`: a new process in a running container, joining all its namespaces, its cgroup and
// its security settings (capabilities, seccomp, no_new_privs, user). The process runs under a
// small reaper of box-helper's in the container, so neither it nor its orphans are left as zombies
// when the container's PID 1 never reaps (native/PROTOCOL.md). With -d the helper stays after box
// returned (in its own session) and records the exit as `exec_die`.
import { assetPath } from '../assets';
import { BoxError } from '../errors';
import { ImageStore } from '../image/store';
import { containerCgroup, detectCgroups } from '../linux/cgroups';
import { ContainerRecord } from '../model';
import { layout, Roots } from '../paths';
import { ContainerStore } from './containers';
import { describeStartError, requireRoot } from './create';
import { appendEvent, eventsFile, eventTemplate } from './events';
import { isPaused } from './freezer';
import { runHelper } from './helper';
import { find, refresh } from './lifecycle';
import { readImageFile } from './image-files';
import { collectEnv, mergeEnv } from './run-options';
import { appendProcessOps, containerProcess, ProcessAttributes } from './process-ops';
import { processSecurity } from './security';
import { HelperSpec } from './spec';
import { resolveUser } from './users';

export interface ExecRequest {
  roots: Roots;
  container: string;
  command: string[];
  user?: string;
  workdir?: string;
  env: string[];
  envFile: string[];
  tty: boolean;
  interactive: boolean;
  /** -d: start it and return; its output is discarded, as Docker does */
  detach?: boolean;
  warn: (msg: string) => void;
}

export async function execInContainer(req: ExecRequest): Promise<number> {
  requireRoot();
  if (!req.command.length) throw new BoxError('exec needs a command to run in the container');
  if (req.detach && (req.tty || req.interactive))
    throw new BoxError('exec -d cannot be combined with -t or -i: a detached process has no terminal or input');
  const store = new ContainerStore(req.roots);
  const c = await refresh(req.roots, store, find(store, req.container));
  if (c.state.status !== 'running' || !c.state.pid) throw new BoxError(`container ${req.container} is not running`);
  // A process joining a frozen cgroup would hang, unkillable, until the container is unpaused.
  if (isPaused(c)) throw new BoxError(`container ${req.container} is paused: unpause it before exec`);
  const cfg = c.config;
  let user = cfg.user;
  if (req.user !== undefined) {
    const images = new ImageStore(req.roots);
    const lower = images.lowerDirs(images.get(cfg.image.id).config);
    user = {
      spec: req.user,
      ...resolveUser(req.user, readImageFile(lower, '/etc/passwd'), readImageFile(lower, '/etc/group')),
    };
  }
  if (req.workdir !== undefined && !req.workdir.startsWith('/'))
    throw new BoxError(`invalid working directory "${req.workdir}": it must be an absolute path`);
  const attributes: ProcessAttributes = {
    ...containerProcess({ ...cfg, user }, processSecurity({ ...cfg, user })),
    cwd: req.workdir ?? cfg.workingDir,
    env: mergeEnv(cfg.env, req.tty ? ['TERM=xterm'] : [], collectEnv(req)),
  };
  const spec = execSpec(req, c, attributes, containerCgroup(detectCgroups(), c.id).joinFiles());
  const execCommand = req.command.join(' ');

  const result = await runHelper(assetPath('box-helper', layout.cache(req.roots)), spec.encode(), {
    mode: 'exec',
    stdin: req.interactive || req.tty ? 'inherit' : 'ignore',
    output: req.detach ? 'ignore' : 'inherit',
    onStarted: () => appendEvent(req.roots, 'exec_start', c, { execCommand }),
  });
  // A detached helper appends exec_die itself when the process exits.
  if (result.started && !req.detach) appendEvent(req.roots, 'exec_die', c, { execCommand, exitCode: result.exitCode });
  if (result.error) req.warn(describeStartError(result.error, req.command[0]));
  return result.exitCode;
}

/**
 * The helper spec of `box exec` (PROTOCOL.md "box-helper exec") for the running container `c`:
 * join its namespaces and, through `cgroupJoin`, its cgroup, then run the command with
 * `attributes`. Pure: it only describes.
 */
export function execSpec(
  req: Pick<ExecRequest, 'roots' | 'command' | 'tty' | 'detach'> & Partial<Pick<ExecRequest, 'interactive'>>,
  c: ContainerRecord,
  attributes: ProcessAttributes,
  cgroupJoin: string[],
): HelperSpec {
  const spec = new HelperSpec().op('join', c.state.pid!);
  if (req.detach) {
    const exitEvent = eventTemplate('exec_die', c, { execCommand: req.command.join(' '), exitCode: '{{exitCode}}' });
    spec.op('detach').op('exit-event', eventsFile(req.roots), exitEvent);
  }
  for (const f of cgroupJoin) spec.op('cgroup-join', f);
  if (req.tty) spec.op('tty');
  else if (!req.detach) {
    // pipes the helper relays, never the caller's descriptors, which root in the container could
    // chmod or truncate through /proc/self/fd (native/PROTOCOL.md "Foreground stdio")
    spec.op('relay');
    if (req.interactive) spec.op('stdin');
  }
  appendProcessOps(spec, attributes);
  spec.op('args', ...req.command);
  return spec;
}
