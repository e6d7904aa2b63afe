// Admission of `box network connect` (compose's second and later networks of a service too): the
// policies that admitted the container (with the arguments, time limit and failure mode they
// ran with) and today's defaults (none for a container created with --no-default-policies) judge
// its configuration with the new network added last, as for `box update`, so that a rule on
// networks holds for every network a container joins, not only the one it was created on. A denial refuses the connect. A patch cannot change a container
// that exists: one that takes the new network away (disconnect) refuses the connect, and its other
// changes are reported as not applied.
import { BoxError } from '../errors';
import type { ContainerRecord, NetworkEndpointConfig } from '../model';
import type { Roots } from '../paths';
import type { Subject } from './admission';
import { printable } from '../util/printable';
import { writeStderr } from '../util/stderr';

/** What the caller does once the connect is recorded (or has failed): audit the decisions, release the lock. */
export type FinishConnect = () => void;

/** What the runtime hands the policies (policy/ does not import runtime/): committed resources, the event sink. */
export type ConnectSources = Pick<Subject, 'committed' | 'event'>;

/**
 * Runs the policies on the container connected to one more network. Returns undefined when no
 * policy applies; throws a BoxError (exit 125) listing the reasons when the connect is refused.
 */
export async function admitConnect(
  roots: Roots,
  record: ContainerRecord,
  endpoint: NetworkEndpointConfig,
  sources: ConnectSources,
  warn: (m: string) => void = (m) => writeStderr(`box: ${m}\n`),
): Promise<FinishConnect | undefined> {
  const { defaultPoliciesFor } = require('./sources') as typeof import('./sources');
  const defaults = defaultPoliciesFor(roots, record);
  if (!record.admittedBy?.length && !defaults.length) return undefined;
  // Loaded only when policies apply.
  const { admit, policiesForUpdate } = require('./admission') as typeof import('./admission');
  const { refs, flags } = policiesForUpdate(record.admittedBy ?? [], defaults);
  const config = { ...record.config, networks: [...(record.config.networks ?? []), endpoint] };
  const admission = await admit(
    {
      roots,
      id: record.id,
      name: record.name,
      config,
      warn,
      action: 'connect',
      committed: sources.committed,
      event: sources.event,
    },
    refs,
    flags,
  );
  const kept = (admission.config.networks ?? []).some((e) => e.networkId === endpoint.networkId);
  const changed = admission.admittedBy.filter((p) => p.applied.length);
  if (!kept) {
    const by = changed.map((p) => p.name).join(', ');
    admission.finish();
    throw new BoxError(
      `policy ${by} would take container ${record.name} off its networks: the connect to ${endpoint.name} is refused`,
    );
  }
  for (const p of changed)
    warn(printable(`policy ${p.name}: a connect does not change the container, not applied: ${p.applied.join(', ')}`));
  return () => admission.finish();
}
