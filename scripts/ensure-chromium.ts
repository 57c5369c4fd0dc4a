// The browser tests drive Debian's chromium (playwright-core, no downloaded browser). This makes
// sure it is installed, so that `npm ci && npm test` needs nothing installed by hand: when
// /usr/bin/chromium (or CHROMIUM_PATH) is missing, it runs `apt-get install chromium` (root, or
// sudo without a password). Used by the vitest global setup; `npm run ensure-chromium` by hand.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function ensureChromium(log: (line: string) => void = console.log): string {
  const path = chromiumPath();
  if (existsSync(path)) return path;
  const root = process.getuid?.() === 0;
  const run = (args: string[]) =>
    execFileSync(root ? (args[0] as string) : "sudo", root ? args.slice(1) : ["-n", ...args], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  log(`${path} is missing: installing Debian's chromium with apt-get (once; about a minute)…`);
  try {
    run(["apt-get", "update", "-qq"]);
    run(["apt-get", "install", "-y", "-qq", "chromium"]);
  } catch (error) {
    throw new Error(
      `Could not install chromium (${(error as Error).message.split("\n")[0]}); install it with \`apt-get install chromium\` or set CHROMIUM_PATH`,
    );
  }
  if (!existsSync(path)) throw new Error(`apt-get installed chromium, but ${path} does not exist; set CHROMIUM_PATH`);
  log(`chromium installed at ${path}`);
  return path;
}

if (import.meta.url === `file://${process.argv[1]}`) ensureChromium();
