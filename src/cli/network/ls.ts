// `box network ls`: Docker's table (NETWORK ID, NAME, DRIVER, SCOPE), -q, --no-trunc and --filter.
import { BoxError } from '../../errors';
import { NetworkRecord } from '../../network/store';
import { containersNaming, isPredefined } from '../../network/manage';
import { bool, CommandSpec, list } from '../args';
import { table } from '../format';
import { stores } from './common';

const FILTER_KEYS = ['name', 'id', 'label', 'driver', 'type', 'scope', 'dangling'];

/**
 * Docker's filters: name (substring), id (prefix), label (KEY or KEY=VALUE), driver, type (custom,
 * builtin), scope (local: every box network), dangling (true: a user network no container names,
 * as Docker's, which never counts the predefined ones). `used`: whether a container names it.
 */
export function matchesFilters(n: NetworkRecord, filters: string[], used: (n: NetworkRecord) => boolean = () => false) {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = i < 0 ? f : f.slice(0, i);
    if (!FILTER_KEYS.includes(key) || i < 0) {
      throw new BoxError(`invalid filter "${f}": use name=, id=, label=, driver=, type=, scope= or dangling=`);
    }
    const value = f.slice(i + 1);
    if (key === 'dangling' && !['true', 'false', '1', '0'].includes(value)) {
      throw new BoxError(`invalid filter "${f}": use dangling=true or dangling=false`);
    }
    byKey.set(key, [...(byKey.get(key) ?? []), value]);
  }
  const test: Record<string, (v: string) => boolean> = {
    name: (v) => n.Name.includes(v),
    id: (v) => n.Id.startsWith(v),
    driver: (v) => n.Driver === v,
    type: (v) => (v === 'builtin' ? isPredefined(n) : v === 'custom' ? !isPredefined(n) : false),
    scope: (v) => n.Scope === v,
    dangling: (v) => (!isPredefined(n) && !used(n)) === (v === 'true' || v === '1'),
    label: (v) => {
      const j = v.indexOf('=');
      return j < 0 ? v in n.Labels : n.Labels[v.slice(0, j)] === v.slice(j + 1);
    },
  };
  // as Docker: values of one key are alternatives, different keys must all hold (labels: all of them)
  return [...byKey].every(([k, vs]) => (k === 'label' ? vs.every(test[k]) : vs.some(test[k])));
}

/** Docker's order for `network ls`: by name, runs of digits compared as numbers (net2 before net10). */
export function naturalLess(a: string, b: string): number {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const [x, y] = [chunks(a), chunks(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const numeric = /^\d/.test(x[i]) && /^\d/.test(y[i]);
    if (numeric && Number(x[i]) !== Number(y[i])) return Number(x[i]) - Number(y[i]);
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

export const networkLsCommand: CommandSpec = {
  paths: [
    ['network', 'ls'],
    ['network', 'list'],
  ],
  summary: 'List networks.',
  flags: [
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only network ids' },
    { names: ['--no-trunc'], key: 'noTrunc', kind: 'bool', description: 'full network ids' },
    {
      names: ['--filter', '-f'],
      key: 'filter',
      kind: 'list',
      value: 'KEY=VALUE',
      description: 'name=, id=, label=KEY[=VALUE], driver=, type=custom|builtin, scope=local, dangling=true|false',
    },
  ],
  positionals: [],
  async run(a) {
    const { networks, containers } = stores();
    const used = (n: NetworkRecord) => containersNaming(containers, n).length > 0;
    const shown = (await networks.list())
      .filter((n) => matchesFilters(n, list(a, 'filter'), used))
      .sort((x, y) => naturalLess(x.Name, y.Name));
    const id = (n: NetworkRecord) => (bool(a, 'noTrunc') ? n.Id : n.Id.slice(0, 12));
    if (bool(a, 'quiet')) {
      process.stdout.write(shown.map((n) => id(n) + '\n').join(''));
      return 0;
    }
    const rows = shown.map((n) => [id(n), n.Name, n.Driver, n.Scope]);
    process.stdout.write(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], rows));
    return 0;
  },
};
