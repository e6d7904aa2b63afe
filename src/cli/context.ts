// Options given before the command (box --root DIR run ...), shared by every command.
import { Roots, resolveRoots } from '../paths';

export const globals: { root?: string; runroot?: string } = {};

export function roots(): Roots {
  return resolveRoots(globals);
}
