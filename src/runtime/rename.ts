// `box rename`: moves a container's entry in the name registry (names/<name> -> <id> symlinks).
// The new name is claimed with one symlink(2), which fails if the name exists, so two concurrent
// commands can never both get it; the record is then saved and the old name released. Under the
// container's lock, so a rename never races another state change of the same container.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { layout, Roots } from '../paths';
import { checkName, ContainerStore } from './containers';
import { appendEvent } from './events';
import { lockContainer } from './lifecycle';
import { ContainerRecord } from '../model';

function owner(roots: Roots, name: string): string | undefined {
  try {
    return fs.readlinkSync(path.join(layout.names(roots), name));
  } catch {
    return undefined;
  }
}

/** Atomically claims `name` for `id`; throws Docker's conflict error if the name is taken. */
export function claimName(roots: Roots, name: string, id: string): void {
  fs.mkdirSync(layout.names(roots), { recursive: true, mode: 0o700 });
  try {
    fs.symlinkSync(id, path.join(layout.names(roots), name));
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    const by = owner(roots, name) ?? 'another container';
    throw new BoxError(`the container name "/${name}" is already in use by container "${by.slice(0, 12)}": remove it or choose another name`);
  }
}

export async function renameContainer(roots: Roots, store: ContainerStore, record: ContainerRecord, newName: string): Promise<ContainerRecord> {
  const wanted = newName.replace(/^\//, '');
  try {
    checkName(wanted);
  } catch (err) {
    throw new BoxError((err as Error).message);
  }
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) throw new BoxError(`no such container: ${record.name}`);
    if (cur.name === wanted) throw new BoxError(`renaming a container to the name it already has (${wanted}) changes nothing`);
    const oldName = cur.name;
    claimName(roots, wanted, cur.id);
    try {
      store.save({ ...cur, name: wanted });
    } catch (err) {
      fs.rmSync(path.join(layout.names(roots), wanted), { force: true });
      throw err;
    }
    if (owner(roots, oldName) === cur.id) fs.rmSync(path.join(layout.names(roots), oldName), { force: true });
    const renamed = { ...cur, name: wanted };
    appendEvent(roots, 'rename', renamed, { oldName: `/${oldName}` });
    return renamed;
  } finally {
    lock.release();
  }
}
