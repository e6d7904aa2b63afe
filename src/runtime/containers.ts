// Container records on disk: containers/<id>/container.json plus the container's own files
// (writable layer, hostname/hosts/resolv.conf). Names are reserved with an atomic symlink
// names/<name> -> <id>, so two concurrent commands can never both get the same name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { layout, Roots } from '../paths';
import { mkdirp, readJson, readJsonIfExists, writeJsonAtomic } from '../util/fs';
import { ContainerConfig, ContainerRecord, ContainerState } from '../model';
import { generateName, NAME_RE } from './names';
import { randomHex } from '../util/random';

export function newContainerId(): string {
  return randomHex(32);
}

export function checkName(name: string | undefined): void {
  if (name !== undefined && !NAME_RE.test(name)) {
    throw new BoxError(`invalid container name "${name}": use letters, digits, '_', '.' and '-', starting with a letter or digit`);
  }
}

export class ContainerStore {
  constructor(readonly roots: Roots) {}

  dir(id: string): string {
    return path.join(layout.containers(this.roots), id);
  }

  file(id: string, name: string): string {
    return path.join(this.dir(id), name);
  }

  /**
   * Reserves the name and writes the record; throws before creating anything if the name is taken.
   * A name box generated (`generated`) is taken again only in the unlikely case another container
   * got it meanwhile: then another one is generated.
   */
  create(id: string, config: ContainerConfig, requestedName: string | undefined, autoRemove: boolean, generated = false, admittedBy?: ContainerRecord['admittedBy']): ContainerRecord {
    checkName(requestedName);
    const name = this.reserveName(requestedName, id, generated);
    const record: ContainerRecord = { version: 1, id, name, created: new Date().toISOString(), autoRemove, config, state: { status: 'created' } };
    if (admittedBy) record.admittedBy = admittedBy;
    try {
      mkdirp(layout.containers(this.roots), 0o700);
      fs.mkdirSync(this.dir(id), { mode: 0o700 });
      writeJsonAtomic(this.file(id, 'container.json'), record, 0o600, false);
    } catch (err) {
      this.remove(record);
      throw err;
    }
    return record;
  }

  private reserveName(requested: string | undefined, id: string, generated: boolean): string {
    mkdirp(layout.names(this.roots), 0o700);
    for (let attempt = 0; ; attempt++) {
      const name = (attempt === 0 ? requested : undefined) ?? generateName();
      try {
        fs.symlinkSync(id, path.join(layout.names(this.roots), name));
        return name;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        if (requested !== undefined && !generated) {
          const owner = this.idForName(name) ?? 'another container';
          throw new BoxError(`the container name "${name}" is already in use by container "${owner.slice(0, 12)}": remove it or choose another name`);
        }
        if (attempt > 50) throw new BoxError('could not generate a free container name');
      }
    }
  }

  private idForName(name: string): string | undefined {
    try {
      return fs.readlinkSync(path.join(layout.names(this.roots), name));
    } catch {
      return undefined;
    }
  }

  save(record: ContainerRecord): void {
    writeJsonAtomic(this.file(record.id, 'container.json'), record, 0o600, false);
  }

  /**
   * Merges a state change into the record on disk (not into a possibly stale copy: a concurrent
   * rename or update must survive) and updates the caller's copy to match.
   */
  setState(record: ContainerRecord, state: Partial<ContainerState>): void {
    const current = this.get(record.id) ?? record;
    current.state = { ...current.state, ...state };
    this.save(current);
    Object.assign(record, current);
  }

  get(id: string): ContainerRecord | undefined {
    return readJsonIfExists<ContainerRecord>(this.file(id, 'container.json'));
  }

  /** Full id, unique id prefix or name. */
  find(query: string): ContainerRecord | undefined {
    const byName = this.idForName(query.replace(/^\//, ''));
    if (byName) return this.get(byName);
    if (!/^[0-9a-f]{1,64}$/.test(query)) return undefined;
    const ids = this.ids().filter((id) => id.startsWith(query));
    if (ids.length > 1) throw new BoxError(`container id prefix "${query}" is ambiguous: give more digits or the name`);
    return ids.length ? this.get(ids[0]) : undefined;
  }

  ids(): string[] {
    try {
      return fs.readdirSync(layout.containers(this.roots)).filter((d) => /^[0-9a-f]{64}$/.test(d));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  list(): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const id of this.ids()) {
      try {
        out.push(readJson<ContainerRecord>(this.file(id, 'container.json')));
      } catch {
        /* removed concurrently or half-created: skip */
      }
    }
    return out.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  /** Deletes the record, its files and its name. */
  remove(record: Pick<ContainerRecord, 'id' | 'name'>): void {
    fs.rmSync(this.dir(record.id), { recursive: true, force: true });
    if (this.idForName(record.name) === record.id) fs.rmSync(path.join(layout.names(this.roots), record.name), { force: true });
  }
}
