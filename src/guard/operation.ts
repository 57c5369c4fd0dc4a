// Stages 4 to 7 of the request pipeline (docs/security.md), as one envelop plugin that every
// transport runs (Yoga's handler, the lean POST path and graphql-ws all go through
// yoga.getEnveloped):
//   4. parse with a token limit (GraphQL Armor's counting lexer);
//   5. validate with depth, alias and directive limits (GraphQL Armor's rules) and a root-field
//      limit; introspection and field suggestions only for admin keys in production;
//   6. authorise the operation's root fields by the caller's role, then bound its cost (needs
//      the variables, so it runs before execution rather than in validation);
//   7. bound the size of each answer (and of each subscription event).
// Every refusal names the limit (its variable) and the value that crossed it.

import type { Plugin } from "@envelop/core";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import { MaxTokensParserWLexer } from "@escape.tech/graphql-armor-max-tokens";
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  GraphQLError,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  type parse,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
  visit,
} from "graphql";
import type { RequestLimits } from "../config.ts";
import { BadInputError, clientError, LimitError } from "../errors.ts";
import { MAX_LIST_ITEMS } from "../schema/arguments.ts";
import { operationCost } from "./cost.ts";
import type { Caller, Role } from "./keys.ts";

/** What a root field needs: read (queries, subscriptions), write (record mutations) or admin. */
export type Access = "read" | "write" | "admin";

/**
 * Every root field and what it needs. A field missing here is refused to everyone but admins
 * (test/guard-roles.test.ts checks that the schema and this table agree).
 */
export const ROOT_FIELD_ACCESS: Record<string, Access> = {
  "Query.trades": "read",
  "Query.tradeStats": "read",
  "Query.latencyStats": "read",
  "Query.mevEffectiveness": "read",
  "Query.strategyPerformance": "read",
  "Query.performanceByPeriod": "read",
  "Query.alertRules": "read",
  "Query.alertEvents": "read",
  "Query.systemMetrics": "read",
  "Query.viewer": "read",
  "Subscription.liveMetrics": "read",
  "Subscription.tradeRecorded": "read",
  "Subscription.alerts": "read",
  "Mutation.recordTrade": "write",
  "Mutation.recordTrades": "write",
  "Mutation.recordLatencyMetric": "write",
  "Mutation.recordLatencyMetrics": "write",
  "Mutation.recordMevMetric": "write",
  "Mutation.recordMevMetrics": "write",
  "Mutation.upsertAlertRule": "admin",
  "Mutation.deleteAlertRule": "admin",
};

/** The mutations writers send (the record mutations), by root field name. */
export const WRITE_MUTATIONS: ReadonlySet<string> = new Set(
  Object.keys(ROOT_FIELD_ACCESS)
    .filter((field) => ROOT_FIELD_ACCESS[field] === "write" && field.startsWith("Mutation."))
    .map((field) => field.slice("Mutation.".length)),
);

export interface OperationGuardOptions {
  limits: RequestLimits;
  /** Writer keys may also read. */
  writerCanRead: boolean;
  /** Introspection and suggestions for admins only. */
  production: boolean;
}

/** Roles that may use an access level. Admin may do everything. */
export function roleMay(role: Role, access: Access, writerCanRead: boolean): boolean {
  if (role === "admin") return true;
  if (access === "read") return role === "reader" || writerCanRead;
  if (access === "write") return role === "writer";
  return false;
}

/**
 * The JSON bytes of answers whose lists were spliced (http/spliced-lists.ts; the lean path's
 * context `splice`), made by the size check and written by the lean path.
 */
export const serializedBodies = new WeakMap<object, Uint8Array[]>();

/** A request's spliced lists, as the size check sees them (http/spliced-lists.ts). */
interface Spliced {
  readonly recorded: boolean;
  serialize(result: ExecutionResult): Uint8Array[];
}

/** The answers' JSON text, made once by the size check and reused by the lean path. */
export const serializedResults = new WeakMap<object, string>();

/**
 * The JSON text of `result` when it is at most `maxBytes` long (MAX_RESPONSE_BYTES), else the
 * text's length. One event is often delivered to many subscribers: an answer within the limit is
 * serialised once (serializedResults).
 */
export function boundedText(result: ExecutionResult, maxBytes: number): string | number {
  const known = serializedResults.get(result);
  if (known !== undefined) return known;
  const body = JSON.stringify(result);
  if (body.length > maxBytes) return body.length;
  serializedResults.set(result, body);
  return body;
}

/**
 * The first list longer than MAX_LIST_ITEMS in a query's raw variables, found before graphql-js
 * coerces them: no query argument takes more than MAX_LIST_ITEMS items, and coercing a list of
 * 50,000 enum values would hold the event loop for every other caller. Iterative: variables may
 * nest deeply.
 */
function longList(
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): { path: string; items: number } | undefined {
  if (!variables) return undefined;
  // [value, variable, path below the variable]
  const stack: [unknown, string, string][] = Object.entries(variables).map(([name, value]) => [value, name, ""]);
  while (stack.length > 0) {
    const [value, variable, below] = stack.pop() as [unknown, string, string];
    if (Array.isArray(value)) {
      if (value.length > MAX_LIST_ITEMS)
        return { path: `${argumentPath(document, variable)}${below}`, items: value.length };
      value.forEach((item, i) => {
        if (typeof item === "object" && item !== null) stack.push([item, variable, `${below}[${i}]`]);
      });
    } else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (typeof item === "object" && item !== null) stack.push([item, variable, `${below}.${key}`]);
      }
    }
  }
  return undefined;
}

/** Where a variable is passed, as the resolvers name it (`filter`, `filter.mevStatus`); else its own name. */
function argumentPath(document: DocumentNode, variable: string): string {
  let found: string | undefined;
  const visitValue = (value: ValueNode, path: string): void => {
    if (found !== undefined) return;
    if (value.kind === Kind.VARIABLE) {
      if (value.name.value === variable) found = path;
    } else if (value.kind === Kind.OBJECT) {
      for (const field of value.fields) visitValue(field.value, `${path}.${field.name.value}`);
    } else if (value.kind === Kind.LIST) {
      for (const [i, item] of value.values.entries()) visitValue(item, `${path}[${i}]`);
    }
  };
  visit(document, { Argument: (node) => visitValue(node.value, node.name.value) });
  return found ?? variable;
}

/**
 * An operation of `type` whose every root selection is a field among `fields` (no fragment at
 * its root): which operations a worker takes, and which queries run compiled.
 */
export function onlyRootFields(
  operation: OperationDefinitionNode,
  type: "query" | "mutation" | "subscription",
  fields: ReadonlySet<string>,
): boolean {
  return (
    (operation.operation as string) === type &&
    operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && fields.has(s.name.value))
  );
}

/** Root fields of an operation, with those of fragments spread at its root. */
function rootFields(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.add(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet);
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const fragment = fragments.get(s.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return [...names];
}

const TYPE_OF: Record<string, string> = { query: "Query", mutation: "Mutation", subscription: "Subscription" };

/** A validation error at the limit, from the count in GraphQL Armor's message ("…, found N."). */
const armorRejection =
  (limit: string, max: number, what: string) =>
  (context: ValidationContext | null, error: Error): void => {
    const found = Number(/found (\d+)/.exec(error.message)?.[1] ?? max + 1);
    context?.reportError(new LimitError(limit, max, found, what));
  };

export function useOperationGuard(options: OperationGuardOptions): Plugin<{ caller?: Caller }> {
  const { limits, writerCanRead, production } = options;

  const parseWithTokenLimit = (source: Parameters<typeof parse>[0], parseOptions?: object) => {
    const parser = new MaxTokensParserWLexer(source, {
      ...parseOptions,
      n: limits.maxTokens,
      onReject: [
        () => {
          throw new LimitError(
            "MAX_TOKENS",
            limits.maxTokens,
            limits.maxTokens + 1,
            "The number of tokens in the query",
            {
              atLeast: true,
            },
          );
        },
      ],
    });
    try {
      return parser.parseDocument();
    } catch (error) {
      // graphql-js parses recursively: with a high MAX_TOKENS, deep nesting could overflow the stack.
      if (error instanceof RangeError) {
        throw clientError("LIMIT_EXCEEDED", "The query nests too deeply to parse; nest less, or lower MAX_TOKENS");
      }
      throw error;
    }
  };

  // Rules made once: Yoga caches validation results per document and per list of rule names.
  const rules: ValidationRule[] = [
    maxDepthRule({
      n: limits.maxDepth,
      propagateOnRejection: false,
      onReject: [armorRejection("MAX_DEPTH", limits.maxDepth, "The query's depth")],
    }),
    maxAliasesRule({
      n: limits.maxAliases,
      propagateOnRejection: false,
      onReject: [armorRejection("MAX_ALIASES", limits.maxAliases, "The number of aliases")],
    }),
    maxDirectivesRule({
      n: limits.maxDirectives,
      propagateOnRejection: false,
      onReject: [armorRejection("MAX_DIRECTIVES", limits.maxDirectives, "The number of directives")],
    }),
    function maxRootFields(context: ValidationContext) {
      return {
        OperationDefinition(operation: OperationDefinitionNode) {
          const count = rootFields(operation, context.getDocument()).filter((name) => name !== "__typename").length;
          if (count > limits.maxRootFields) {
            context.reportError(
              new LimitError("MAX_ROOT_FIELDS", limits.maxRootFields, count, "The number of root fields"),
            );
          }
        },
      };
    },
  ];
  // Present only for callers who get no suggestions, so that Yoga's validation cache (keyed by
  // rule names) keeps their masked errors apart from an admin's.
  const suggestionsHidden: ValidationRule = function suggestionsHidden() {
    return {};
  };
  const hideSuggestions = (errors: readonly Error[]) =>
    errors.map((error) =>
      error instanceof GraphQLError && /Did you mean/.test(error.message)
        ? new GraphQLError(error.message.replace(/\s*Did you mean .+\?$/, ""), {
            nodes: error.nodes ?? null,
            extensions: error.extensions,
          })
        : error,
    );

  /** Stage 6: role, then cost. */
  const refusal = (
    caller: Caller | undefined,
    document: DocumentNode,
    operationName: string | null | undefined,
    schema: Parameters<typeof operationCost>[0],
    variables: Record<string, unknown> | null | undefined,
  ): GraphQLError | undefined => {
    const operation = getOperationAST(document, operationName);
    if (!operation) return undefined; // execution reports it
    if (!caller) return clientError("UNAUTHENTICATED", "Authentication required");
    const type = TYPE_OF[operation.operation] as string;
    for (const field of rootFields(operation, document)) {
      if (field === "__typename") continue;
      const access: Access =
        field === "__schema" || field === "__type"
          ? production
            ? "admin"
            : "read"
          : (ROOT_FIELD_ACCESS[`${type}.${field}`] ?? "admin");
      if (!roleMay(caller.role, access, writerCanRead)) {
        const needs =
          access === "admin"
            ? "an admin key"
            : access === "write"
              ? "a writer or admin key"
              : writerCanRead
                ? "a reader, writer or admin key"
                : "a reader or admin key";
        return clientError(
          "FORBIDDEN",
          `The key ${caller.name} (role ${caller.role}) may not use ${field}: it needs ${needs}${
            field.startsWith("__") ? " in production" : ""
          }`,
        );
      }
    }
    // A mutation's size is bounded by MAX_RECORDS_PER_REQUEST and MAX_BODY_BYTES, and costing it
    // would coerce a bot's thousands of rows a second time.
    if (operation.operation === "mutation") return undefined;
    const long = longList(document, variables);
    if (long) return new BadInputError(long.path, `has ${long.items} items; at most ${MAX_LIST_ITEMS} are accepted`);
    const cost = operationCost(schema, document, operation, variables);
    if (cost > limits.maxCost) {
      return new LimitError("MAX_COST", limits.maxCost, cost, "The query's cost", {
        hint: "ask for fewer items (first), a shorter range, a larger bucket or fewer groupBy keys (docs/security.md, Query cost)",
      });
    }
    return undefined;
  };

  const refusalOf = (args: ExecutionArgs) =>
    refusal(
      (args.contextValue as { caller?: Caller } | undefined)?.caller,
      args.document,
      args.operationName,
      args.schema,
      args.variableValues,
    );

  /** Stage 7: the answer's JSON text, or RESPONSE_TOO_LARGE. */
  const bounded = (result: ExecutionResult, context?: unknown): ExecutionResult | undefined => {
    const splice = (context as { splice?: Spliced } | undefined)?.splice;
    let textOrLength: string | number;
    if (splice?.recorded && !result.errors?.length) {
      // Lists partly kept as text (the lean path): the size of the answer as it will be written.
      const body = splice.serialize(result);
      const length = body.reduce((sum, chunk) => sum + chunk.byteLength, 0);
      if (length <= limits.maxResponseBytes) {
        serializedBodies.set(result, body);
        return undefined;
      }
      textOrLength = length;
    } else textOrLength = boundedText(result, limits.maxResponseBytes);
    if (typeof textOrLength === "string") return undefined;
    return {
      errors: [
        new LimitError("MAX_RESPONSE_BYTES", limits.maxResponseBytes, textOrLength, "The answer's size (bytes)", {
          hint: "narrow the query (fewer fields, a smaller page, a shorter range)",
        }),
      ],
    };
  };

  return {
    onParse({ setParseFn }) {
      setParseFn(parseWithTokenLimit as typeof parse);
    },
    onValidate({ addValidationRule, context }) {
      for (const rule of rules) addValidationRule(rule);
      if (production && context.caller?.role !== "admin") {
        addValidationRule(suggestionsHidden);
        return ({ valid, result, setResult }) => {
          if (!valid) setResult(hideSuggestions(result));
        };
      }
      return undefined;
    },
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusalOf(args);
      if (error) {
        setResultAndStopExecution({ errors: [error] });
        return undefined;
      }
      // A mutation has run by now: its answer (ids, bounded by MAX_RECORDS_PER_REQUEST) is never
      // replaced, or a bot would retry rows that were accepted.
      if (getOperationAST(args.document, args.operationName)?.operation === "mutation") return undefined;
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return; // incremental delivery is not enabled
          const replaced = bounded(result as ExecutionResult, args.contextValue);
          if (replaced) setResult(replaced);
        },
      };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusalOf(args);
      if (error) {
        setResultAndStopExecution({ errors: [error] });
        return undefined;
      }
      return {
        onSubscribeResult() {
          return {
            onNext({ result, setResult }) {
              const replaced = bounded(result);
              if (replaced) setResult(replaced);
            },
          };
        },
      };
    },
  };
}
