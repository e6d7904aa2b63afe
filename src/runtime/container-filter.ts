// Docker's container filters (`ps --filter`, `container prune --filter`), as predicates over
// records. Values of one key are alternatives, different keys must all match (Docker's rule).
import { BoxError } from '../errors';
import { ContainerRecord } from '../model';
import { Roots } from '../paths';
import { parseTimeArg } from './logs';
import { DamagedContainer, isDamaged } from './containers';
import { exposedPortsOf, mountsOf, networksOf, PortFact, publishedPortsOf } from './container-facts';
import { isPaused } from './freezer';
import { healthOf, readHealth } from './health';

export type Listed = ContainerRecord | DamagedContainer;

/** What filters need from outside the record: images by name, other containers, health. */
export interface FilterContext {
  roots: Roots;
  /** the image id a name or id stands for, undefined when there is no such image */
  resolveImage(name: string): string | undefined;
  /** the container a name or id stands for (since=, before=) */
  findContainer(query: string): ContainerRecord | undefined;
}

/** Docker's State of a container: created, running, paused, restarting, removing, exited, dead. */
export function containerState(c: ContainerRecord): string {
  if (c.state.restarting) return 'restarting';
  if (c.state.status === 'running' && isPaused(c)) return 'paused';
  return c.state.status;
}

const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead', 'damaged'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

function regex(key: string, v: string): RegExp {
  try {
    return new RegExp(v);
  } catch {
    throw new BoxError(`invalid --filter ${key}=${v}: not a regular expression`);
  }
}

/** label=KEY or label=KEY=VALUE against a set of labels. */
export function labelMatch(labels: Record<string, string>, v: string): boolean {
  const eq = v.indexOf('=');
  return eq < 0 ? Object.hasOwn(labels, v) : labels[v.slice(0, eq)] === v.slice(eq + 1);
}

/** A port filter value: 80, 80/udp, 8000-8080/tcp. */
function portMatcher(key: string, v: string): (ports: PortFact[]) => boolean {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(v);
  if (!m) throw new BoxError(`invalid --filter ${key}=${v}: use PORT[/PROTO] or START-END[/PROTO]`);
  const [from, to, proto] = [Number(m[1]), Number(m[2] ?? m[1]), m[3] ?? 'tcp'];
  return (ports) => ports.some((p) => p.port >= from && p.port <= to && p.protocol === proto);
}

type Check = (c: ContainerRecord, ctx: FilterContext) => boolean;

/** Each key: checks its value once, then gives the check of one container. */
const KEYS: Record<string, (v: string, ctx: FilterContext) => Check> = {
  status: (v) => {
    if (!STATES.includes(v)) throw new BoxError(`invalid --filter status=${v}: use one of ${STATES.join(', ')}`);
    return (c) => containerState(c) === v;
  },
  name: (v) => {
    const re = regex('name', v);
    return (c) => re.test(c.name) || re.test(`/${c.name}`);
  },
  id: (v) => (c) => c.id.startsWith(v),
  label: (v) => (c) => labelMatch(c.config.labels, v),
  exited: (v) => {
    if (!/^-?\d+$/.test(v)) throw new BoxError(`invalid --filter exited=${v}: use an exit code`);
    return (c) => c.state.status === 'exited' && c.state.exitCode === Number(v);
  },
  ancestor: (v, ctx) => {
    const id = ctx.resolveImage(v);
    return (c) => c.config.image.ref === v || c.config.image.id === id || c.config.image.id === v;
  },
  health: (v, ctx) => {
    if (!HEALTH.includes(v)) throw new BoxError(`invalid --filter health=${v}: use one of ${HEALTH.join(', ')}`);
    return (c) => {
      if (!healthOf(c)) return v === 'none';
      if (c.state.status !== 'running') return false;
      return (readHealth(ctx.roots, c.id)?.status ?? 'starting') === v;
    };
  },
  since: (v, ctx) => {
    const other = mustFind(ctx, 'since', v);
    return (c) => c.created > other.created;
  },
  before: (v, ctx) => {
    const other = mustFind(ctx, 'before', v);
    return (c) => c.created < other.created;
  },
  expose: (v) => {
    const m = portMatcher('expose', v);
    return (c) => m(exposedPortsOf(c));
  },
  publish: (v) => {
    const m = portMatcher('publish', v);
    return (c) => m(publishedPortsOf(c));
  },
  network: (v) => (c) => networksOf(c).includes(v),
  volume: (v) => (c) => mountsOf(c).some((m) => m.name === v || m.destination === v || m.source === v),
};

function mustFind(ctx: FilterContext, key: string, v: string): ContainerRecord {
  const c = ctx.findContainer(v);
  if (!c) throw new BoxError(`invalid --filter ${key}=${v}: no such container`);
  return c;
}

function split(f: string, keys: string[], what: string): [string, string] {
  const i = f.indexOf('=');
  const key = f.slice(0, i);
  if (i < 1 || !keys.includes(key))
    throw new BoxError(`invalid --filter "${f}": ${what} takes ${keys.map((k) => `${k}=`).join(', ')}`);
  return [key, f.slice(i + 1)];
}

/** The predicate of `ps --filter` values. A damaged record matches only status=damaged and id=. */
export function containerFilter(filters: string[], ctx: FilterContext): (c: Listed) => boolean {
  const byKey = new Map<string, { value: string; check: Check }[]>();
  for (const f of filters) {
    const [key, value] = split(f, Object.keys(KEYS), 'ps');
    byKey.set(key, [...(byKey.get(key) ?? []), { value, check: KEYS[key](value, ctx) }]);
  }
  return (c) =>
    [...byKey].every(([key, alternatives]) =>
      alternatives.some(({ value, check }) => {
        if (isDamaged(c)) return key === 'status' ? value === 'damaged' : key === 'id' && c.id.startsWith(value);
        return check(c, ctx);
      }),
    );
}

/**
 * The predicate of prune's --filter: until=TIME (created before it), label=, label!= (Docker's).
 * Every given filter must match.
 */
export function pruneFilter(
  filters: string[],
  now = Date.now(),
): (created: string, labels: Record<string, string>) => boolean {
  const checks: ((created: string, labels: Record<string, string>) => boolean)[] = [];
  for (const f of filters) {
    const [key, value] = split(f, ['until', 'label', 'label!'], 'prune');
    if (key === 'until') {
      const t = parseTimeArg('--filter until', value, now);
      checks.push((created) => Date.parse(created) < t);
    } else if (key === 'label') checks.push((_, labels) => labelMatch(labels, value));
    else checks.push((_, labels) => !labelMatch(labels, value));
  }
  return (created, labels) => checks.every((c) => c(created, labels));
}
