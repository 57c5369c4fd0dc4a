// Timestamps are bigint microseconds since the Unix epoch everywhere inside the app: QuestDB's
// TIMESTAMP resolution. A JS Date would drop the last three digits.

export type Micros = bigint;

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Parses ISO-8601 with up to 6 fractional digits; `requireZone` rejects local times. */
export function parseIsoMicros(text: string, requireZone = true): Micros | { error: string } {
  const m = ISO.exec(text);
  if (!m) return { error: "expected an ISO-8601 timestamp such as 2026-01-31T12:00:00.123456Z" };
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  if (zone === undefined && requireZone) {
    return { error: "the timestamp needs a time zone: end it with Z or an offset such as +02:00" };
  }
  if (frac.length > 6 && /[1-9]/.test(frac.slice(6))) {
    return { error: "at most microsecond precision (6 fractional digits) is stored" };
  }
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const ms = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    Number.isNaN(ms) ||
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return { error: "not a valid calendar date and time" };
  }
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  const micros = BigInt(ms) * 1000n + BigInt(frac.slice(0, 6).padEnd(6, "0"));
  return micros - BigInt(offsetMinutes) * 60_000_000n;
}

/** `2026-01-31T12:00:00.123456Z`: always six fractional digits, always UTC. */
export function formatIsoMicros(micros: Micros): string {
  let ms: number;
  let rest: number;
  const n = Number(micros);
  if (Number.isSafeInteger(n)) {
    // Exact in doubles (up to year 2255), and much cheaper than bigint division.
    ms = Math.floor(n / 1000);
    rest = n - ms * 1000;
  } else {
    let big = micros / 1000n;
    let bigRest = micros % 1000n;
    if (bigRest < 0n) {
      bigRest += 1000n;
      big -= 1n;
    }
    ms = Number(big);
    rest = Number(bigRest);
  }
  const iso = new Date(ms).toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  return `${iso.slice(0, 23)}${rest < 10 ? "00" : rest < 100 ? "0" : ""}${rest}Z`;
}

/** QuestDB's PGWire text form of TIMESTAMP (OID 1114) is UTC: `2026-01-31 12:00:00.123456`. */
export function parsePgTimestamp(text: string): Micros {
  const parsed = parseIsoMicros(`${text}Z`);
  if (typeof parsed !== "bigint") throw new Error(`unexpected TIMESTAMP text from QuestDB: ${text}`);
  return parsed;
}

export function nowMicros(): Micros {
  return BigInt(Date.now()) * 1000n;
}

export const MICROS_PER_DAY = 86_400_000_000n;
