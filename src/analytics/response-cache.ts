// Which GraphQL answers the HTTP fast path may cache whole (src/http/graphql-fast-path.ts), and
// under what key. Only queries whose every root field is an analytics read: those read nothing
// but QuestDB tables through the request's cache view (Context.reads), so the answer is a
// function of the operation, its variables and the transactions of the tables read, which the
// cache checks before serving it (src/analytics/cache.ts). Anything else (alert rules,
// mutations, subscriptions) is executed every time.
import { type DocumentNode, Kind, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import type { Context } from "../context.ts";
import type { ResponseCacheHooks } from "../http/graphql-fast-path.ts";

/** Root query fields whose answers depend only on their arguments and the tables they read. */
export const CACHEABLE_ROOT_FIELDS: ReadonlySet<string> = new Set([
  "trades",
  "tradeStats",
  "latencyStats",
  "mevEffectiveness",
  "strategyPerformance",
  "performanceByPeriod",
  "__typename",
]);

/** The statistics queries: they read whole ranges (analytics workers run them, ANALYTICS_WORKERS). */
export const STATISTICS_ROOT_FIELDS: ReadonlySet<string> = new Set([
  "tradeStats",
  "latencyStats",
  "mevEffectiveness",
  "strategyPerformance",
  "performanceByPeriod",
]);

function onlyCacheable(selections: SelectionSetNode, document: DocumentNode, seen: Set<string>): boolean {
  for (const selection of selections.selections) {
    if (selection.kind === Kind.FIELD) {
      if (!CACHEABLE_ROOT_FIELDS.has(selection.name.value)) return false;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!onlyCacheable(selection.selectionSet, document, seen)) return false;
    } else {
      const name = selection.name.value;
      if (seen.has(name)) continue;
      seen.add(name);
      const fragment = document.definitions.find(
        (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === name,
      );
      if (fragment?.kind !== Kind.FRAGMENT_DEFINITION || !onlyCacheable(fragment.selectionSet, document, seen)) {
        return false;
      }
    }
  }
  return true;
}

export function analyticsResponseCache(): ResponseCacheHooks {
  // Yoga's parser cache hands back the same document for the same query text, so the walk runs
  // once per distinct operation, not once per request.
  const cacheable = new WeakMap<OperationDefinitionNode, boolean>();
  return {
    key(document, operation, params, context) {
      let ok = cacheable.get(operation);
      if (ok === undefined) {
        ok = operation.operation === "query" && onlyCacheable(operation.selectionSet, document, new Set());
        cacheable.set(operation, ok);
      }
      if (!ok) return undefined;
      // The role is part of the key, should answers ever differ by caller.
      const role = (context as Context).caller?.role ?? "";
      return JSON.stringify([role, params.operationName ?? null, params.query, params.variables ?? null]);
    },
    get: (key, context) => (context as Context).reads.cachedResponse(key),
    set: (key, body, context) => {
      (context as Context).reads.storeResponse(key, body);
    },
  };
}
