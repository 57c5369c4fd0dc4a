// test/compose.test.ts and bench/scale.ts run a real HAProxy with deploy/haproxy.cfg (Debian's
// package; no container engine). This makes sure it is installed, so that `npm ci && npm test`
// needs nothing installed by hand: when `haproxy` (or HAPROXY_PATH) is missing, it runs
// `apt-get install haproxy` (root, or sudo without a password), as scripts/ensure-chromium.ts
// does for the browser tests. `npm run ensure-haproxy` by hand.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const haproxyPath = (): string => process.env.HAPROXY_PATH ?? "/usr/sbin/haproxy";

export function ensureHaproxy(log: (line: string) => void = console.log): string {
  const path = haproxyPath();
  if (existsSync(path)) return path;
  const root = process.getuid?.() === 0;
  const run = (args: string[]) =>
    execFileSync(root ? (args[0] as string) : "sudo", root ? args.slice(1) : ["-n", ...args], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  log(`${path} is missing: installing Debian's haproxy with apt-get (once; under a minute)…`);
  try {
    run(["apt-get", "update", "-qq"]);
    // The package's service is not wanted (nothing runs it here: no systemd), only the binary.
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "haproxy"]);
  } catch (error) {
    throw new Error(
      `Could not install haproxy (${(error as Error).message.split("\n")[0]}); install it with \`apt-get install haproxy\` or set HAPROXY_PATH`,
    );
  }
  if (!existsSync(path)) throw new Error(`apt-get installed haproxy, but ${path} does not exist; set HAPROXY_PATH`);
  log(`haproxy installed at ${path}`);
  return path;
}

if (import.meta.url === `file://${process.argv[1]}`) ensureHaproxy();
