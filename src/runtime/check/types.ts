// What `box system check` is made of: a Checker per kind of object box makes (mounts, cgroups,
// processes, veths, files...), each finding the objects of this storage root that no container,
// network or volume record accounts for, from the kernel's own view where the kernel holds them,
// and removing one such finding on --fix. The command (src/cli/system/check.ts) knows no kind.
import type { Roots } from '../../paths';
import type { CheckContext } from './context';

/** One leftover: what kind of object, which one, and why no record accounts for it. */
export interface Finding {
  kind: string;
  /** the object as the kernel or the file system names it (a path, a link name, a pid) */
  object: string;
  /** why it is a leftover, in words */
  reason: string;
  /** what fix() needs beyond the object's name (a pid's start time, a network id...) */
  detail?: Record<string, string | number>;
}

export interface Checker {
  kind: string;
  find(ctx: CheckContext): Promise<Finding[]>;
  /** Removes a finding, after checking again under the owners' locks that it still is one. */
  fix(ctx: CheckContext, finding: Finding): Promise<void>;
}

export type { CheckContext, Roots };
