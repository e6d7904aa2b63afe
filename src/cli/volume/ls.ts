// `box volume ls [-q] [--filter dangling=|name=|label=|driver=] [--format json]`
import { BoxError } from '../../errors';
import { labelMatches } from '../../volume/manage';
import { reconcileIfIdle, VolumeRecord, VolumeStore } from '../../volume/store';
import { bool, CommandSpec, list, str } from '../args';
import { roots } from '../context';
import { table } from '../format';

type Filter = (v: VolumeRecord, store: VolumeStore) => boolean;

/** Docker's volume filters; the same key given twice matches either value. */
export function volumeFilters(items: string[]): Filter[] {
  const byKey = new Map<string, Filter[]>();
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : item;
    const value = eq > 0 ? item.slice(eq + 1) : '';
    let f: Filter;
    if (key === 'dangling') {
      if (!['true', 'false', '1', '0'].includes(value))
        throw new BoxError(`invalid filter 'dangling=${value}': use dangling=true or dangling=false`);
      const want = value === 'true' || value === '1';
      f = (v, s) => (s.users(v.name).length === 0) === want;
    } else if (key === 'name') f = (v) => v.name.includes(value);
    else if (key === 'driver') f = (v) => v.driver === value;
    else if (key === 'label') {
      const i = value.indexOf('=');
      f = (v) => labelMatches(v, i < 0 ? value : value.slice(0, i), i < 0 ? undefined : value.slice(i + 1));
    } else throw new BoxError(`invalid filter '${key}': use dangling=, name=, label= or driver=`);
    byKey.set(key, [...(byKey.get(key) ?? []), f]);
  }
  return [...byKey.values()].map((fs) => (v, s) => fs.some((f) => f(v, s)));
}

export const volumeLsCommand: CommandSpec = {
  paths: [
    ['volume', 'ls'],
    ['volume', 'list'],
  ],
  summary: 'List volumes.',
  flags: [
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only show volume names' },
    {
      names: ['--filter', '-f'],
      key: 'filter',
      kind: 'list',
      value: 'KEY=VALUE',
      description: 'dangling=true|false, name=PART, label=KEY[=VALUE], driver=local',
    },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'json',
      description: 'json: one JSON object per line',
    },
  ],
  positionals: [],
  async run(a) {
    const filters = volumeFilters(list(a, 'filter'));
    const format = str(a, 'format');
    if (format !== undefined && format !== 'json') throw new BoxError(`unsupported --format "${format}": use json`);
    reconcileIfIdle(roots()); // a use left by a killed creation does not keep a volume from being dangling
    const store = new VolumeStore(roots());
    const volumes = store.list().filter((v) => filters.every((f) => f(v, store)));
    if (bool(a, 'quiet')) process.stdout.write(volumes.map((v) => v.name + '\n').join(''));
    else if (format === 'json') {
      const line = (v: VolumeRecord) =>
        JSON.stringify({ Driver: v.driver, Labels: labelText(v), Mountpoint: store.dataDir(v.name), Name: v.name });
      process.stdout.write(volumes.map((v) => line(v) + '\n').join(''));
    } else {
      process.stdout.write(
        table(
          ['DRIVER', 'VOLUME NAME'],
          volumes.map((v) => [v.driver, v.name]),
        ),
      );
    }
    return 0;
  },
};

function labelText(v: VolumeRecord): string {
  return Object.entries(v.labels)
    .map(([k, val]) => `${k}=${val}`)
    .join(',');
}
