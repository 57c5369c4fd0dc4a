// The browser tests drive Debian's chromium (playwright-core, no downloaded browser). This makes
// sure it is installed (scripts/apt-install.ts): when /usr/bin/chromium (or CHROMIUM_PATH) is
// missing, it runs `apt-get install chromium`. Used by the vitest global setup; `npm run
// ensure-chromium` by hand.
import { ensureDebianPackage } from "./apt-install.ts";

export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const ensureChromium = (log: (line: string) => void = console.log): string =>
  ensureDebianPackage(
    { name: "chromium", path: chromiumPath(), pathVariable: "CHROMIUM_PATH", duration: "about a minute" },
    log,
  );

if (import.meta.url === `file://${process.argv[1]}`) ensureChromium();
