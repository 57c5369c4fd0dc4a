// Totals folded from the buckets (issue 13): when an operation asks a statistics field for both
// `buckets` and `totals`, the bucketed partial rows are read once per request and the totals are
// their fold (analytics/rollup.ts, mergeByKeys), without statements of their own. Alone, the
// totals read fewer rows on their own.
import { type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import type { QueryReader } from "../analytics/cache.ts";
import type { TimeBucket } from "../analytics/range.ts";
import type { PartialRow, RollupSource } from "../analytics/rollup.ts";
import type { Context } from "../context.ts";
import { argsKey } from "./range.ts";

/** Statistics objects whose operation selects `buckets` (noted by the root field's resolver). */
const BUCKETS_ASKED = new WeakSet<object>();

/** Whether `name` is selected directly under these field nodes (through fragments too). */
function selects(info: GraphQLResolveInfo, name: string): boolean {
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).some((s) => {
      if (s.kind === Kind.FIELD) return s.name.value === name;
      if (s.kind === Kind.INLINE_FRAGMENT) return walk(s.selectionSet);
      if (seen.has(s.name.value)) return false;
      seen.add(s.name.value);
      return walk(info.fragments[s.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((node) => walk(node.selectionSet));
}

/** Called by a statistics root field's resolver with the object its fields resolve on. */
export function noteBuckets<A extends { bucket: TimeBucket | null }>(args: A, info: GraphQLResolveInfo): A {
  if (args.bucket && selects(info, "buckets")) BUCKETS_ASKED.add(args);
  return args;
}

type Read<A, R, P = PartialRow> = (
  reads: QueryReader,
  source: RollupSource,
  args: A,
  max: number,
  bucketed?: Promise<P[]>,
) => Promise<R[]>;

/**
 * The rows of a statistics field's `totals` or `buckets` (`bucketed`), each with its arguments for
 * the fields that read more, sharing the request's bucketed partial rows (`partials`) as above.
 */
export async function statisticsRows<
  A extends { bucket: TimeBucket | null },
  R,
  W = { row: R; args: A; bucketed: boolean },
  P = PartialRow,
>(
  name: string,
  read: Read<A, R, P>,
  partials: Read<A, P, P>,
  source: RollupSource,
  args: A,
  context: Context,
  bucketed: boolean,
  /** The object the row's GraphQL fields read (default: the row with its arguments). */
  shape: (row: R, args: A, bucketed: boolean) => W = (row, args, bucketed) => ({ row, args, bucketed }) as W,
): Promise<W[]> {
  const { reads, services } = context;
  const max = services.maxResultRows;
  const shared = bucketRows(name, args, context, !bucketed, () => partials(reads, source, args, max));
  const rows = await read(reads, source, args, max, shared);
  return rows.map((row) => shape(row, args, bucketed));
}

/**
 * The request's bucketed partial rows of `args` (read once, by `read`), for its buckets, and for
 * its totals when the operation selects the buckets too; else undefined (read on their own).
 */
export function bucketRows<A extends { bucket: TimeBucket | null }, P = PartialRow>(
  name: string,
  args: A,
  context: Context,
  forTotals: boolean,
  read: () => Promise<P[]>,
): Promise<P[]> | undefined {
  if (!args.bucket || (forTotals && !BUCKETS_ASKED.has(args))) return undefined;
  return context.loaders.once(`${name}.partials|${argsKey(args)}`, read);
}
