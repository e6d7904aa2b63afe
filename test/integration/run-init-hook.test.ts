// The host's hook between clone and the container's own start (helper protocol 2, the control
// channel): box's run path, in this process against the built helper, calls onInitReady with the
// waiting init; a hook that throws aborts the start, and nothing of the container is left.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args';
import { globals } from '../../src/cli/context';
import { requestFrom, runCommand } from '../../src/cli/container/run';
import { runForeground } from '../../src/runtime/run';
import { busyboxRoot, cgroupDirsOf, inspectOne, leftovers, snapshot } from '../support/box';

const t = busyboxRoot();

function request(name: string, hook: (pid: number) => void | Promise<void>, ...flags: string[]) {
  globals.root = t.root;
  // seccomp's compiler is loaded with a lazy require, which vitest's module loader cannot follow
  // and so is network setup: these tests are about the hook, so the container has no network
  const argv = ['--name', name, '--no-default-policies', '--memory', '64m', '--security-opt', 'seccomp=unconfined'];
  argv.push('--network', 'none');
  argv.push(...flags, 'busybox:latest');
  const a = parseArgs(runCommand, [...argv, 'sh', '-c', 'echo ran >/ran'], 'run');
  return { ...requestFrom(a), warn: () => undefined, onInitReady: hook };
}

interface Seen {
  pid: number;
  ownNet: boolean;
  cgroups: number;
  ran: boolean;
}

/** What the hook sees of the waiting init: its namespaces and cgroups exist, the command has not run. */
function look(pid: number): Seen {
  const upper = t.containerIds().map((id) => path.join(t.root, 'containers', id, 'upper', 'ran'));
  return {
    pid,
    ownNet: fs.readlinkSync(`/proc/${pid}/ns/net`) !== fs.readlinkSync('/proc/self/ns/net'),
    cgroups: t.containerIds().flatMap(cgroupDirsOf).length,
    ran: upper.some((f) => fs.existsSync(f)),
  };
}

it('onInitReady sees the waiting init; a hook that throws aborts the start and leaves nothing', async () => {
  const before = snapshot(t);
  let seen: Seen | undefined;
  const req = request('aborted', (pid) => {
    seen = look(pid);
    throw new Error('the network could not be set up');
  });
  await expect(runForeground(req)).rejects.toThrow('the network could not be set up');
  expect(seen).toMatchObject({ ownNet: true, ran: false });
  expect(seen!.cgroups).toBeGreaterThan(0);
  expect(fs.existsSync(`/proc/${seen!.pid}/ns`), 'the init is gone').toBe(false);
  expect(leftovers(t, before)).toEqual([]);
  const id = inspectOne<{ Id: string; State: { Status: string } }>(t, 'aborted');
  expect(id.State.Status).toBe('created');
  expect(fs.existsSync(path.join(t.root, 'containers', id.Id, 'upper', 'ran')), 'the command never ran').toBe(false);
  expect(t.box(['rm', 'aborted']).status).toBe(0);
}, 60_000);

it('an async hook that resolves lets the container run (--rm: nothing left)', async () => {
  const before = snapshot(t);
  let seen: Seen | undefined;
  const req = request(
    'hooked',
    async (pid) => {
      await new Promise((resolve) => setImmediate(resolve));
      seen = look(pid);
    },
    '--rm',
  );
  expect(await runForeground(req)).toBe(0);
  expect(seen).toMatchObject({ ownNet: true, ran: false });
  expect(t.containerIds()).toEqual([]);
  expect(leftovers(t, before)).toEqual([]);
}, 60_000);

it("an init killed while the hook works on it: the container's own failure is reported, not the hook's error", async () => {
  const before = snapshot(t);
  let seenPid = 0;
  const warned: string[] = [];
  const req = request('killed-in-hook', (pid) => {
    seenPid = pid;
    // as a network hook that finds the netns gone: the init was killed (the OOM killer, a kill -9)
    process.kill(pid, 'SIGKILL');
    throw new Error(`ENOENT: no such file or directory, open '/proc/${pid}/ns/net'`);
  });
  // what the helper says of its init, as for any start that fails in the container's setup
  expect(await runForeground({ ...req, warn: (m) => warned.push(m) })).toBe(125);
  expect(warned.join('\n')).toMatch(/killed by signal 9 during setup/);
  expect(warned.join('\n')).not.toContain('ENOENT');
  expect(fs.existsSync(`/proc/${seenPid}/ns`), 'the init is gone').toBe(false);
  expect(leftovers(t, before)).toEqual([]);
  const st = inspectOne<{ State: { Status: string; ExitCode: number; Error: string } }>(t, 'killed-in-hook').State;
  expect(st).toMatchObject({ Status: 'created', ExitCode: 125, Error: 'killed by signal 9 during setup' });
  expect(t.box(['rm', 'killed-in-hook']).status).toBe(0);
}, 60_000);
