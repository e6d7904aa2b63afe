// Generated container names in Docker's "adjective_noun" style, from word lists of our own.
import { randomIndex } from '../util/random';

const ADJECTIVES = ['amber', 'brave', 'calm', 'clever', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lively', 'merry', 'nimble', 'proud', 'quiet', 'rapid', 'silent', 'steady', 'swift', 'tidy', 'vivid', 'witty', 'bold', 'bright', 'crisp', 'daring', 'fresh', 'golden', 'humble', 'lucid'];
const NOUNS = ['otter', 'falcon', 'maple', 'harbor', 'comet', 'lantern', 'meadow', 'pebble', 'river', 'summit', 'willow', 'badger', 'cedar', 'dune', 'ember', 'fjord', 'glacier', 'heron', 'island', 'juniper', 'kestrel', 'lagoon', 'marlin', 'nebula', 'orchid', 'prairie', 'quartz', 'raven', 'spruce', 'tundra'];

export function generateName(): string {
  return `${ADJECTIVES[randomIndex(ADJECTIVES.length)]}_${NOUNS[randomIndex(NOUNS.length)]}_${randomIndex(1000)}`;
}

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
