// What a bucketed list's resolver needs to answer closed pieces of its series as kept JSON text
// (analytics/series-pieces.ts, http/spliced-lists.ts): the name of its selection of fields, and
// the hand-over of its pieces to the request's SplicedLists.
import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import { selectionKey } from "../analytics/series-pieces.ts";
import type { Context } from "../context.ts";

/** Per field node (documents are cached by the parser: once per distinct operation), its selection's key. */
const keys = new WeakMap<FieldNode, string | null>();

/**
 * The key under which the text of this field's rows is kept: `name` and the canonical text of the
 * selection below the field (fragments inlined, aliases kept), so that equal selections share
 * texts. Undefined (never spliced) when the request cannot take text, or when the selection
 * holds a directive (its value may come from variables) or a field of `computed` (fields that
 * read more than the row: their values are not tied to the rows' cache entry).
 */
export function splicedListKey(
  context: Context,
  info: GraphQLResolveInfo,
  name: string,
  computed: ReadonlySet<string>,
): string | undefined {
  if (!context.splice || info.fieldNodes.length !== 1) return undefined;
  const node = info.fieldNodes[0] as FieldNode;
  let key = keys.get(node);
  if (key === undefined) {
    const canonical = canonicalSelection(node.selectionSet, info, computed, new Set());
    key = canonical === undefined ? null : selectionKey(name, canonical);
    keys.set(node, key);
  }
  return key ?? undefined;
}

function canonicalSelection(
  set: SelectionSetNode | undefined,
  info: GraphQLResolveInfo,
  computed: ReadonlySet<string>,
  inlined: Set<string>,
): string | undefined {
  if (!set) return "";
  let text = "{";
  for (const selection of set.selections) {
    if (selection.directives?.length) return undefined;
    let part: string | undefined;
    if (selection.kind === Kind.FIELD) {
      if (computed.has(selection.name.value) || selection.arguments?.length) return undefined;
      const below = canonicalSelection(selection.selectionSet, info, computed, inlined);
      if (below === undefined) return undefined;
      part = `${selection.alias?.value ?? ""}:${selection.name.value}${below}`;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const below = canonicalSelection(selection.selectionSet, info, computed, inlined);
      if (below === undefined) return undefined;
      part = `...${selection.typeCondition?.name.value ?? ""}${below}`;
    } else {
      const fragment = info.fragments[selection.name.value];
      // A fragment spread twice on one path adds nothing the first did not (validation refuses cycles).
      if (!fragment || fragment.directives?.length || inlined.has(selection.name.value)) return undefined;
      inlined.add(selection.name.value);
      const below = canonicalSelection(fragment.selectionSet, info, computed, inlined);
      inlined.delete(selection.name.value);
      if (below === undefined) return undefined;
      part = `...${fragment.typeCondition.name.value}${below}`;
    }
    text += `${part},`;
  }
  return `${text}}`;
}

/** The rows GraphQL executes for this list: with a key, those of the pieces not answered as text. */
export function splicedRows<R, W>(
  context: Context,
  info: GraphQLResolveInfo,
  pieces: readonly (
    | { rows: R[]; text?: undefined; keep?: (text: Uint8Array) => void }
    | { rows?: undefined; text: Uint8Array }
  )[],
  shape: (row: R) => W,
): W[] {
  const shaped = pieces.map((piece) => (piece.text !== undefined ? piece : { ...piece, rows: piece.rows.map(shape) }));
  if (!context.splice) return shaped.flatMap((piece) => piece.rows ?? []);
  return context.splice.list(info, shaped);
}
