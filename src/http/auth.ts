// Authentication itself is a stage of the request pipeline (src/guard/admission.ts); resolvers
// that change configuration check the role again here, so that a change to the role table
// (src/guard/operation.ts) cannot open them by accident.
import { clientError } from "../errors.ts";
import type { Caller } from "../guard/keys.ts";

export type { Caller, Role } from "../guard/keys.ts";

/** For admin-only fields. */
export function requireAdmin(caller: Caller | undefined): void {
  if (caller?.role !== "admin") {
    throw clientError(
      "FORBIDDEN",
      "This needs an admin API key (role admin in API_KEYS or API_KEYS_FILE, or ADMIN_API_KEYS)",
    );
  }
}
