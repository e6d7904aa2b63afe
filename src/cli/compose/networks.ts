// The project's networks. box has no bridge networks yet (issue 10): a service on a compose
// network runs in a network namespace of its own with only loopback, and `up` says so once.
import type { Project } from '../../compose/model';
import { warn } from './context';

export function warnNetworks(project: Project): void {
  const on = Object.entries(project.services).filter(([, s]) => !s.network_mode && s.networks);
  if (!on.length) return;
  warn(
    `box has no bridge networks yet: ${on.map(([n]) => n).join(', ')} run with loopback only ` +
      '(set network_mode: host or none to choose)',
  );
}
