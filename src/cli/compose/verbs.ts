// `box compose start|stop|restart|kill|rm|pause|unpause [SERVICE...]`: the container commands
// applied to the project's containers, concurrently, by the runtime's own functions. `start`
// honours the dependency order and conditions, as `up` does.
import { BoxError } from '../../errors';
import { stopGraceSeconds } from '../../compose/model';
import { serviceOrder, waitCondition } from '../../compose/conditions';
import type { ProjectContainer } from '../../compose/project-containers';
import { parseSignal } from '../../linux/signals';
import { startExisting } from '../../runtime/detach';
import { pauseContainer, unpauseContainer } from '../../runtime/freezer';
import { killContainer, refresh, removeContainer, stopContainer } from '../../runtime/lifecycle';
import { parseNonNegativeInt } from '../../util/units';
import { bool, CommandSpec, ParsedArgs, str } from '../args';
import { roots } from '../context';
import { containersOf, progress, SERVICES, store } from './common';
import { loadComposeProject, warn } from './context';

const TIMEOUT = {
  names: ['--timeout', '-t'],
  key: 'timeout',
  kind: 'string' as const,
  value: 'seconds',
  description: "seconds before SIGKILL (default: the service's stop_grace_period, else 10)",
};

/** Runs `fn` on each container at once; every failure is printed, and any makes the exit 1. */
async function onEach(containers: ProjectContainer[], fn: (c: ProjectContainer) => Promise<string>): Promise<number> {
  const results = await Promise.allSettled(
    containers.map(async (c) => progress(`Container ${c.record.name}  ${await fn(c)}`)),
  );
  let code = 0;
  for (const r of results) {
    if (r.status === 'fulfilled') continue;
    if (!(r.reason instanceof BoxError)) throw r.reason;
    process.stderr.write(`box: ${r.reason.message}\n`);
    code = 1;
  }
  return code;
}

function timeoutOf(a: ParsedArgs): number | undefined {
  const t = str(a, 'timeout');
  return t === undefined ? undefined : parseNonNegativeInt('--timeout', t);
}

function verb(
  name: string,
  summary: string,
  flags: CommandSpec['flags'],
  fn: (a: ParsedArgs) => Promise<number>,
): CommandSpec {
  return { paths: [['compose', name]], summary, flags, positionals: [SERVICES], run: fn };
}

export const stopCommand = verb('stop', "Stop the services' containers.", [TIMEOUT], async (a) => {
  const project = loadComposeProject(a.positionals);
  const t = timeoutOf(a);
  return onEach(containersOf(project, a.positionals), async (c) => {
    await stopContainer(roots(), store(), c.record, t ?? stopGraceSeconds(project, c.service));
    return 'Stopped';
  });
});

export const restartCommand = verb('restart', "Restart the services' containers.", [TIMEOUT], async (a) => {
  const project = loadComposeProject(a.positionals);
  const t = timeoutOf(a);
  const s = store();
  return onEach(containersOf(project, a.positionals), async (c) => {
    await stopContainer(roots(), s, c.record, t ?? stopGraceSeconds(project, c.service));
    const code = await startExisting(roots(), s, s.get(c.record.id) ?? c.record, warn);
    if (code !== 0) throw new BoxError(`container ${c.record.name} failed to start (exit ${code})`);
    return 'Restarted';
  });
});

export const killCommand = verb(
  'kill',
  "Send a signal (default SIGKILL) to the services' containers.",
  [{ names: ['--signal', '-s'], key: 'signal', kind: 'string', value: 'signal', description: 'signal to send' }],
  async (a) => {
    const project = loadComposeProject(a.positionals);
    const sig = parseSignal(str(a, 'signal') ?? 'SIGKILL', '--signal');
    const s = store();
    const running = [];
    for (const c of containersOf(project, a.positionals))
      if ((await refresh(roots(), s, c.record)).state.status === 'running') running.push(c);
    return onEach(running, async (c) => {
      await killContainer(roots(), s, c.record, sig);
      return 'Killed';
    });
  },
);

export const rmCommand = verb(
  'rm',
  "Remove the services' stopped containers (-s: stop them first).",
  [
    { names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'do not ask (box never asks)' },
    { names: ['--stop', '-s'], key: 'stop', kind: 'bool', description: 'stop the containers first' },
    { names: ['--volumes', '-v'], key: 'volumes', kind: 'bool', description: 'remove anonymous volumes' },
  ],
  async (a) => {
    const project = loadComposeProject(a.positionals);
    const s = store();
    const all = containersOf(project, a.positionals, true);
    const targets = [];
    for (const c of all) {
      const cur = await refresh(roots(), s, c.record);
      if (cur.state.status !== 'running' || bool(a, 'stop')) targets.push({ ...c, record: cur });
    }
    if (!targets.length) progress('No stopped containers');
    return onEach(targets, async (c) => {
      await removeContainer(roots(), s, c.record, bool(a, 'stop'), bool(a, 'volumes'));
      return 'Removed';
    });
  },
);

export const pauseCommand = verb('pause', "Pause the services' containers.", [], async (a) => {
  const project = loadComposeProject(a.positionals);
  return onEach(containersOf(project, a.positionals), async (c) => {
    await pauseContainer(roots(), store(), c.record);
    return 'Paused';
  });
});

export const unpauseCommand = verb('unpause', "Resume the services' paused containers.", [], async (a) => {
  const project = loadComposeProject(a.positionals);
  return onEach(containersOf(project, a.positionals), async (c) => {
    await unpauseContainer(roots(), store(), c.record);
    return 'Unpaused';
  });
});

export const startCommand = verb(
  'start',
  "Start the services' existing containers, in dependency order.",
  [],
  async (a) => {
    const project = loadComposeProject(a.positionals);
    const s = store();
    const all = containersOf(project, a.positionals);
    const byService = new Map<string, ProjectContainer[]>();
    for (const c of all) byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
    for (const svc of serviceOrder(project, [...byService.keys()])) {
      for (const [dep, d] of Object.entries(project.services[svc].depends_on ?? {})) {
        const records = (byService.get(dep) ?? []).map((c) => s.get(c.record.id) ?? c.record);
        if (records.length) await waitCondition(roots(), s, dep, records, d.condition);
      }
      const code = await onEach(byService.get(svc)!, async (c) => {
        const started = await startExisting(roots(), s, c.record, warn);
        if (started !== 0) throw new BoxError(`container ${c.record.name} failed to start (exit ${started})`);
        return 'Started';
      });
      if (code !== 0) return code;
    }
    return 0;
  },
);
