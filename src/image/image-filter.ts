// Docker's image filters (`images --filter`, `image prune --filter`): dangling, label, reference,
// before, since. Values of one key are alternatives, different keys must all match.
import { BoxError } from '../errors';
import { ImageRecord } from './store';

/** Go's path.Match: `*` and `?` do not cross a `/`, `[...]` is a class (`[^...]` negated). */
export function globMatch(pattern: string, text: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new BoxError(`invalid --filter reference=${pattern}: unclosed [`);
      const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(text);
}

/** Whether `pattern` matches a tag "name:tag": the whole tag, or the name alone when it has no tag. */
function referenceMatch(pattern: string, tag: string): boolean {
  const name = tag.slice(0, tag.lastIndexOf(':'));
  return (
    globMatch(pattern, tag) ||
    globMatch(pattern, name) ||
    globMatch(pattern, tag.replace(/^docker\.io\/(library\/)?/, ''))
  );
}

export interface ImageFilterContext {
  /** the image a name or id stands for (before=, since=) */
  find(query: string): ImageRecord | undefined;
}

type Check = (img: ImageRecord) => boolean;

const KEYS: Record<string, (v: string, ctx: ImageFilterContext) => Check> = {
  dangling: (v) => {
    if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0')
      throw new BoxError(`invalid --filter dangling=${v}: use true or false`);
    const want = v === 'true' || v === '1';
    return (img) => (img.tags.length === 0) === want;
  },
  label: (v) => {
    const eq = v.indexOf('=');
    return (img) => {
      const labels = img.config.config?.Labels ?? {};
      return eq < 0 ? Object.hasOwn(labels, v) : labels[v.slice(0, eq)] === v.slice(eq + 1);
    };
  },
  reference: (v) => {
    globMatch(v, ''); // a bad pattern is an error now, not for the first image
    return (img) => img.tags.some((t) => referenceMatch(v, t));
  },
  before: (v, ctx) => {
    const other = mustFind(ctx, 'before', v);
    return (img) => (img.created ?? '') < (other.created ?? '');
  },
  since: (v, ctx) => {
    const other = mustFind(ctx, 'since', v);
    return (img) => (img.created ?? '') > (other.created ?? '');
  },
};

function mustFind(ctx: ImageFilterContext, key: string, v: string): ImageRecord {
  const img = ctx.find(v);
  if (!img) throw new BoxError(`invalid --filter ${key}=${v}: no such image`);
  return img;
}

/** The predicate of `images --filter` values. */
export function imageFilter(filters: string[], ctx: ImageFilterContext): Check {
  const byKey = new Map<string, Check[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = f.slice(0, i);
    if (i < 1 || !(key in KEYS))
      throw new BoxError(`invalid --filter "${f}": use dangling=, label=KEY[=VALUE], reference=, before= or since=`);
    byKey.set(key, [...(byKey.get(key) ?? []), KEYS[key](f.slice(i + 1), ctx)]);
  }
  return (img) => [...byKey.values()].every((alternatives) => alternatives.some((check) => check(img)));
}
