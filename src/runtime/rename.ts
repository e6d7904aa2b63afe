// `box rename`: moves a container's entry in the name registry (names/<name> -> <id> symlinks).
// The new name is claimed with one symlink(2), which fails if the name exists, so two concurrent
// commands can never both get it; the record is then saved and the old name released. Under the
// container's lock, so a rename never races another state change of the same container.
import { BoxError } from '../errors';
import { Roots } from '../paths';
import { checkName, ContainerStore } from './containers';
import { appendEvent } from './events';
import { lockContainer } from './lifecycle';
import { ContainerRecord } from '../model';
import { claimName, idForName, nameInUseError, releaseName } from './names';

export async function renameContainer(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  newName: string,
): Promise<ContainerRecord> {
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
    if (cur.name === wanted)
      throw new BoxError(`renaming a container to the name it already has (${wanted}) changes nothing`);
    const oldName = cur.name;
    if (!(await claimName(roots, wanted, cur.id))) throw nameInUseError(wanted, idForName(roots, wanted));
    try {
      store.save({ ...cur, name: wanted });
    } catch (err) {
      releaseName(roots, wanted, cur.id);
      throw err;
    }
    releaseName(roots, oldName, cur.id);
    const renamed = { ...cur, name: wanted };
    appendEvent(roots, 'rename', renamed, { oldName: `/${oldName}` });
    return renamed;
  } finally {
    lock.release();
  }
}
