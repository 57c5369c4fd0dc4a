// Timestamps are bigint microseconds since the Unix epoch everywhere inside the app: QuestDB's
// TIMESTAMP resolution. A JS Date would drop the last three digits.

export type Micros = bigint;

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Longest timestamp text read: `2026-01-31T12:00:00.123456789+14:00` is 35 characters. */
export const MAX_TIMESTAMP_LENGTH = 40;
/**
 * Largest UTC offset accepted, in minutes. RFC 3339 §5.6's grammar allows any hh 00–23 and mm
 * 00–59; the offsets in use (the tz database) run from −12:00 to +14:00, so anything beyond
 * ±14:00 is a typo that would silently shift the stored time.
 */
export const MAX_OFFSET_MINUTES = 14 * 60;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: the instants ISO text with 4-digit years can name. */
export const MIN_MICROS: Micros = -62_135_596_800_000_000n;
export const MAX_MICROS: Micros = 253_402_300_799_999_999n;

/**
 * Parses ISO-8601 / RFC 3339 with up to 6 fractional digits (more only if zeros); `requireZone`
 * rejects local times. Refuses impossible dates and times (Feb 30, month 13, hour 24, second 60),
 * offsets beyond ±14:00 or with minutes ≥ 60, and text longer than MAX_TIMESTAMP_LENGTH (checked
 * before the regex runs).
 */
export function parseIsoMicros(text: string, requireZone = true): Micros | { error: string } {
  const canonical = parseCanonicalUtc(text);
  if (canonical !== undefined) return canonical;
  if (text.length > MAX_TIMESTAMP_LENGTH) {
    return { error: `at most ${MAX_TIMESTAMP_LENGTH} characters, such as 2026-01-31T12:00:00.123456Z` };
  }
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
  const check = new Date(Date.UTC(2000, month - 1, day, Number(h), Number(mi), Number(s)));
  // Date.UTC reads years 0–99 as 1900–1999; set the year itself.
  check.setUTCFullYear(year, month - 1, day);
  const ms = check.getTime();
  if (
    Number.isNaN(ms) ||
    month < 1 ||
    month > 12 ||
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
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2));
    if (minutes > 59 || hours * 60 + minutes > MAX_OFFSET_MINUTES) {
      return { error: `the offset ${zone} is not a UTC offset: use -14:00 to +14:00, minutes 00 to 59` };
    }
    offsetMinutes = sign * (hours * 60 + minutes);
  }
  const micros = BigInt(ms) * 1000n + BigInt(frac.slice(0, 6).padEnd(6, "0")) - BigInt(offsetMinutes) * 60_000_000n;
  if (micros < MIN_MICROS || micros > MAX_MICROS) {
    return { error: "outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z" };
  }
  return micros;
}

/** The decimal number text[from, to) spells, or -1 when a character is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * What bots send nearly always, `2026-01-31T12:00:00.123456Z` (0 to 6 fractional digits, Z),
 * read without the regex, the Date object and five BigInt operations of the general parse: a
 * 1,000-trade batch reads 1,000 of them. Undefined for anything else (another form, an
 * impossible date, more digits, an instant beyond 2^53 µs), which the general parse reads or
 * refuses with its words.
 */
function parseCanonicalUtc(text: string): Micros | undefined {
  const length = text.length;
  if (length < 20 || length > 27 || text.charCodeAt(length - 1) !== 0x5a /* Z */) return undefined;
  if (text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":") return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  // A -1 (not digits) fails a lower bound: hour, minute and second are checked for it too.
  if (year < 1 || month < 1 || month > 12 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  if (second < 0 || second > 59) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day < 1 || day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  let micros = 0;
  if (length > 20) {
    // `.` and 1 to 6 digits before the Z.
    if (text[19] !== "." || length === 21) return undefined;
    const places = length - 21;
    const fraction = digits(text, 20, length - 1);
    if (fraction < 0) return undefined;
    micros = fraction * 10 ** (6 - places);
  }
  const total = (daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000_000 + micros;
  return Number.isSafeInteger(total) ? BigInt(total) : undefined;
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
  // The common form, read digit by digit: a month-long chart's bins bring tens of thousands of
  // timestamps, and the general parser (a regex, a Date, checks) held the event loop for them.
  if (text.length === 26 && text.charCodeAt(10) === 32 && text.charCodeAt(19) === 46) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 7);
    const day = digits(text, 8, 10);
    const hour = digits(text, 11, 13);
    const minute = digits(text, 14, 16);
    const second = digits(text, 17, 19);
    const micros = digits(text, 20, 26);
    if (
      year >= 1000 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= 31 &&
      hour >= 0 &&
      hour <= 23 &&
      minute >= 0 &&
      minute <= 59 &&
      second >= 0 &&
      second <= 59 &&
      micros >= 0 &&
      text.charCodeAt(4) === 45 &&
      text.charCodeAt(7) === 45 &&
      text.charCodeAt(13) === 58 &&
      text.charCodeAt(16) === 58
    ) {
      const ms = Date.UTC(year, month - 1, day, hour, minute, second);
      // Date.UTC rolls 31 February over into March: only a real date keeps its day.
      if (new Date(ms).getUTCDate() === day) return BigInt(ms) * 1000n + BigInt(micros);
    }
  }
  const parsed = parseIsoMicros(`${text}Z`);
  if (typeof parsed !== "bigint") throw new Error(`unexpected TIMESTAMP text from QuestDB: ${text}`);
  return parsed;
}

export function nowMicros(): Micros {
  return BigInt(Date.now()) * 1000n;
}

export const MICROS_PER_DAY = 86_400_000_000n;
