// About how many bytes a cached value holds, for the query cache's byte budget (cache.ts).

/**
 * About the JSON length of a value (strings by length, numbers and bigints as 8 and 16, 8 per
 * key or element for punctuation), without serialising it: JSON.stringify with a bigint replacer
 * cost ~0.2 ms for a page of 100 trades, more than the rest of a cache hit.
 */
export function approximateBytes(value: unknown): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    switch (typeof item) {
      case "string":
        bytes += item.length + 2;
        break;
      case "number":
      case "boolean":
        bytes += 8;
        break;
      case "bigint":
        bytes += 16;
        break;
      case "object":
        if (item === null) bytes += 4;
        else if (ArrayBuffer.isView(item)) bytes += item.byteLength;
        else if (Array.isArray(item)) {
          bytes += 2 + item.length;
          for (const element of item) stack.push(element);
        } else if (item instanceof Map) {
          bytes += 2;
          for (const [k, v] of item) stack.push(k, v);
        } else {
          bytes += 2;
          for (const k in item) {
            bytes += k.length + 4;
            stack.push((item as Record<string, unknown>)[k]);
          }
        }
        break;
      default:
        bytes += 4;
    }
  }
  return bytes;
}
