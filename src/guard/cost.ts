// The query cost that MAX_COST bounds (docs/security.md "Query cost"). It estimates how many
// values an operation can return before anything runs, from the arguments that decide it (with
// variables applied): every selected field costs 1, and a field that returns many items costs
// 1 + items × the cost of its selection, where items is
// - `first` for trades pages, and an estimate for the nested lists of a trade;
// - for the buckets of tradeStats, latencyStats and mevEffectiveness: the buckets the range and
//   bucket imply × the groups; for their totals: the groups;
// - groups: ×10 per groupBy key (×8 stages for latencyStats without a stage);
// - ×20 strategies for strategyPerformance without a strategy (×10 more grouped by PAIR too);
// - performanceByPeriod: the periods the range and bucket imply;
// - systemMetrics: the buckets × 4 instances; alertEvents: `first`.
// Each root field that runs SQL adds STATEMENT_COST. Fragments are costed once each (a document
// that spreads a fragment many times costs what it would return, not what it would take to walk).
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { getArgumentValues, getVariableValues } from "graphql/execution/values.js";

/** What an analytics root field implies for its lists. */
interface Scope {
  buckets: number;
  groups: number;
}

type Args = Record<string, unknown>;

export const STATEMENT_COST = 10;
export const ESTIMATE = {
  perGroupKey: 10,
  stages: 8,
  strategies: 20,
  latencyPerTrade: 10,
  otherList: 10,
  instances: 4,
} as const;
const MAX_ITEMS = 1e12; // keeps products finite

const BUCKET_SECONDS: Record<string, number> = {
  MINUTE: 60,
  FIVE_MINUTES: 300,
  FIFTEEN_MINUTES: 900,
  HOUR: 3_600,
  FOUR_HOURS: 14_400,
  DAY: 86_400,
  WEEK: 604_800,
  MONTH: 28 * 86_400, // the shortest month: an upper bound of the count
};

/** Calendar buckets a range cuts into (clipped first and last included). */
export function bucketCount(range: unknown, bucket: unknown): number {
  if (typeof bucket !== "string" || !(bucket in BUCKET_SECONDS)) return 1;
  const { from, to } = (range ?? {}) as { from?: unknown; to?: unknown };
  if (typeof from !== "bigint" || typeof to !== "bigint" || to <= from) return 1;
  const seconds = Number((to - from) / 1_000_000n);
  return Math.min(MAX_ITEMS, Math.ceil(seconds / (BUCKET_SECONDS[bucket] as number)) + 1);
}

const groupsOf = (groupBy: unknown): number =>
  Array.isArray(groupBy) ? ESTIMATE.perGroupKey ** Math.min(new Set(groupBy).size, 6) : 1;

const analyticsScope = (args: Args): Scope => ({
  buckets: bucketCount(args.range, args.bucket),
  groups: groupsOf(args.groupBy),
});

/** strategyPerformance's rows: ×20 strategies (1 with a strategy), ×10 pairs; groupBy absent is [STRATEGY]. */
function performanceGroups(args: Args): number {
  const keys = Array.isArray(args.groupBy) ? new Set(args.groupBy) : new Set(["STRATEGY"]);
  const strategies = keys.has("STRATEGY") && !args.strategy ? ESTIMATE.strategies : 1;
  return strategies * (keys.has("PAIR") ? ESTIMATE.perGroupKey : 1);
}

interface FieldRule {
  /** Items the field returns (its selection is multiplied by this). */
  items?: (args: Args, scope: Scope) => number;
  /** What the field's descendants see as their scope. */
  scope?: (args: Args) => Scope;
  /** Runs a statement of its own. */
  statement?: true;
}

const STATS_LISTS: Record<string, FieldRule> = {
  buckets: { items: (_, s) => s.buckets * s.groups },
  totals: { items: (_, s) => s.groups },
};

const RULES: Record<string, FieldRule> = {
  "Query.trades": { items: (a) => (typeof a.first === "number" ? Math.max(1, a.first) : 50), statement: true },
  "Query.tradeStats": { scope: analyticsScope, statement: true },
  "Query.mevEffectiveness": { scope: analyticsScope, statement: true },
  "Query.latencyStats": {
    scope: (a) => ({ buckets: bucketCount(a.range, a.bucket), groups: a.stage ? 1 : ESTIMATE.stages }),
    statement: true,
  },
  "Query.strategyPerformance": { items: performanceGroups, statement: true },
  "Query.performanceByPeriod": { items: (a) => bucketCount(a.range, a.bucket), statement: true },
  "Query.systemMetrics": {
    items: (a) => bucketCount(a.range, a.bucket) * ESTIMATE.instances,
    statement: true,
  },
  "Query.alertEvents": { items: (a) => (typeof a.first === "number" ? Math.max(1, a.first) : 100), statement: true },
  "TradeStats.buckets": STATS_LISTS.buckets as FieldRule,
  "TradeStats.totals": STATS_LISTS.totals as FieldRule,
  "LatencyStats.buckets": STATS_LISTS.buckets as FieldRule,
  "LatencyStats.totals": STATS_LISTS.totals as FieldRule,
  "MevEffectiveness.buckets": STATS_LISTS.buckets as FieldRule,
  "MevEffectiveness.totals": STATS_LISTS.totals as FieldRule,
  "Trade.latencyMetrics": { items: () => ESTIMATE.latencyPerTrade, statement: true },
  "Trade.mev": { statement: true },
};

// Lists whose length the connection's `first` already counts.
const COUNTED_BY_PARENT = new Set(["TradeConnection.edges", "TradeConnection.nodes"]);

/**
 * The cost of the operation, with the request's (raw) variables coerced and applied. Variables or
 * arguments that fail to coerce count as absent: execution refuses them itself.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Args | null | undefined,
): number {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {}, { maxErrors: 1 });
  const variables = coerced.coerced ?? {};
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const root =
    operation.operation === "query"
      ? schema.getQueryType()
      : operation.operation === "mutation"
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return 0;
  // A fragment's cost depends on the scope it is spread in; memoised per (fragment, scope).
  const memo = new Map<string, number>();

  const selectionCost = (set: SelectionSetNode, type: GraphQLNamedType, scope: Scope, seen: Set<string>): number => {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) total += fieldCost(selection, type, scope, seen);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) ?? type) : type;
        total += selectionCost(selection.selectionSet, on, scope, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || seen.has(name)) continue; // cycles are refused by validation
        const key = `${name}|${scope.buckets}|${scope.groups}`;
        let cost = memo.get(key);
        if (cost === undefined) {
          const on = schema.getType(fragment.typeCondition.name.value) ?? type;
          cost = selectionCost(fragment.selectionSet, on, scope, new Set(seen).add(name));
          memo.set(key, cost);
        }
        total += cost;
      }
      if (total > MAX_ITEMS) return MAX_ITEMS;
    }
    return total;
  };

  const fieldCost = (node: FieldNode, parent: GraphQLNamedType, scope: Scope, seen: Set<string>): number => {
    if (!isObjectType(parent)) return 1;
    const definition = parent.getFields()[node.name.value] as GraphQLField<unknown, unknown> | undefined;
    if (!definition) return 1; // __typename, introspection
    const coordinate = `${parent.name}.${definition.name}`;
    const rule = RULES[coordinate];
    let args: Args = {};
    if (rule?.items || rule?.scope) {
      try {
        args = getArgumentValues(definition, node, variables);
      } catch {
        args = {}; // execution reports the bad argument itself
      }
    }
    const type = definition.type;
    const list = isListType(isNonNullType(type) ? type.ofType : type);
    const items = rule?.items?.(args, scope) ?? (list && !COUNTED_BY_PARENT.has(coordinate) ? ESTIMATE.otherList : 1);
    const childScope = rule?.scope?.(args) ?? scope;
    const own = 1 + (rule?.statement ? STATEMENT_COST : 0);
    if (!node.selectionSet) return own;
    const children = selectionCost(node.selectionSet, getNamedType(type), childScope, seen);
    return Math.min(MAX_ITEMS, own + Math.min(MAX_ITEMS, items) * children);
  };

  return selectionCost(operation.selectionSet, root, { buckets: 1, groups: 1 }, new Set());
}
