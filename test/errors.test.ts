// One error module: every code src/ uses is in ERROR_CODES, docs/errors.md lists exactly those
// codes with their HTTP status, and client errors are made by src/errors.ts.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { BadInputError, clientError, ERROR_CODES, InvalidInputError, LimitError } from "../src/errors.ts";

const root = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Codes a source text uses: `code: "X"`, `clientError("X"`, and `: ErrorCode = … "X" …;`. */
function codesIn(text: string): string[] {
  const codes: string[] = [];
  for (const m of text.matchAll(/\bcode\s*:\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/g)) codes.push(m[1] as string);
  for (const m of text.matchAll(/\bclientError\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/g)) codes.push(m[1] as string);
  for (const m of text.matchAll(/:\s*ErrorCode\s*(=[\s\S]*?);/g)) {
    // The literals a typed expression may evaluate to: after `=`, `?` or `:` (not the conditions).
    for (const literal of (m[1] as string).matchAll(/(?:(?<![=!<>])=(?!=)|[?:])\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/g)) {
      codes.push(literal[1] as string);
    }
  }
  return codes;
}

const files = sourceFiles(join(root, "src"));
const used = new Map<string, Set<string>>();
for (const file of files) {
  for (const code of codesIn(readFileSync(file, "utf8"))) {
    if (!used.has(code)) used.set(code, new Set());
    used.get(code)?.add(relative(root, file));
  }
}

describe("the error codes", () => {
  it("finds codes written in each form the scan knows", () => {
    expect(codesIn('throw new GraphQLError("x", { extensions: { code: "NOPE_1" } })')).toEqual(["NOPE_1"]);
    expect(codesIn('clientError("NOPE_2", "message")')).toEqual(["NOPE_2"]);
    expect(codesIn('const c: ErrorCode = limit === "MAX_X" ? "NOPE_3" : "NOPE_4";')).toEqual(["NOPE_3", "NOPE_4"]);
    // The scan sees the codes of the transports and of the writer, not only the module's own.
    for (const code of ["BAD_USER_INPUT", "QUEUE_FULL", "ROWS_REJECTED", "QUERY_TIMEOUT", "UNAUTHENTICATED"]) {
      expect([...used.keys()]).toContain(code);
    }
  });

  it("uses in src/ only codes listed in ERROR_CODES", () => {
    const unknown = [...used]
      .filter(([code]) => !(code in ERROR_CODES))
      .map(([code, where]) => `${code} in ${[...where]}`);
    expect(unknown).toEqual([]);
  });

  it("are listed in docs/errors.md exactly, each with its HTTP status", () => {
    const doc = readFileSync(join(root, "docs/errors.md"), "utf8");
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)`\s*\| (\d{3})[^|]*\|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
  });

  it("are made by src/errors.ts: no other file builds a GraphQLError with a code", () => {
    // src/http/input-errors.ts rebuilds graphql-js's own coercion errors with a code, and
    // src/guard/operation.ts its validation errors without field suggestions.
    const allowed = new Set(["src/errors.ts", "src/http/input-errors.ts", "src/guard/operation.ts"]);
    const offenders = files
      .map((file) => relative(root, file))
      .filter((file) => !allowed.has(file) && /new GraphQLError\(/.test(readFileSync(join(root, file), "utf8")));
    expect(offenders).toEqual([]);
  });
});

describe("the client errors", () => {
  it("carry their code, the field they name, and a non-200 status only where the code has one", () => {
    expect(new BadInputError("filter.strategy", "must be 1 to 64 characters long").toJSON()).toEqual({
      message: "filter.strategy: must be 1 to 64 characters long",
      extensions: { code: "BAD_USER_INPUT", field: "filter.strategy" },
    });
    expect(clientError("QUEUE_FULL", "retry later", { retryable: true }).extensions).toEqual({
      code: "QUEUE_FULL",
      retryable: true,
    });
    expect(clientError("UNAUTHENTICATED", "send a key").extensions).toEqual({
      code: "UNAUTHENTICATED",
      http: { status: 401 },
    });
    expect(new LimitError("MAX_BODY_BYTES", 10, 11, "The body").extensions).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      limit: "MAX_BODY_BYTES",
      max: 10,
      actual: 11,
      http: { status: 413 },
    });
    const invalid = new InvalidInputError(
      "inputs",
      [{ index: 3, field: "baseAmount", reason: "must be at most 1000000000000000" }],
      true,
    );
    expect(invalid.message).toBe(
      "Invalid input, nothing was recorded: inputs[3].baseAmount must be at most 1000000000000000",
    );
    expect(invalid.extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "inputs[3].baseAmount",
      problems: [
        { index: 3, field: "baseAmount", reason: "must be at most 1000000000000000", path: "inputs[3].baseAmount" },
      ],
    });
  });
});
