// Headless Debian chromium for the browser tests (playwright-core drives it; no downloaded browser).
// test/support/global-setup.ts installs it when missing (scripts/ensure-chromium.ts).
import { type Browser, chromium } from "playwright-core";
import { chromiumPath } from "../../scripts/ensure-chromium.ts";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
