// `box images`: the image listing, its --filter (dangling, label, reference, before, since) and
// --format (json, table, a Go template over Docker's image fields).
import { imageFilter } from '../../image/image-filter';
import { ImageRecord, ImageStore } from '../../image/store';
import { bool, CommandSpec, list, str } from '../args';
import { roots } from '../context';
import { goTime, humanSize, table, timeAgo } from '../format';
import { goStruct, headerRow, outputFormat } from '../template';
import { repoOf, shortId } from './common';

const IMAGES_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
const IMAGES_TABLE_DIGESTS = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

const IMAGES_HEADER = headerRow('image', {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
});

interface Row {
  repo: string;
  tag: string;
  digest: string;
  img: ImageRecord;
}

/** One row per tag (an untagged image: one row, named by its digest if it has one). */
function rowsOf(images: ImageRecord[]): Row[] {
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
  return rows;
}

/** Docker's formatter.ImageContext for one row. */
function imageContext({ repo, tag, digest, img }: Row, noTrunc: boolean) {
  return goStruct('image', {
    ID: noTrunc ? img.id : shortId(img.id),
    Repository: repo,
    Tag: tag,
    Digest: digest,
    CreatedSince: timeAgo(img.created),
    CreatedAt: img.created ? goTime(img.created) : '',
    Size: humanSize(img.size),
    Containers: 'N/A',
    VirtualSize: humanSize(img.size),
    SharedSize: 'N/A',
    UniqueSize: 'N/A',
  });
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
      value: 'key=value',
      description: 'dangling=true|false, label=KEY[=VALUE], reference=PATTERN, before=IMAGE, since=IMAGE',
    },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'string',
      description: "json (one object per line), table, or a Go template ('{{.Repository}}:{{.Tag}}')",
    },
  ],
  positionals: [{ name: 'REPOSITORY[:TAG]', optional: true }],
  async run(a) {
    const store = new ImageStore(roots());
    const all = store.list();
    const match = imageFilter(list(a, 'filter'), {
      find: (q) => {
        const id = store.resolve(q);
        return all.find((i) => i.id === id);
      },
    });
    const want = a.positionals[0];
    const rows = rowsOf(all.filter(match));
    const shown = want ? rows.filter((r) => r.repo === want || `${r.repo}:${r.tag}` === want) : rows;
    const noTrunc = bool(a, 'noTrunc');
    const id = (i: string) => (noTrunc ? i : shortId(i));
    if (bool(a, 'quiet')) {
      process.stdout.write([...new Set(shown.map((r) => id(r.img.id)))].map((i) => i + '\n').join(''));
      return 0;
    }
    const format = str(a, 'format');
    if (format === 'json') {
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
    if (format) {
      const template = outputFormat(format, digests ? IMAGES_TABLE_DIGESTS : IMAGES_TABLE);
      process.stdout.write(
        template.render(
          shown.map((r) => imageContext(r, noTrunc)),
          IMAGES_HEADER,
        ),
      );
      return 0;
    }
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
