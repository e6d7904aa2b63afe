// `box volume inspect VOLUME...`: Docker's JSON.
import { VolumeRecord, VolumeStore } from '../../volume/store';
import { CommandSpec } from '../args';
import { roots } from '../context';

/** A volume as Docker's API shows it. */
export function volumeJson(store: VolumeStore, v: VolumeRecord): Record<string, unknown> {
  const empty = (o: Record<string, string>) => (Object.keys(o).length ? o : null);
  return {
    CreatedAt: v.createdAt.replace(/\.\d+Z$/, 'Z'),
    Driver: v.driver,
    Labels: empty(v.labels),
    Mountpoint: store.dataDir(v.name),
    Name: v.name,
    Options: empty(v.options),
    Scope: 'local',
  };
}

export const volumeInspectCommand: CommandSpec = {
  paths: [['volume', 'inspect']],
  summary: 'Show volumes as JSON.',
  flags: [],
  positionals: [{ name: 'VOLUME', rest: true }],
  async run(a) {
    const store = new VolumeStore(roots());
    const out: unknown[] = [];
    let code = 0;
    for (const name of a.positionals) {
      const v = store.get(name);
      if (v) out.push(volumeJson(store, v));
      else {
        process.stderr.write(`box: no such volume: ${name}\n`);
        code = 1;
      }
    }
    process.stdout.write(JSON.stringify(out, null, 4) + '\n');
    return code;
  },
};
