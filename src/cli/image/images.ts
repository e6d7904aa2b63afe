// `box images`: the image listing and its --filter dangling=.
import { BoxError } from '../../errors';
import { ImageStore } from '../../image/store';
import { bool, CommandSpec, list, str } from '../args';
import { roots } from '../context';
import { humanSize, table, timeAgo } from '../format';
import { repoOf, shortId } from './common';

/** Parses `--filter dangling=true|false` (the filter box supports); undefined when not given. */
export function danglingFilter(filters: string[]): boolean | undefined {
  let dangling: boolean | undefined;
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = eq > 0 ? f.slice(0, eq) : f;
    const value = eq > 0 ? f.slice(eq + 1) : '';
    if (key !== 'dangling') throw new BoxError(`invalid filter "${f}": box supports dangling=true and dangling=false`);
    if (value !== 'true' && value !== 'false')
      throw new BoxError(`invalid filter "${f}": dangling takes true or false`);
    dangling = value === 'true';
  }
  return dangling;
}

export const imagesCommand: CommandSpec = {
  paths: [['images'], ['image', 'ls'], ['image', 'list']],
  summary: 'List images.',
  flags: [
    {
      names: ['--all', '-a'],
      key: 'all',
      kind: 'bool',
      description: 'show all images (box keeps no intermediate images: the same as without -a)',
    },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only show image ids' },
    { names: ['--digests'], key: 'digests', kind: 'bool', description: 'show the registry digests' },
    { names: ['--no-trunc'], key: 'noTrunc', kind: 'bool', description: 'show full image ids' },
    {
      names: ['--filter', '-f'],
      key: 'filter',
      kind: 'list',
      value: 'dangling=true|false',
      description: 'dangling=true: only untagged images; dangling=false: only tagged ones',
    },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'json',
      description: 'json: one JSON object per line',
    },
  ],
  positionals: [{ name: 'REPOSITORY[:TAG]', optional: true }],
  async run(a) {
    const dangling = danglingFilter(list(a, 'filter'));
    let images = new ImageStore(roots()).list();
    if (dangling !== undefined) images = images.filter((i) => (i.tags.length === 0) === dangling);
    const want = a.positionals[0];
    interface Row {
      repo: string;
      tag: string;
      digest: string;
      img: (typeof images)[number];
    }
    const rows: Row[] = [];
    for (const img of images) {
      const digestFor = (repo: string) =>
        img.repoDigests.find((r) => r.slice(0, r.lastIndexOf('@')) === repo)?.slice(repo.length + 1) ?? '<none>';
      if (img.tags.length === 0) {
        const first = img.repoDigests[0];
        rows.push({
          repo: first ? first.slice(0, first.lastIndexOf('@')) : '<none>',
          tag: '<none>',
          digest: first ? first.slice(first.lastIndexOf('@') + 1) : '<none>',
          img,
        });
      }
      for (const t of img.tags)
        rows.push({ repo: repoOf(t), tag: t.slice(t.lastIndexOf(':') + 1), digest: digestFor(repoOf(t)), img });
    }
    const shown = want ? rows.filter((r) => r.repo === want || `${r.repo}:${r.tag}` === want) : rows;
    const id = (i: string) => (bool(a, 'noTrunc') ? i : shortId(i));
    if (bool(a, 'quiet')) {
      process.stdout.write([...new Set(shown.map((r) => id(r.img.id)))].map((i) => i + '\n').join(''));
      return 0;
    }
    if (str(a, 'format') === 'json') {
      for (const { repo, tag, digest, img } of shown) {
        process.stdout.write(
          JSON.stringify({
            Repository: repo,
            Tag: tag,
            Digest: digest,
            ID: img.id,
            CreatedAt: img.created,
            Size: img.size,
            Dangling: img.tags.length === 0,
          }) + '\n',
        );
      }
      return 0;
    }
    const digests = bool(a, 'digests');
    const headers = ['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
    const body = shown.map(({ repo, tag, digest, img }) => [
      repo,
      tag,
      ...(digests ? [digest] : []),
      id(img.id),
      timeAgo(img.created),
      humanSize(img.size),
    ]);
    process.stdout.write(table(headers, body));
    return 0;
  },
};
