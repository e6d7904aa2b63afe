// Dockerfile-style instructions accepted by `box import --change`.
import { BoxError } from '../errors';
import { ImageRuntimeConfig } from './config';

/** `--change 'CMD ["sh"]'` and friends, as docker import accepts them. */
export function parseChanges(changes: string[]): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = {};
  for (const c of changes) {
    const m = /^\s*(\w+)\s+(.*)$/s.exec(c);
    if (!m) throw new BoxError(`invalid --change "${c}": expected INSTRUCTION VALUE, e.g. CMD ["sh"]`);
    const key = m[1].toUpperCase();
    const value = m[2].trim();
    const list = (): string[] => {
      if (value.startsWith('[')) {
        try {
          const v = JSON.parse(value) as unknown;
          if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
        } catch {
          /* fall through */
        }
        throw new BoxError(`invalid --change "${c}": the JSON form must be an array of strings`);
      }
      return ['/bin/sh', '-c', value];
    };
    if (key === 'CMD') out.Cmd = list();
    else if (key === 'ENTRYPOINT') out.Entrypoint = list();
    else if (key === 'WORKDIR') out.WorkingDir = value;
    else if (key === 'USER') out.User = value;
    else if (key === 'ENV') {
      const eq = value.includes('=') ? value.split(/\s+/) : [value.replace(/\s+/, '=')];
      out.Env = [...(out.Env ?? []), ...eq];
    } else if (key === 'LABEL') {
      out.Labels = { ...(out.Labels ?? {}) };
      for (const kv of value.split(/\s+/)) {
        const i = kv.indexOf('=');
        out.Labels[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1).replace(/^"(.*)"$/, '$1');
      }
    } else if (key === 'STOPSIGNAL') out.StopSignal = value;
    else if (key === 'VOLUME') {
      const paths = value.startsWith('[') ? list() : value.split(/\s+/);
      out.Volumes = { ...out.Volumes, ...Object.fromEntries(paths.map((p) => [p, {}])) };
    } else
      throw new BoxError(
        `invalid --change "${c}": box supports CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, STOPSIGNAL and VOLUME`,
      );
  }
  return out;
}
