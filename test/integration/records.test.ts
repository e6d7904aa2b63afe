// Container records as a hostile or unlucky user leaves them: a damaged record is listed by
// `ps -a` and removed by `rm -f`; a `box rm -f` killed at any point leaves the container listed or
// gone, its name reusable and no lock file; the monitor's exit callback after `rm -f` makes none.
// A container's lock is its directory; the lock files under run/locks/containers are an older
// box's, which a root made by one still holds: they go with their containers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  busyboxRoot,
  cgroupDirsOf,
  exitOf,
  inspectOne,
  leftovers,
  runDetached,
  snapshot,
  TestRoot,
  until,
} from '../support/box';

interface PsRow {
  ID: string;
  Names: string;
  State: string;
  Status: string;
  Path?: string;
}

const psAll = (t: TestRoot): PsRow[] => {
  const r = t.box(['ps', '-a', '--format', 'json']);
  expect(r.status).toBe(0);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PsRow);
};

const created = (t: TestRoot, name: string): string => {
  const r = t.box(['create', '--name', name, 'busybox', 'true']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim();
};

const containersDir = (t: TestRoot) => path.join(t.root, 'containers');
const recordFile = (t: TestRoot, id: string) => path.join(containersDir(t), id, 'container.json');
/** A container's lock file as an older box made one (a container's lock is now its directory). */
const lockFile = (t: TestRoot, id: string) => path.join(t.root, 'run', 'locks', 'containers', `${id}.lock`);
const nameLink = (t: TestRoot, name: string) => path.join(t.root, 'names', name);
const lockFiles = (t: TestRoot) =>
  fs.existsSync(path.join(t.root, 'run', 'locks', 'containers'))
    ? fs.readdirSync(path.join(t.root, 'run', 'locks', 'containers'))
    : [];
const alive = (pid: number) =>
  fs.existsSync(`/proc/${pid}`) && !/^[ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]);
const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);

/** Only what `ps -a` lists is under containers/ and has a lock file; every name links to a listed container. */
function expectNothingUnlisted(t: TestRoot): void {
  const listed = psAll(t).map((r) => r.ID); // ps also sweeps what killed commands left
  expect(fs.readdirSync(containersDir(t)).sort()).toEqual([...listed].sort());
  for (const f of lockFiles(t)) expect(listed).toContain(f.replace(/\.lock$/, ''));
  for (const n of fs.readdirSync(path.join(t.root, 'names'))) expect(listed).toContain(fs.readlinkSync(nameLink(t, n)));
}

describe('damaged records', () => {
  const t = busyboxRoot();

  it('a record holding null, cut short or garbled is listed as damaged with its path, and rm -f removes it and its name', () => {
    const fine = created(t, 'fine');
    const nulled = created(t, 'nulled');
    const cut = created(t, 'cut');
    const garbled = created(t, 'garbled');
    const text = fs.readFileSync(recordFile(t, nulled), 'utf8');
    fs.writeFileSync(recordFile(t, nulled), JSON.stringify({ ...JSON.parse(text), config: null }));
    fs.writeFileSync(recordFile(t, cut), text.slice(0, 60));
    fs.writeFileSync(recordFile(t, garbled), Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xff, 0x7b]));

    const rows = psAll(t);
    expect(rows.find((r) => r.ID === fine)).toMatchObject({ Names: 'fine', State: 'created' });
    for (const id of [nulled, cut, garbled]) {
      expect(rows.find((r) => r.ID === id)).toMatchObject({ State: 'damaged', Path: path.join(containersDir(t), id) });
    }
    expect(rows.find((r) => r.ID === nulled)!.Status).toBe('Damaged: config: expected an object, found null');
    const table = t.box(['ps', '-a']);
    expect(table.status).toBe(0);
    expect(table.stdout.split('\n').filter((l) => l.includes('Damaged'))).toHaveLength(3);
    expect(table.stderr).toContain('(the record is not valid JSON (truncated or garbled); ');
    expect(table.stderr).toContain(`${path.join(containersDir(t), cut)}): remove the container with box rm -f ${cut}`);

    // without -f it says how; other commands refuse it in one line
    for (const args of [
      ['rm', cut],
      ['start', 'nulled'],
      ['inspect', garbled.slice(0, 12)],
    ]) {
      const r = t.box(args);
      expect(r.status, args.join(' ')).toBe(125);
      expect(r.stderr, args.join(' ')).toMatch(
        /^box: the record of container [0-9a-f]{12} is damaged \(.*\): remove the container with box rm -f [0-9a-f]{64}\n$/,
      );
    }
    // by name (the name link still leads to the directory), by id and by id prefix
    const rm = t.box(['rm', '-f', 'nulled', cut, garbled.slice(0, 12)]);
    expect(rm.stderr).toBe('');
    expect(rm.status).toBe(0);
    expect(psAll(t).map((r) => r.ID)).toEqual([fine]);
    for (const name of ['nulled', 'cut', 'garbled']) expect(fs.existsSync(nameLink(t, name))).toBe(false);
    const again = created(t, 'cut');
    expect(t.box(['rm', 'fine', again]).status).toBe(0);
    expectNothingUnlisted(t);
  });

  it('a record whose id names another directory never makes rm delete that directory', () => {
    const victim = fs.mkdtempSync(path.join(t.dir, 'victim-'));
    fs.writeFileSync(path.join(victim, 'precious'), 'keep me');
    const id = created(t, 'forged');
    const record = JSON.parse(fs.readFileSync(recordFile(t, id), 'utf8'));
    fs.writeFileSync(recordFile(t, id), JSON.stringify({ ...record, id: path.relative(containersDir(t), victim) }));
    expect(psAll(t).find((r) => r.ID === id)).toMatchObject({
      State: 'damaged',
      Status: expect.stringContaining('id: not a container id'),
    });
    expect(t.box(['rm', '-f', 'forged']).status).toBe(0);
    expect(fs.readFileSync(path.join(victim, 'precious'), 'utf8')).toBe('keep me');
    expect(fs.existsSync(path.join(containersDir(t), id))).toBe(false);
    // nor a name that leads out of the store
    fs.symlinkSync(path.relative(path.join(t.root, 'names'), victim), nameLink(t, 'escape'));
    expect(t.box(['rm', '-f', 'escape']).stderr).toBe('box: no such container: escape\n');
    expect(fs.existsSync(path.join(victim, 'precious'))).toBe(true);
    // the link itself is swept as a name box never made; what it pointed at stays
    expect(fs.lstatSync(nameLink(t, 'escape'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('rm -f of a running container whose record was garbled kills it and releases its cgroups', () => {
    const before = snapshot(t);
    const id = runDetached(t, '--name', 'garbled-running', 'busybox', 'sleep', '1000');
    const pid = inspectOne<{ State: { Pid: number } }>(t, id).State.Pid;
    const monitor = parentOf(pid);
    expect(cgroupDirsOf(id)).not.toEqual([]);
    fs.writeFileSync(recordFile(t, id), '{"version": 1, "id": nul');
    expect(psAll(t).find((r) => r.ID === id)).toMatchObject({ State: 'damaged' });
    const rm = t.box(['rm', '-f', id]);
    expect(rm.stderr).toBe('');
    expect(rm.status).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
    until(
      'the monitor ends',
      () => alive(monitor),
      (a) => !a,
    );
    expect(leftovers(t, before)).toEqual([]);
    expectNothingUnlisted(t);
  });
});

describe('a removal killed half-way', () => {
  const t = busyboxRoot();

  /** A created container that was worked on: its record, name and (an older box's) lock file. */
  const prepared = (name: string): string => {
    const id = created(t, name);
    fs.mkdirSync(path.dirname(lockFile(t, id)), { recursive: true });
    fs.closeSync(fs.openSync(lockFile(t, id), 'a'));
    return id;
  };
  const setStatus = (id: string, status: string) => {
    const record = JSON.parse(fs.readFileSync(recordFile(t, id), 'utf8'));
    fs.writeFileSync(recordFile(t, id), JSON.stringify({ ...record, state: { ...record.state, status } }));
  };
  const removeAndReuse = (id: string, name: string) => {
    const rm = t.box(['rm', '-f', id]);
    expect(rm.stderr).toBe('');
    expect(rm.status).toBe(0);
    expectNothingUnlisted(t);
    const again = created(t, name);
    expect(t.box(['rm', again]).status).toBe(0);
  };

  it('each state it can leave is listed (removing or damaged) or gone, rm -f ends it, and the name is free again', () => {
    // killed once the record was marked
    const marked = prepared('marked');
    setStatus(marked, 'removing');
    expect(psAll(t).find((r) => r.ID === marked)).toMatchObject({
      Names: 'marked',
      State: 'removing',
      Status: 'Removal In Progress',
    });
    expect(t.box(['start', 'marked']).stderr).toBe(
      'box: container marked is being removed: finish it with box rm -f marked\n',
    );
    removeAndReuse(marked, 'marked');

    // killed once the name was released
    const unnamed = prepared('unnamed');
    setStatus(unnamed, 'removing');
    fs.rmSync(nameLink(t, 'unnamed'));
    expect(psAll(t).find((r) => r.ID === unnamed)).toMatchObject({ State: 'removing' });
    removeAndReuse(unnamed, 'unnamed');

    // killed once the directory was renamed to trash: gone, and the next command deletes the rest
    const trashed = prepared('trashed');
    fs.rmSync(nameLink(t, 'trashed'));
    fs.renameSync(path.join(containersDir(t), trashed), path.join(containersDir(t), `.trash-${trashed}`));
    expect(psAll(t).map((r) => r.ID)).not.toContain(trashed);
    expect(fs.existsSync(path.join(containersDir(t), `.trash-${trashed}`))).toBe(false);
    expect(fs.existsSync(lockFile(t, trashed))).toBe(false);
    expectNothingUnlisted(t);

    // what a killed rm of an older box left: the directory without its record, the name, the lock
    const old = prepared('old');
    fs.rmSync(recordFile(t, old));
    expect(psAll(t).find((r) => r.ID === old)).toMatchObject({
      State: 'damaged',
      Status: 'Damaged: container.json is missing',
    });
    removeAndReuse(old, 'old');

    // a creation killed after it reserved the name, before its record was in place (an older box's)
    const dead = 'f'.repeat(64);
    fs.mkdirSync(path.join(containersDir(t), `.new-${dead}`));
    fs.writeFileSync(lockFile(t, dead), '');
    fs.symlinkSync(dead, nameLink(t, 'unborn'));
    const reused = created(t, 'unborn');
    expect(fs.readlinkSync(nameLink(t, 'unborn'))).toBe(reused);
    expect(t.box(['rm', 'unborn']).status).toBe(0);
    expectNothingUnlisted(t);

    // the same, and nobody asks for the name again: the next ps releases it (and this box's own,
    // whose staging directory was its lock)
    const stillborn = 'e'.repeat(64);
    fs.mkdirSync(path.join(containersDir(t), `.new-${stillborn}`));
    fs.writeFileSync(lockFile(t, stillborn), '');
    fs.symlinkSync(stillborn, nameLink(t, 'stillborn'));
    const unlocked = 'd'.repeat(64);
    fs.mkdirSync(path.join(containersDir(t), `.new-${unlocked}`));
    fs.symlinkSync(unlocked, nameLink(t, 'unlocked'));
    expectNothingUnlisted(t);
    expect(fs.existsSync(nameLink(t, 'stillborn'))).toBe(false);
    expect(fs.existsSync(nameLink(t, 'unlocked'))).toBe(false);
  });

  it('SIGKILL of rm -f at delays spread over its run: listed or gone, rm -f ends it, the name is free again', async () => {
    const before = snapshot(t);
    // thousands of files in its writable layer: deleting them takes a while, and kills land in it
    const busy = (name: string) => {
      const id = runDetached(
        t,
        '--name',
        name,
        'busybox',
        'sh',
        '-c',
        'mkdir /many && cd /many && seq 2000 | xargs touch && echo ready && sleep 1000',
      );
      until(
        'the files are written',
        () => t.box(['logs', id]).stdout,
        (o) => o.includes('ready'),
      );
      return id;
    };
    const timed = busy('timed');
    const started = Date.now();
    expect(t.box(['rm', '-f', timed]).status).toBe(0);
    const duration = Date.now() - started;
    const rounds = 8;
    const outcomes: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const name = `killed-${i}`;
      const id = busy(name);
      const rm = t.start(['rm', '-f', id]);
      const done = exitOf(rm);
      // the fault injected: a kill at a chosen point of the rm, not a wait for anything
      await new Promise((r) => setTimeout(r, Math.round((duration * i) / (rounds - 1))));
      rm.kill('SIGKILL');
      const { signal } = await done;
      const row = psAll(t).find((r) => r.ID === id);
      outcomes.push(signal === 'SIGKILL' ? `killed, ${row ? row.State : 'gone'}` : 'finished');
      expectNothingUnlisted(t);
      if (row) expect(t.box(['rm', '-f', id]).status).toBe(0);
      expect(cgroupDirsOf(id)).toEqual([]);
      const again = created(t, name);
      expect(t.box(['rm', again]).status).toBe(0);
    }
    // not vacuous: kills landed (how many depends on the load; the delays follow one measured rm)
    expect(outcomes.filter((o) => o.startsWith('killed')).length, outcomes.join('; ')).toBeGreaterThanOrEqual(3);
    until(
      'the monitors end',
      () => leftovers(t, before),
      (l) => l.length === 0,
    );
    expectNothingUnlisted(t);
  }, 180_000);
});

describe('a creation killed half-way', () => {
  const t = busyboxRoot();

  it('SIGKILL of create --name at spread delays: listed or gone, and the name can be had again', async () => {
    const started = Date.now();
    expect(t.box(['rm', created(t, 'timed')]).status).toBe(0);
    const duration = Date.now() - started;
    const rounds = 8;
    for (let i = 0; i < rounds; i++) {
      const name = `born-${i}`;
      const create = t.start(['create', '--name', name, 'busybox', 'true']);
      const done = exitOf(create);
      // the fault injected: a kill at a chosen point of the create, not a wait for anything
      await new Promise((r) => setTimeout(r, Math.round((duration * i) / (rounds - 1))));
      create.kill('SIGKILL');
      await done;
      expectNothingUnlisted(t);
      const row = psAll(t).find((r) => r.Names === name);
      if (row) expect(t.box(['rm', '-f', row.ID]).status).toBe(0);
      expect(t.box(['rm', created(t, name)]).status).toBe(0);
    }
    expectNothingUnlisted(t);
    expect(fs.readdirSync(path.join(t.root, 'names'))).toEqual([]);
  }, 120_000);
});

describe("the monitor's exit callback after rm -f", () => {
  const t = busyboxRoot();

  it('makes no lock file for the removed container', () => {
    const id = runDetached(t, 'busybox', 'sleep', '1000');
    const monitor = parentOf(inspectOne<{ State: { Pid: number } }>(t, id).State.Pid);
    expect(t.box(['rm', '-f', id]).status).toBe(0);
    until(
      'the monitor ends (its callback has run)',
      () => alive(monitor),
      (a) => !a,
    );
    expect(fs.existsSync(lockFile(t, id))).toBe(false);
    // the callback again, as a monitor slower than rm would call it
    const late = t.box(['internal', 'exited', id]);
    expect(late.stdout).toBe('done\n');
    expect(fs.existsSync(lockFile(t, id))).toBe(false);
    expect(lockFiles(t)).toEqual([]);
  });
});

describe("a root an older box made (a lock file per container, the monitor's state in the runtime dir)", () => {
  const t = busyboxRoot();

  it('is read and cleaned: its containers run, stop and go with their lock files, its leftovers are swept', () => {
    const before = snapshot(t);
    const running = runDetached(t, '--name', 'old-running', 'busybox', 'sleep', '1000');
    const stopped = created(t, 'old-stopped');
    // what the older box had made besides: its monitor's state file in the runtime directory, a lock
    // file for each container, and a killed creation's and removal's leftovers with theirs
    const runDir = path.join(t.root, 'run', 'containers', running);
    fs.mkdirSync(runDir);
    fs.renameSync(`${runDir}.state`, path.join(runDir, 'state'));
    const deadCreation = 'c'.repeat(64);
    const deadRemoval = 'b'.repeat(64);
    fs.mkdirSync(path.join(containersDir(t), `.new-${deadCreation}`));
    fs.symlinkSync(deadCreation, nameLink(t, 'old-unborn'));
    fs.mkdirSync(path.join(containersDir(t), `.trash-${deadRemoval}`, 'upper'), { recursive: true });
    fs.mkdirSync(path.dirname(lockFile(t, running)), { recursive: true });
    for (const id of [running, stopped, deadCreation, deadRemoval]) fs.writeFileSync(lockFile(t, id), '');
    expect(
      psAll(t)
        .map((r) => `${r.Names} ${r.State}`)
        .sort(),
    ).toEqual(['old-running running', 'old-stopped created']);
    expect(lockFiles(t).sort()).toEqual([`${running}.lock`, `${stopped}.lock`].sort()); // the dead ones' swept
    // its state is read where the older monitor keeps it: a system check finds nothing wrong
    const check = t.box(['system', 'check']);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(inspectOne<{ State: { Running: boolean } }>(t, 'old-running').State.Running).toBe(true);
    expect(t.box(['start', 'old-stopped']).status).toBe(0);
    expect(t.box(['stop', '-t', '0', 'old-stopped']).status).toBe(0);
    expect(t.box(['start', 'old-stopped']).status).toBe(0);
    expect(t.box(['rm', '-f', 'old-running', 'old-stopped']).status).toBe(0);
    expect(fs.readdirSync(path.join(t.root, 'run', 'containers'))).toEqual([]);
    expect(lockFiles(t)).toEqual([]);
    expect(fs.readdirSync(containersDir(t))).toEqual([]);
    expect(fs.readdirSync(path.join(t.root, 'names'))).toEqual([]);
    expect(leftovers(t, before)).toEqual([]);
  });
});
