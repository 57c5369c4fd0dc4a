// Yoga caches parsed documents and parse errors by query text (1,024 entries by default, any
// size): distinct megabyte queries, or many distinct documents near MAX_TOKENS, would hold
// hundreds of megabytes. These caches are bounded by the total length of the texts they keep
// (an AST is a few dozen times its text), so memory stays bounded whatever callers send.
import { LRUCache } from "lru-cache";

/** Total characters of query text kept per cache; a text longer than this is never kept. */
export const PARSE_CACHE_CHARS = 1_000_000;

export function createParseCache<T extends {}>(
  maxChars = PARSE_CACHE_CHARS,
): {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
} {
  const cache = new LRUCache<string, T>({
    max: 1_024,
    maxSize: maxChars,
    sizeCalculation: (_value, key) => key.length || 1,
  });
  return {
    get: (key) => cache.get(key),
    set: (key, value) => {
      if (key.length <= maxChars) cache.set(key, value);
    },
  };
}
