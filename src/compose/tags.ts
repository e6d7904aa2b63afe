// The compose specification's merge tags, as values in a parsed file: `!reset` (the key goes,
// whatever earlier files said) and `!override` (the value replaces the earlier one instead of
// being merged with it). merge.ts honours them; the loader strips any left once files are merged.

/** `!reset VALUE`: the key is removed from the merged model. */
export class Reset {}

/** `!override VALUE`: VALUE replaces what earlier files gave, without merging. */
export class Override {
  constructor(readonly value: unknown) {}
}
