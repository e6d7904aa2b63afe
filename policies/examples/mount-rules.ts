// An example policy in TypeScript: rules for volumes, bind mounts and tmpfs mounts.
//
//   - bind mounts come only from under the `bind-root` directories (argument, comma-separated,
//     default /srv); box gives each bind's source as it resolved it on the host (no symlink left);
//   - no mount may propagate back to the host (shared or rshared);
//   - bind mounts are made read-only (a patch), except at or below the `writable` destinations
//     (argument, comma-separated, default none);
//   - a tmpfs must say how large it may grow (size=);
//   - anonymous volumes (an image's VOLUME, -v /path) are allowed but reported.
//
// Build, test and use it:
//   box policy build mount-rules.ts -o mount-rules.wasm
//   box policy test mount-rules.wasm mount-rules.cases.yaml
//   box run --policy ./mount-rules.wasm --policy-arg bind-root=/srv,/data -v /srv/site:/site IMAGE
/// <reference path="../types/box-policy.d.ts" />
import type { Info, Request, Verdict } from 'box:policy/admission@0.2.0';

function listArgument(req: Request, key: string, fallback: string[]): string[] {
  let value: string | undefined;
  for (const [k, v] of req.args) if (k === key) value = v; // the last one wins
  if (value === undefined) return fallback;
  return value
    .split(',')
    .map((s) => s.trim().replace(/(.)\/+$/, '$1'))
    .filter((s) => s !== '');
}

/** Whether path p is dir or lies below it (both normalised, absolute). */
const within = (p: string, dir: string) => p === dir || dir === '/' || p.startsWith(`${dir}/`);

export const admission = {
  describe(): Info {
    return {
      name: 'mount-rules',
      version: '1.0.0',
      description: 'Bind mounts only from allowed host directories and read-only, no shared propagation, sized tmpfs.',
      arguments: [
        { name: 'bind-root', description: 'comma-separated host directories bind mounts may come from (default /srv)' },
        {
          name: 'writable',
          description: 'comma-separated container paths a bind mount may be writable at (default none)',
        },
      ],
    };
  },

  evaluate(req: Request): Verdict {
    const roots = listArgument(req, 'bind-root', ['/srv']);
    const writable = listArgument(req, 'writable', []);
    const reasons: string[] = [];
    const warnings: string[] = [];
    const readOnlyMounts: string[] = [];
    for (const m of req.container.mounts) {
      if (m.propagation === 'shared' || m.propagation === 'rshared')
        reasons.push(`mount ${m.destination} would propagate mounts back to the host (${m.propagation})`);
      if (m.kind === 'bind') {
        if (!roots.some((r) => within(m.source, r)))
          reasons.push(`bind mount of ${m.source} is outside the allowed directories (${roots.join(', ') || 'none'})`);
        else if (!m.readOnly && !writable.some((w) => within(m.destination, w))) {
          readOnlyMounts.push(m.destination);
          warnings.push(`bind mount ${m.destination} made read-only`);
        }
      } else if (m.kind === 'tmpfs' && !m.options.some((o) => o.startsWith('size='))) {
        reasons.push(`tmpfs ${m.destination} needs a size (--tmpfs ${m.destination}:size=64m)`);
      } else if (m.kind === 'volume' && m.options.includes('anonymous')) {
        warnings.push(`anonymous volume at ${m.destination}`);
      }
    }
    if (reasons.length) return { decision: 'deny', reasons, warnings: [] };
    if (!readOnlyMounts.length) return { decision: 'allow', reasons: [], warnings };
    const patch = {
      dropCapabilities: [],
      readOnlyMounts,
      readOnlyRootfs: false,
      noNewPrivileges: false,
      addEnv: [],
      addLabels: [],
    };
    return { decision: 'allow', reasons: [], warnings, patch };
  },
};
