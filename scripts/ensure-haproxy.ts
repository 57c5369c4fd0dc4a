// test/compose.test.ts and bench/scale.ts run a real HAProxy with deploy/haproxy.cfg (Debian's
// package; no container engine). This makes sure it is installed (scripts/apt-install.ts): when
// `haproxy` (or HAPROXY_PATH) is missing, it runs `apt-get install haproxy`, without the
// service's recommends (nothing runs it here: no systemd), only the binary. Used by the vitest
// global setup; `npm run ensure-haproxy` by hand.
import { ensureDebianPackage } from "./apt-install.ts";

export const haproxyPath = (): string => process.env.HAPROXY_PATH ?? "/usr/sbin/haproxy";

export const ensureHaproxy = (log: (line: string) => void = console.log): string =>
  ensureDebianPackage(
    {
      name: "haproxy",
      path: haproxyPath(),
      pathVariable: "HAPROXY_PATH",
      flags: ["--no-install-recommends"],
      duration: "under a minute",
    },
    log,
  );

if (import.meta.url === `file://${process.argv[1]}`) ensureHaproxy();
