// Pausing containers with the cgroup freezer. Filled in by the pause/unpause work; these are the
// hooks the rest of box calls.
import { ContainerRecord } from './model';

/** True if the container's cgroup is frozen. */
export function isPaused(_record: ContainerRecord): boolean {
  return false;
}

/** Thaws a frozen container (stop and kill need it to run again to handle signals). */
export function thaw(_record: ContainerRecord): void {}
