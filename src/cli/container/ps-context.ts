// What `box ps --format` templates see: Docker's fields for a container (.ID, .Names, .Status,
// .Label "KEY", ...), the titles of their table columns, and Docker's default table.
import { ContainerRecord } from '../../model';
import { containerState } from '../../runtime/container-filter';
import { exposedPortsOf, mountsOf, networksOf, PortFact, publishedPortsOf } from '../../runtime/container-facts';
import { isPaused } from '../../runtime/freezer';
import { healthSuffix } from '../../runtime/health';
import { Roots } from '../../paths';
import { ellipsis, goTime, timeAgo } from '../format';
import { goStruct, headerRow } from '../template';

export const PS_DEFAULT_TABLE =
  'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export const PS_HEADER = headerRow('container', {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  'Label()': 'LABEL',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
});

/** ps's STATUS column: "Up 5 minutes (healthy)", "Exited (0) 3 seconds ago", ... */
export function statusText(c: ContainerRecord, roots: Roots): string {
  if (c.state.restarting) return `Restarting (${c.state.exitCode}) ${timeAgo(c.state.finishedAt)}`;
  if (c.state.status === 'exited') return `Exited (${c.state.exitCode}) ${timeAgo(c.state.finishedAt)}`;
  if (c.state.status === 'removing') return 'Removal In Progress'; // as Docker's
  if (c.state.status !== 'running') return 'Created';
  const up = timeAgo(c.state.startedAt).replace(/ ago$/, '');
  return `Up ${up}${isPaused(c) ? ' (Paused)' : ''}${healthSuffix(c, roots)}`;
}

/** Docker's PORTS: the published ports, then the exposed ones nothing publishes ("80/tcp"). */
function portsText(c: ContainerRecord): string {
  const published = publishedPortsOf(c);
  const key = (p: PortFact) => `${p.port}/${p.protocol}`;
  const shown = new Set(published.map(key));
  const host = (p: PortFact) => (p.hostPort ? `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->` : '');
  return [
    ...published.map((p) => host(p) + key(p)),
    ...exposedPortsOf(c)
      .map(key)
      .filter((k) => !shown.has(k)),
  ].join(', ');
}

/** Docker's formatter.ContainerContext for one container. */
export function psContext(c: ContainerRecord, roots: Roots, opts: { noTrunc: boolean; size?: string }) {
  const labels = c.config.labels;
  const command = c.config.args.join(' ');
  return goStruct('container', {
    ID: opts.noTrunc ? c.id : c.id.slice(0, 12),
    Image: c.config.image.ref,
    Command: JSON.stringify(opts.noTrunc ? command : ellipsis(command, 20)),
    CreatedAt: goTime(c.created),
    RunningFor: timeAgo(c.created),
    Ports: portsText(c),
    State: containerState(c),
    Status: statusText(c, roots),
    Size: opts.size ?? '0B',
    Names: c.name,
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    Label: (key: string) => labels[key] ?? '',
    Mounts: mountsOf(c)
      .map((m) => m.name ?? m.source)
      .join(','),
    LocalVolumes: String(mountsOf(c).filter((m) => m.name).length),
    Networks: networksOf(c).join(','),
  });
}
