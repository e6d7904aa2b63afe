// `box update`: changes the resource limits of a container. The new limits are the old ones with
// the given flags applied, validated as `run` validates them (checkLimits), written to the running
// container's cgroup and saved in its record (a stopped container gets them at its next start).
// The changed container is admitted again by the policies that admitted it and the defaults
// (none when it was created with --no-default-policies; src/policy/admission.ts): they may
// refuse the update or tighten it with a patch.
import { BoxError } from '../errors';
import { CgroupLimits, checkLimits, containerCgroup, detectCgroups } from '../linux/cgroups';
import { Roots } from '../paths';
import { committedResources } from './committed';
import { ContainerStore } from './containers';
import { appendEvent } from './events';
import { lockContainer, refresh } from './lifecycle';
import { ContainerRecord } from '../model';
import type { Admission } from '../policy/admission';
import { defaultPoliciesFor } from '../policy/sources';

/** Applies an update to the current limits; refuses combinations Docker refuses. */
export function mergeLimits(old: CgroupLimits, change: CgroupLimits): CgroupLimits {
  const merged: CgroupLimits = { ...old, ...change };
  if (
    change.memory !== undefined &&
    change.memorySwap === undefined &&
    old.memorySwap !== undefined &&
    old.memorySwap !== -1 &&
    change.memory > old.memorySwap
  ) {
    throw new BoxError(
      "--memory is larger than the container's --memory-swap (memory plus swap): update --memory-swap at the same time",
    );
  }
  if (change.cpuQuota !== undefined && change.cpuPeriod === undefined && old.cpuPeriod === undefined)
    merged.cpuPeriod = 100000;
  return merged;
}

export async function updateContainer(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  change: CgroupLimits,
  warn: (m: string) => void,
): Promise<void> {
  await refresh(roots, store, record); // (takes the lock itself when the monitor died)
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) throw new BoxError(`no such container: ${record.name}`);
    const merged = mergeLimits(cur.config.limits, change);
    const warnings = checkLimits(detectCgroups(), merged);
    for (const w of warnings) warn(w);
    const admission = await admitUpdate(roots, cur, merged, warn);
    try {
      const config = admission?.config ?? { ...cur.config, limits: merged };
      const written = limitsToWrite(cur.config.limits, config.limits, change);
      if (cur.state.status === 'running') containerCgroup(detectCgroups(), cur.id).writeLimits(config.limits, written);
      cur.config = config;
      store.save(cur);
      admission?.finish(cur.name);
      appendEvent(roots, 'update', cur);
    } finally {
      admission?.finish();
    }
  } finally {
    lock.release();
  }
}

/**
 * The limits to write to the cgroup, with their final values: those the flags changed and those a
 * policy's patch changed (a patch may lower a value the flags gave, or set another limit).
 */
export function limitsToWrite(before: CgroupLimits, after: CgroupLimits, flags: CgroupLimits): CgroupLimits {
  const was = before as Record<string, unknown>;
  const now = after as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(flags), ...Object.keys(now)])) {
    if (k in flags || was[k] !== now[k]) out[k] = now[k];
  }
  return out as CgroupLimits;
}

/**
 * Runs the policies on the updated container (those that admitted it and today's defaults), as
 * a start would: a denial refuses the update, a patch tightens it. Undefined when none applies.
 */
async function admitUpdate(
  roots: Roots,
  cur: ContainerRecord,
  limits: CgroupLimits,
  warn: (m: string) => void,
): Promise<Admission | undefined> {
  const defaults = defaultPoliciesFor(roots, cur);
  if (!cur.admittedBy?.length && !defaults.length) return undefined;
  // Loaded only when policies apply.
  const { admit, policiesForUpdate } = require('../policy/admission') as typeof import('../policy/admission');
  const { refs, flags } = policiesForUpdate(cur.admittedBy ?? [], defaults);
  const config = { ...cur.config, limits };
  return admit(
    {
      roots,
      id: cur.id,
      name: cur.name,
      config,
      warn,
      action: 'update',
      committed: () => committedResources(roots, cur.id),
      event: (container, attributes) => appendEvent(roots, 'policy', container, attributes),
    },
    refs,
    flags,
  );
}
