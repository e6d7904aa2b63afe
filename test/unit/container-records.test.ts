// Container records read back from disk are checked, and the store's files (records, names, lock
// files) come and go in an order where a box killed at any point leaves nothing unlisted: what
// such a kill leaves is made here directly on disk, and the store must list it or clean it up.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIRECTORY_LOCK, Lock, lockDeletableFile, tryLockFile } from '../../src/image/locks';
import { layout, lockPaths, Roots } from '../../src/paths';
import { lockContainer, lockNewContainer, tryLockContainer } from '../../src/runtime/container-lock';
import { ContainerStore, DamagedRecordError, isDamaged } from '../../src/runtime/containers';
import { parseRecord } from '../../src/runtime/record-check';
import { plainContainerConfig } from '../support/container-config';

const ID = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

function record(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    id: ID,
    name: 'web',
    created: '2026-12-04T00:00:00.000Z',
    autoRemove: false,
    config: plainContainerConfig(),
    state: { status: 'exited', exitCode: 0 },
    ...over,
  };
}

const MOUNT = { type: 'volume', source: 'data', target: '/data', readOnly: false, origin: 'v' };

const problemOf = (value: unknown) => parseRecord(ID, JSON.stringify(value));

describe('a record read back', () => {
  it('is accepted as box writes it', () => {
    expect(typeof problemOf(record())).toBe('object');
    // Docker's null for an empty field of the image's own configuration is not damage
    const config = {
      ...plainContainerConfig(),
      image: { ...plainContainerConfig().image, config: { Env: null, Cmd: null, Labels: null } },
    };
    expect(typeof problemOf(record({ config }))).toBe('object');
    expect(typeof problemOf(record({ config: { ...plainContainerConfig(), mounts: [MOUNT] } }))).toBe('object');
  });

  it.each([
    ['null as the configuration', record({ config: null }), 'config: expected an object, found null'],
    ['null as the state', record({ state: null }), 'state: expected an object, found null'],
    [
      'null in a list',
      record({ config: { ...plainContainerConfig(), args: null } }),
      'config.args: expected a list, found null',
    ],
    ['an unknown status', record({ state: { status: 'zombie' } }), 'state.status: expected one of'],
    ['an id naming another directory', record({ id: '../../../../some/dir' }), 'id: not a container id'],
    ['the id of another container', record({ id: OTHER }), 'is not the id of its directory'],
    ['a name with a slash', record({ name: '../names/x' }), 'name: not a container name'],
    [
      'a layer that is not a digest',
      record({ config: { ...plainContainerConfig(), layers: ['../../../etc'] } }),
      'config.layers[0]: not a sha256 digest',
    ],
    [
      'a network id that could name a path',
      record({
        config: { ...plainContainerConfig(), networks: [{ networkId: '../../x', name: 'app', aliases: [] }] },
      }),
      'config.networks[0].networkId: not a network id',
    ],
    [
      'a published port that is not a number',
      record({
        config: {
          ...plainContainerConfig(),
          ports: [{ hostIp: '0.0.0.0', hostPort: '80', containerPort: 80, protocol: 'tcp' }],
        },
      }),
      'config.ports[0].hostPort: expected a number',
    ],
    ['an array', [record()], 'not a JSON object'],
    [
      'a mount whose target is relative',
      record({ config: { ...plainContainerConfig(), mounts: [{ ...MOUNT, target: '../../etc' }] } }),
      'config.mounts[0].target: not an absolute path',
    ],
    [
      'a mount of an unknown type',
      record({ config: { ...plainContainerConfig(), mounts: [{ ...MOUNT, type: 'overlay' }] } }),
      'config.mounts[0].type: expected one of',
    ],
  ])('is damaged with %s', (_what, value, problem) => {
    expect(problemOf(value)).toContain(problem);
  });

  it('is damaged when truncated, garbled or empty', () => {
    expect(parseRecord(ID, JSON.stringify(record()).slice(0, 100))).toMatch(/not valid JSON/);
    expect(parseRecord(ID, '\u0000\u0001garbage')).toMatch(/not valid JSON/);
    expect(parseRecord(ID, '')).toMatch(/empty/);
  });
});

describe('the container store', () => {
  let dir: string;
  let roots: Roots;
  let store: ContainerStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-records-'));
    roots = { root: path.join(dir, 'root'), runroot: path.join(dir, 'run') };
    store = new ContainerStore(roots);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const writeRaw = (id: string, text: string | undefined) => {
    fs.mkdirSync(path.join(roots.root, 'containers', id), { recursive: true });
    if (text !== undefined) fs.writeFileSync(path.join(roots.root, 'containers', id, 'container.json'), text);
  };
  /** an older box's lock file, or that of an entry that is no directory */
  const lockFileOf = (id: string) => lockPaths.containerFile(roots, id);
  const containersDir = () => path.join(roots.root, 'containers');
  /** whether a command holds container id's lock (wherever it is in its life); released at once if not */
  const isLocked = (id: string) => {
    const lock = tryLockContainer(roots, id);
    if (typeof lock !== 'string') lock.release();
    return lock === 'busy';
  };

  it('lists damaged records apart, refuses to use them, and finds them by directory id for rm', async () => {
    const good = await store.create(OTHER, plainContainerConfig(), 'good', false);
    writeRaw(ID, JSON.stringify(record({ config: null })));
    const { records, damaged } = store.scan();
    expect(records.map((r) => r.id)).toEqual([good.id]);
    expect(damaged).toEqual([
      { id: ID, dir: path.join(roots.root, 'containers', ID), problem: 'config: expected an object, found null' },
    ]);
    expect(() => store.get(ID)).toThrow(DamagedRecordError);
    expect(() => store.find('aaaa')).toThrow(`remove the container with box rm -f ${ID}`);
    expect(isDamaged(store.lookup('aaaa')!)).toBe(true);
  });

  it('a directory without its record (left by an older box) is damaged, not hidden', () => {
    writeRaw(ID, undefined);
    expect(store.scan().damaged).toMatchObject([{ id: ID, problem: 'container.json is missing' }]);
  });

  it('builds no path from anything but a checked id', () => {
    fs.mkdirSync(path.join(roots.root, 'containers', 'not-an-id'), { recursive: true });
    expect(store.ids()).toEqual([]);
    expect(() => store.dir('../../../../some/dir')).toThrow(/invalid container id/);
    expect(() => lockPaths.containerFile(roots, '../x')).toThrow(/invalid container id/);
    // a name that links somewhere else than to an id, and a name that is a path, find nothing
    fs.mkdirSync(layout.names(roots), { recursive: true });
    fs.symlinkSync('../../../../etc', path.join(layout.names(roots), 'evil'));
    expect(store.lookup('evil')).toBeUndefined();
    expect(store.lookup('../containers/x')).toBeUndefined();
  });

  it('removal of a damaged record takes every name linked to it; its directory was its lock', async () => {
    writeRaw(ID, '{"truncated": ');
    fs.mkdirSync(layout.names(roots), { recursive: true });
    fs.symlinkSync(ID, path.join(layout.names(roots), 'one'));
    fs.symlinkSync(ID, path.join(layout.names(roots), 'two'));
    const other = await store.create(OTHER, plainContainerConfig(), 'kept', false);
    const lock = await lockContainer(roots, ID);
    expect(isLocked(ID)).toBe(true);
    expect(fs.existsSync(lockFileOf(ID))).toBe(false); // no lock file: the directory is locked
    store.remove({ id: ID });
    lock.release();
    expect(fs.readdirSync(containersDir())).toEqual([other.id]);
    expect(fs.readdirSync(layout.names(roots))).toEqual(['kept']);
    expect(fs.existsSync(lockFileOf(ID))).toBe(false);
  });

  it('an entry that is no directory (a link, a file) is locked through a file, which goes with it', async () => {
    fs.mkdirSync(containersDir(), { recursive: true });
    fs.symlinkSync(dir, path.join(containersDir(), ID));
    fs.writeFileSync(path.join(containersDir(), OTHER), '');
    for (const id of [ID, OTHER]) {
      const lock = await lockContainer(roots, id);
      expect(isLocked(id)).toBe(true);
      expect(fs.existsSync(lockFileOf(id))).toBe(true);
      store.remove({ id });
      lock.release();
      expect(fs.existsSync(lockFileOf(id))).toBe(false);
    }
    expect(fs.readdirSync(containersDir())).toEqual([]);
    expect(fs.existsSync(dir)).toBe(true); // the link alone went
  });

  it('a name left by a creation that was killed is taken back; one of a live creation is not', async () => {
    fs.mkdirSync(layout.names(roots), { recursive: true });
    fs.symlinkSync(ID, path.join(layout.names(roots), 'web'));
    // the creation of ID is alive: it holds ID's lock
    const creation = await lockNewContainer(roots, ID);
    await expect(store.create(OTHER, plainContainerConfig(), 'web', false)).rejects.toThrow(
      `the container name "web" is already in use by container "${ID.slice(0, 12)}"`,
    );
    creation.release(); // ...and now it died, before its record existed
    expect((await store.create(OTHER, plainContainerConfig(), 'web', false)).name).toBe('web');
    expect(fs.readlinkSync(path.join(layout.names(roots), 'web'))).toBe(OTHER);
    store.sweep(); // what it left: its staging directory
    expect(fs.readdirSync(containersDir())).toEqual([OTHER]);
    // nor does an entry box never makes (a file, a link to no id) keep a name for ever
    fs.writeFileSync(path.join(layout.names(roots), 'planted'), '');
    fs.symlinkSync('../../../etc', path.join(layout.names(roots), 'linked'));
    expect((await store.create('3'.repeat(64), plainContainerConfig(), 'planted', false)).name).toBe('planted');
    expect((await store.create('4'.repeat(64), plainContainerConfig(), 'linked', false)).name).toBe('linked');
  });

  it("sweep finishes killed removals and creations, and deletes older boxes' lock files of gone ones", async () => {
    const live = await store.create(OTHER, plainContainerConfig(), 'live', false);
    (await lockContainer(roots, live.id)).release();
    const containers = containersDir();
    const ids = ['1', '2', '3', '4', '5'].map((d) => d.repeat(64));
    const holdDir = async (entry: string) => (await lockDeletableFile(entry, false, 1000, DIRECTORY_LOCK)) as Lock;
    // a removal killed after the rename to trash, and lock files an older box left: of containers
    // gone (one of them still locked by something), and of one that exists
    fs.mkdirSync(path.join(containers, `.trash-${ids[0]}`, 'upper'), { recursive: true });
    fs.mkdirSync(lockPaths.containers(roots), { recursive: true });
    for (const id of [ids[0], ids[1], live.id]) fs.writeFileSync(lockFileOf(id), '');
    const oldHolder = tryLockFile(lockFileOf(ids[1]))!;
    // a creation killed before its record was in place (mid-write: the record is written in place
    // in the staging directory), and one still running
    fs.mkdirSync(path.join(containers, `.new-${ids[2]}`));
    fs.writeFileSync(path.join(containers, `.new-${ids[2]}`, 'container.json'), '{"version": 1, "id": "');
    const alive = await lockNewContainer(roots, ids[3]);
    // a removal still deleting its trash
    fs.mkdirSync(path.join(containers, `.trash-${ids[4]}`));
    const removing = await holdDir(path.join(containers, `.trash-${ids[4]}`));
    store.sweep();
    expect(fs.readdirSync(containers).sort()).toEqual([`.new-${ids[3]}`, `.trash-${ids[4]}`, live.id]);
    expect(fs.readdirSync(path.join(containers, live.id))).toEqual(['container.json']); // no temp file left
    expect(fs.readdirSync(lockPaths.containers(roots)).sort()).toEqual([`${ids[1]}.lock`, `${live.id}.lock`]);
    oldHolder.release();
    store.sweep();
    expect(fs.readdirSync(lockPaths.containers(roots))).toEqual([`${live.id}.lock`]);
    // the live creation and removal kept their locks throughout
    expect([isLocked(ids[3]), isLocked(ids[4])]).toEqual([true, true]);
    alive.release();
    removing.release();
    // an older box's container is removed with its lock file
    store.remove(live);
    expect(fs.readdirSync(lockPaths.containers(roots))).toEqual([]);
  });

  it('the lock goes with the directory: staged, renamed into place, trashed', async () => {
    const staged = await lockNewContainer(roots, ID);
    expect(fs.readdirSync(containersDir())).toEqual([`.new-${ID}`]);
    expect(isLocked(ID)).toBe(true);
    // a sweep meanwhile leaves a live creation's staging directory alone
    store.sweep();
    expect(fs.readdirSync(containersDir())).toEqual([`.new-${ID}`]);
    staged.release();
    expect(isLocked(ID)).toBe(false);
    const { record, lock } = await store.createLocked(OTHER, plainContainerConfig(), 'web', false);
    expect(isLocked(OTHER)).toBe(true); // the staging directory's lock, now the container's
    let waited = false;
    const waiter = lockContainer(roots, OTHER).then((l) => {
      waited = true;
      return l;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(waited).toBe(false);
    lock.release();
    const second = await waiter;
    expect(isLocked(OTHER)).toBe(true);
    // a removal holds it while the directory is renamed to trash and deleted
    fs.renameSync(store.dir(OTHER), layout.containerTrash(roots, OTHER));
    expect(isLocked(OTHER)).toBe(true);
    fs.renameSync(layout.containerTrash(roots, OTHER), store.dir(OTHER));
    store.remove(record);
    second.release();
    expect(tryLockContainer(roots, OTHER)).toBe('absent');
    expect(fs.existsSync(lockPaths.containers(roots))).toBe(false); // no lock file was ever made
  });

  it("createLocked keeps the lock on; setState with current writes the caller's copy without reading", async () => {
    const { record, lock } = await store.createLocked(ID, plainContainerConfig(), 'web', false);
    expect(isLocked(ID)).toBe(true); // still held
    // what is on disk is the caller's copy as long as it holds the lock; current skips reading it
    fs.writeFileSync(store.file(ID, 'container.json'), 'not read');
    store.setState(record, { status: 'running', pid: 7 }, { current: true });
    expect(store.get(ID)?.state).toEqual({ status: 'running', pid: 7 });
    lock.release();
    expect(isLocked(ID)).toBe(false);
    // without current the record on disk is what a state change merges into
    store.save({ ...record, name: 'renamed' });
    store.setState(record, { status: 'exited', exitCode: 0 });
    expect(store.get(ID)?.name).toBe('renamed');
  });

  it('locking a container that is gone makes nothing, also when it was removed while waiting', async () => {
    (await lockContainer(roots, ID)).release();
    expect(fs.existsSync(lockFileOf(ID))).toBe(false);
    expect(fs.existsSync(containersDir())).toBe(false);
    const c = await store.create(ID, plainContainerConfig(), 'web', false);
    const remover = await lockContainer(roots, c.id);
    const waiter = lockContainer(roots, c.id);
    store.remove(c);
    remover.release();
    (await waiter).release();
    expect(fs.existsSync(lockFileOf(ID))).toBe(false);
    expect(store.get(ID)).toBeUndefined();
    expect(fs.readdirSync(containersDir())).toEqual([]);
  });

  it('a lock whose file was deleted while it was awaited is taken again on the current file', async () => {
    const file = path.join(dir, 'x.lock');
    const taken = async (p: ReturnType<typeof lockDeletableFile>) => {
      const lock = await p;
      if (typeof lock === 'string') throw new Error(`lock ${lock}`);
      return lock;
    };
    const first = await taken(lockDeletableFile(file, true));
    const second = taken(lockDeletableFile(file, true)); // opens the file now and waits for its lock
    fs.rmSync(file);
    first.release();
    const held = await second;
    expect(tryLockFile(file)).toBeUndefined(); // what the second holds is the lock of the file there now
    held.release();
  });
});
