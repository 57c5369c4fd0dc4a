// Statistics answers executed by a compiled query (graphql-jit) instead of graphql-js's
// interpreter (issue 13). A month of hourly buckets by pair is 4,320 rows of 17 fields: graphql-js
// resolves, checks and completes each of those ~85,000 values one by one through generic code,
// about as long as the statements and the merge together took (bench:query). graphql-jit
// turns an operation into one JavaScript function for its selection: the same resolvers, scalars'
// serialize, null checks and errors with their paths, 2–3 times faster on such lists.
//
// Only where it pays and its behaviour is the one we test: a query whose root fields are all
// statistics fields (STATISTICS_ROOT_FIELDS), once its document has been executed COMPILE_AFTER
// times (a document seen once, a caller's typo or a stream of distinct documents, never pays the
// compilation), and whose document has at most MAX_COMPILED_FIELDS fields; at most MAX_COMPILED
// compiled documents are kept. Variables are checked by graphql-js first: an operation whose variables do not
// coerce runs through Yoga's own executor, so its errors (and their HTTP status) are unchanged.
//
// The record mutations too (`mutations`, WRITE_MUTATIONS), for their variables: graphql-js
// coerces a 1,000-trade recordTrades' list field by field in ~17 ms (and Yoga's executor first
// copies it, ~5 ms); the compiled operation's own variable parser does it in ~2 ms. So a
// mutation's variables are parsed by the compiled operation alone, and when it finds them
// invalid (it answers without `data`, having run nothing) the operation runs through Yoga's
// executor, whose errors are the ones clients see. test/compiled-mutations.test.ts checks that
// whatever the compiled parser accepts, graphql-js accepts with the same values.
// Subscriptions, introspection and every other operation keep graphql-js.
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  Kind,
  locatedError,
  type OperationDefinitionNode,
  type SelectionNode,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import { isPromise, makeExecute, type Plugin } from "graphql-yoga";
import { LRUCache } from "lru-cache";
import { onlyRootFields } from "../guard/operation.ts";

/** Executions of a document through graphql-js before it is compiled. */
export const COMPILE_AFTER = 2;
/**
 * Largest document compiled, in field nodes (fragments counted once): compiling costs ~0.1 ms and
 * ~1.5 KB per field node (a tradeStats of every field, ~60 nodes: 5 ms, 84 KB), synchronously.
 * Dashboards' documents are far below; a bigger one keeps graphql-js.
 */
export const MAX_COMPILED_FIELDS = 250;
/** Compiled documents kept (least recently used dropped): at most ~MAX_COMPILED × 400 KB. */
export const MAX_COMPILED = 64;

let compiledTotal = 0;
/** Operations compiled by this thread since it started (every plugin instance). */
export const compiledOperations = (): number => compiledTotal;

/**
 * The field nodes an error's path points at, as graphql-js collects them: every field of that
 * response name in the selection (fragments expanded, in document order), level by level.
 */
function fieldNodesAt(
  operation: OperationDefinitionNode,
  document: DocumentNode,
  path: readonly (string | number)[],
): FieldNode[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const collect = (selections: readonly SelectionNode[], name: string, into: FieldNode[], seen: Set<string>) => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) {
        if ((selection.alias ?? selection.name).value === name) into.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet.selections, name, into, seen);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet.selections, name, into, seen);
      }
    }
  };
  let nodes: FieldNode[] = [];
  let selections: readonly SelectionNode[] = operation.selectionSet.selections;
  for (const segment of path) {
    if (typeof segment === "number") continue;
    nodes = [];
    collect(selections, segment, nodes, new Set());
    selections = nodes.flatMap((node) => node.selectionSet?.selections ?? []);
  }
  return nodes;
}

/**
 * A compiled result shaped as graphql-js shapes it: `errors` before `data`, and each error made
 * from the field nodes of its path (graphql-jit's errors carry locations but no nodes, and Yoga's
 * masking rebuilds an error from its nodes: the locations would be lost).
 */
function asGraphqlJs(result: ExecutionResult, operation: OperationDefinitionNode, document: DocumentNode) {
  if (!result.errors || result.errors.length === 0) return { data: result.data };
  const errors = result.errors.map((error) =>
    !error.path
      ? error
      : // As graphql-js locates what a resolver threw. graphql-jit's own errors (a null in a
        // non-null field) have no original: graphql-js's are plain Errors, which Yoga masks.
        locatedError(
          error.originalError ?? new Error(error.message),
          fieldNodesAt(operation, document, error.path),
          error.path,
        ),
  );
  return { errors, data: result.data };
}

export interface CompiledStatisticsOptions {
  /** Root fields whose queries are compiled (STATISTICS_ROOT_FIELDS). */
  fields: ReadonlySet<string>;
  /** Root fields whose mutations are compiled, their variables parsed by the compiled operation (WRITE_MUTATIONS). Default none. */
  mutations?: ReadonlySet<string>;
  /** Default COMPILE_AFTER. */
  compileAfter?: number;
  /** Default MAX_COMPILED_FIELDS. */
  maxFields?: number;
  /** Default MAX_COMPILED. */
  maxCompiled?: number;
  /** Called once for each compilation (tests, metrics). */
  onCompile?: (operationName: string | undefined) => void;
}

/** Field nodes in a document (operations and fragments), counted up to `limit` + 1. */
function fieldCount(document: DocumentNode, limit: number): number {
  let count = 0;
  const stack: (readonly SelectionNode[])[] = document.definitions.flatMap((d) =>
    d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION ? [d.selectionSet.selections] : [],
  );
  while (stack.length > 0 && count <= limit) {
    for (const selection of stack.pop() ?? []) {
      if (selection.kind === Kind.FIELD) count++;
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet)
        stack.push(selection.selectionSet.selections);
    }
  }
  return count;
}

export function useCompiledStatistics(options: CompiledStatisticsOptions): Plugin & { held(): number } {
  const { fields, mutations, onCompile } = options;
  const compileAfter = options.compileAfter ?? COMPILE_AFTER;
  const maxFields = options.maxFields ?? MAX_COMPILED_FIELDS;
  /** Executions per document and operation (small; as long as the parse cache keeps the document). */
  const uses = new WeakMap<DocumentNode, Map<string, number>>();
  /** Compiled operations (a compiled function is tens to hundreds of KB): the most recently used. */
  const compiled = new LRUCache<DocumentNode, Map<string, CompiledQuery | null>>({
    max: options.maxCompiled ?? MAX_COMPILED,
  });

  /** The compiled operation; undefined while graphql-js runs it; null: never compiled. */
  const compiledOf = (document: DocumentNode, operationName: string | undefined, schema: GraphQLSchema) => {
    const key = operationName ?? "";
    const known = compiled.get(document)?.get(key);
    if (known !== undefined) return known;
    let counts = uses.get(document);
    if (!counts) {
      counts = new Map();
      uses.set(document, counts);
    }
    const seen = (counts.get(key) ?? 0) + 1;
    counts.set(key, seen);
    if (seen <= compileAfter) return undefined;
    let result: CompiledQuery | null = null;
    if (fieldCount(document, maxFields) <= maxFields) {
      let made: CompiledQuery | ExecutionResult | undefined;
      try {
        made = compileQuery(schema, document, operationName);
      } catch {
        // A construct the compiler does not handle: graphql-js runs the document, as before.
      }
      if (made && isCompiledQuery(made)) {
        result = made;
        compiledTotal++;
        onCompile?.(operationName);
      }
    }
    const byName = compiled.get(document) ?? new Map<string, CompiledQuery | null>();
    byName.set(key, result);
    compiled.set(document, byName);
    return result;
  };

  /**
   * The compiled answer to `operation` (the one onExecute found in args), or `fallback`'s (Yoga's
   * executor) where the compiled one does not apply.
   */
  const run = (
    args: ExecutionArgs,
    operation: OperationDefinitionNode,
    fallback: (args: ExecutionArgs) => unknown,
  ): unknown => {
    const query = compiledOf(args.document, args.operationName ?? undefined, args.schema);
    if (!query) return fallback(args);
    if (operation.operation === "query") {
      const coerced = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {}, {
        maxErrors: 50,
      });
      if (coerced.errors) return fallback(args);
    }
    const result = query.query(args.rootValue, args.contextValue, args.variableValues ?? {});
    // A result without data: the compiled parser refused the variables and nothing ran.
    if (!isPromise(result) && !("data" in result)) return fallback(args);
    return isPromise(result)
      ? result.then((r) => asGraphqlJs(r, operation, args.document))
      : asGraphqlJs(result, operation, args.document);
  };

  return {
    held: () => compiled.size,
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      if (
        !operation ||
        !(
          onlyRootFields(operation, "query", fields) ||
          (mutations !== undefined && onlyRootFields(operation, "mutation", mutations))
        )
      ) {
        return;
      }
      const fallback = (a: ExecutionArgs) => executeFn(a);
      setExecuteFn(makeExecute((a: ExecutionArgs) => run(a, operation, fallback) as ReturnType<typeof executeFn>));
    },
  };
}
