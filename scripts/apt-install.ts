// What the tests need from Debian (chromium, haproxy), installed when missing so that `npm ci &&
// npm test` needs nothing installed by hand: `apt-get install` as root, or through sudo without a
// password. Installs are serialised with flock(1) on one lock file: the two test projects' global
// setups may run at once, and two apt-get at once fail on dpkg's lock.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOCK = join(tmpdir(), "trading-analytics-apt.lock");

export interface DebianPackage {
  /** The package's name, for apt-get. */
  name: string;
  /** The binary that says it is installed. */
  path: string;
  /** The variable that points at another binary instead. */
  pathVariable: string;
  /** apt-get install's flags besides -y -qq (e.g. --no-install-recommends). */
  flags?: string[];
  /** What the wait is, for the log line ("about a minute"). */
  duration: string;
}

export function ensureDebianPackage(pkg: DebianPackage, log: (line: string) => void = console.log): string {
  if (existsSync(pkg.path)) return pkg.path;
  const root = process.getuid?.() === 0;
  const run = (args: string[]) => {
    const command = ["flock", LOCK, ...args];
    execFileSync(root ? "flock" : "sudo", root ? command.slice(1) : ["-n", ...command], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  };
  log(`${pkg.path} is missing: installing Debian's ${pkg.name} with apt-get (once; ${pkg.duration})…`);
  try {
    // Another setup may have installed it while this one waited for the lock.
    if (!existsSync(pkg.path)) {
      run(["apt-get", "update", "-qq"]);
      run(["apt-get", "install", "-y", "-qq", ...(pkg.flags ?? []), pkg.name]);
    }
  } catch (error) {
    throw new Error(
      `Could not install ${pkg.name} (${(error as Error).message.split("\n")[0]}); install it with \`apt-get install ${pkg.name}\` or set ${pkg.pathVariable}`,
    );
  }
  if (!existsSync(pkg.path)) {
    throw new Error(`apt-get installed ${pkg.name}, but ${pkg.path} does not exist; set ${pkg.pathVariable}`);
  }
  log(`${pkg.name} installed at ${pkg.path}`);
  return pkg.path;
}
