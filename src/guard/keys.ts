// API keys and roles (issue 9, docs/security.md "Keys and roles"). Keys come from API_KEYS,
// ADMIN_API_KEYS (shorthand) and API_KEYS_FILE; only their SHA-256 digests are kept, and a
// presented key is compared with every configured digest in constant time (no early exit), so
// neither the key nor which entry matched leaks through timing. Names, never keys, are logged.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

export const ROLES = ["reader", "writer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Who sends a request: the key's configured name and role. */
export interface Caller {
  name: string;
  role: Role;
}

/** A configured key: its name, role and the SHA-256 digest of the secret. */
export interface ApiKey {
  name: string;
  role: Role;
  digest: Buffer;
}

/** The caller of a server that runs without keys (loopback only, see config.ts). */
export const OPEN_CALLER: Caller = Object.freeze({ name: "anonymous", role: "admin" });

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SECRET = /^[\x21-\x7e]{16,256}$/;
const HEX_DIGEST = /^sha256:([0-9a-f]{64})$/;

export const digestOf = (secret: string): Buffer => createHash("sha256").update(secret).digest();

/**
 * Parses the key settings. Problems name the variable (or file and line) and the entry's
 * position, never the secret.
 */
export function parseApiKeys(
  env: { apiKeys?: string | undefined; adminApiKeys?: string | undefined; apiKeysFile?: string | undefined },
  problems: string[],
): ApiKey[] {
  const keys: ApiKey[] = [];
  const add = (where: string, name: string, role: string, secretOrDigest: string, digestAllowed: boolean) => {
    if (!NAME.test(name)) {
      problems.push(`${where}: the name must be 1 to 64 letters, digits and _ . - (starting with a letter or digit)`);
      return;
    }
    if (!(ROLES as readonly string[]).includes(role)) {
      problems.push(`${where}: the role must be one of ${ROLES.join(", ")}`);
      return;
    }
    const hex = digestAllowed ? HEX_DIGEST.exec(secretOrDigest) : null;
    if (!hex && !SECRET.test(secretOrDigest)) {
      problems.push(
        `${where}: the key must be 16 to 256 printable characters without spaces${digestAllowed ? " (or sha256:<64 hex digits>)" : ""}`,
      );
      return;
    }
    const digest = hex ? Buffer.from(hex[1] as string, "hex") : digestOf(secretOrDigest);
    if (keys.some((k) => k.name === name)) problems.push(`${where}: the name ${name} is used twice`);
    else if (keys.some((k) => k.digest.equals(digest))) problems.push(`${where}: the same key is configured twice`);
    else keys.push({ name, role: role as Role, digest });
  };

  // API_KEYS: `name:role:key` entries; a key without a colon is a writer named key-N (the
  // earlier format). An entry with a colon is always read as name:role:key, so a mistyped role
  // is refused instead of becoming a writer's key.
  split(env.apiKeys).forEach((entry, i) => {
    const where = `API_KEYS: entry #${i + 1}`;
    const match = /^([^:]*):([^:]*):(.*)$/.exec(entry);
    if (match) add(where, match[1] as string, match[2] as string, match[3] as string, false);
    else if (entry.includes(":")) problems.push(`${where}: expected name:role:key, or a key without colons`);
    else add(where, `key-${i + 1}`, "writer", entry, false);
  });
  // ADMIN_API_KEYS: bare admin keys, named admin-N (shorthand kept from the earlier format).
  split(env.adminApiKeys).forEach((entry, i) => {
    add(`ADMIN_API_KEYS: entry #${i + 1}`, `admin-${i + 1}`, "admin", entry, false);
  });
  // API_KEYS_FILE: one `name role key` or `name role sha256:<hex>` per line; # comments.
  if (env.apiKeysFile !== undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(env.apiKeysFile, "utf8");
    } catch (error) {
      problems.push(
        `API_KEYS_FILE=${JSON.stringify(env.apiKeysFile)}: cannot be read (${(error as NodeJS.ErrnoException).code})`,
      );
    }
    text?.split(/\r?\n/).forEach((line, i) => {
      const trimmed = line.trim();
      if (trimmed === "" || trimmed.startsWith("#")) return;
      const where = `API_KEYS_FILE line ${i + 1}`;
      const fields = trimmed.split(/\s+/);
      if (fields.length !== 3) problems.push(`${where}: expected "name role key" (three fields separated by spaces)`);
      else add(where, fields[0] as string, fields[1] as string, fields[2] as string, true);
    });
  }
  return keys;
}

function split(list: string | undefined): string[] {
  return (list ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/** Why a presented key was refused. */
export type KeyRefusal = "missing" | "invalid";

export interface KeyRing {
  /** False when no key is configured: every caller is OPEN_CALLER. */
  readonly enabled: boolean;
  /** The caller a presented key (without "Bearer ") belongs to, or why it is refused. */
  identify(presented: string | undefined): Caller | KeyRefusal;
}

export function createKeyRing(keys: readonly ApiKey[]): KeyRing {
  const enabled = keys.length > 0;
  const callers = keys.map((key) => Object.freeze({ name: key.name, role: key.role }));
  return {
    enabled,
    identify(presented) {
      if (!enabled) return OPEN_CALLER;
      if (presented === undefined || presented === "") return "missing";
      // No configured key is longer than 256 characters.
      if (presented.length > 256) return "invalid";
      const candidate = digestOf(presented);
      let found = -1;
      for (let i = 0; i < keys.length; i++) {
        // Every digest is compared, whatever matched before.
        if (timingSafeEqual((keys[i] as ApiKey).digest, candidate)) found = i;
      }
      return found >= 0 ? (callers[found] as Caller) : "invalid";
    },
  };
}

/** The key in an `Authorization: Bearer <key>` header or connection parameter. */
export function bearerKey(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : header.trim() === "" ? undefined : header.trim();
}
