// `box exec`: a new process in a running container, joining all its namespaces, its cgroup and
// its security settings (capabilities, seccomp, no_new_privs, user). The process runs under a
// small reaper of box-helper's in the container, so neither it nor its orphans are left as zombies
// when the container's PID 1 never reaps (native/PROTOCOL.md). With -d the helper stays after box
// returned (in its own session) and records the exit as `exec_die`.
import { assetPath } from '../assets';
import { BoxError } from '../errors';
import { ImageStore } from '../image/store';
import { containerCgroup, detectCgroups } from '../linux/cgroups';
import { rlimitNumber } from '../linux/rlimits';
import { layout, Roots } from '../paths';
import { ContainerStore } from './containers';
import { describeStartError, requireRoot } from './create';
import { appendEvent, eventsFile, eventTemplate } from './events';
import { isPaused } from './freezer';
import { runHelper } from './helper';
import { find, refresh } from './lifecycle';
import { readImageFile } from './image-files';
import { collectEnv, mergeEnv } from './run-options';
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
  if (req.detach && (req.tty || req.interactive)) throw new BoxError('exec -d cannot be combined with -t or -i: a detached process has no terminal or input');
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
    user = { spec: req.user, ...resolveUser(req.user, readImageFile(lower, '/etc/passwd'), readImageFile(lower, '/etc/group')) };
  }
  if (req.workdir !== undefined && !req.workdir.startsWith('/')) throw new BoxError(`invalid working directory "${req.workdir}": it must be an absolute path`);
  const security = processSecurity({ ...cfg, user });
  const cgroup = containerCgroup(detectCgroups(), c.id);
  const join = cgroup.host.version === 1 ? cgroup.joinFiles().selfTasks : cgroup.procsFiles();

  const spec = new HelperSpec().op('join', c.state.pid);
  const execCommand = req.command.join(' ');
  if (req.detach) spec.op('detach').op('exit-event', eventsFile(req.roots), eventTemplate('exec_die', c, { execCommand, exitCode: '{{exitCode}}' }));
  for (const f of join) spec.op('cgroup-join', f);
  if (req.tty) spec.op('tty');
  for (const u of cfg.ulimits) spec.op('rlimit', rlimitNumber(u.name), u.soft, u.hard);
  if (cfg.noNewPrivileges) spec.op('no-new-privs');
  spec.op('user', user.uid, user.gid).op('groups', ...user.additionalGids);
  const k = security.caps;
  spec.op('caps', k.bounding, k.effective, k.permitted, k.inheritable, k.ambient);
  spec.op('cwd', req.workdir ?? cfg.workingDir);
  spec.op('env', ...mergeEnv(cfg.env, req.tty ? ['TERM=xterm'] : [], collectEnv(req)));
  if (security.seccomp) spec.op('seccomp', security.seccomp);
  spec.op('args', ...req.command);

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
