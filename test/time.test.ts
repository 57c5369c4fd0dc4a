import { describe, expect, it } from "vitest";
import { formatIsoMicros, parseIsoMicros, parsePgTimestamp } from "../src/time.ts";
import { rng } from "./support/dataset.ts";

/**
 * An independent reading of `YYYY-MM-DDTHH:MM:SS[.f]Z` through Date: its µs, or an error when
 * the date or time does not exist.
 */
function referenceMicros(text: string): bigint | "invalid" | "not canonical" {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) return "not canonical";
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ?? "";
  if (fraction.length > 6 && /[1-9]/.test(fraction.slice(6))) return "invalid";
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  const exists =
    y >= 1 &&
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  return exists ? BigInt(date.getTime()) * 1000n + BigInt(fraction.slice(0, 6).padEnd(6, "0")) : "invalid";
}

describe("microsecond timestamps", () => {
  it("parses ISO-8601 with up to six fractional digits and any offset into epoch microseconds", () => {
    expect(parseIsoMicros("1970-01-01T00:00:00.000001Z")).toBe(1n);
    expect(parseIsoMicros("2026-11-27T12:34:56.123456Z")).toBe(
      BigInt(Date.UTC(2026, 10, 27, 12, 34, 56)) * 1000n + 123456n,
    );
    expect(parseIsoMicros("2026-11-27T14:34:56.5+02:00")).toBe(parseIsoMicros("2026-11-27T12:34:56.500000Z"));
    expect(parseIsoMicros("2026-11-27T07:04:56-0530")).toBe(parseIsoMicros("2026-11-27T12:34:56Z"));
    expect(parseIsoMicros("2026-11-27T12:34:56.123456000Z")).toBe(parseIsoMicros("2026-11-27T12:34:56.123456Z"));
  });

  it("reads 50,000 random UTC timestamps (most in the form bots send, some impossible or mangled) as Date does", () => {
    const random = rng(20261130);
    const int = (below: number) => Math.floor(random() * below);
    const pad = (n: number, width: number) => String(n).padStart(width, "0");
    const MANGLE = ["x", " ", "+", "-", ":", ".", "z", "t", "٣", "", "00"];
    for (let i = 0; i < 50_000; i++) {
      // Centuries (leap or not, and year 0) and the ends of months are drawn often.
      const year = random() < 0.7 ? 1950 + int(150) : random() < 0.5 ? int(100) * 100 : 1 + int(9999);
      const month = random() < 0.9 ? 1 + int(12) : int(14);
      const day = random() < 0.6 ? 1 + int(28) : 27 + int(6);
      const hour = random() < 0.95 ? int(24) : int(26);
      const minute = random() < 0.95 ? int(60) : int(62);
      const second = random() < 0.95 ? int(60) : int(62);
      const digits = int(10);
      const fraction =
        digits === 0 ? "" : `.${Array.from({ length: digits }, () => (random() < 0.3 ? 0 : int(10))).join("")}`;
      let text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction}Z`;
      if (random() < 0.1) {
        const at = int(text.length);
        text = text.slice(0, at) + (MANGLE[int(MANGLE.length)] as string) + text.slice(at + 1);
      }
      const parsed = parseIsoMicros(text);
      const expected = referenceMicros(text);
      if (typeof expected === "bigint") expect(parsed, text).toBe(expected);
      else if (expected === "invalid") expect(parsed, text).toHaveProperty("error");
      // Other forms (an offset, a lower-case t or z, a space) are the general parse's, tested below.
      else if (typeof parsed === "bigint") expect(/[tz ]|[+-]\d\d:?\d\d$/.test(text), text).toBe(true);
    }
  });

  it("refuses what it cannot store exactly or read unambiguously", () => {
    expect(parseIsoMicros("2026-02-30T00:00:00Z")).toEqual({ error: "not a valid calendar date and time" });
    expect(parseIsoMicros("2026-01-01T24:00:00Z")).toEqual({ error: "not a valid calendar date and time" });
    expect(parseIsoMicros("yesterday")).toEqual({
      error: "expected an ISO-8601 timestamp such as 2026-01-31T12:00:00.123456Z",
    });
    expect(parseIsoMicros("2026-01-01T00:00:00.0000001Z")).toEqual({
      error: "at most microsecond precision (6 fractional digits) is stored",
    });
  });

  it("formats with six digits in UTC, also before 1970, and round-trips", () => {
    expect(formatIsoMicros(1n)).toBe("1970-01-01T00:00:00.000001Z");
    expect(formatIsoMicros(-1n)).toBe("1969-12-31T23:59:59.999999Z");
    // The last two lie beyond 2^53 µs from the epoch (formatted with bigint arithmetic).
    for (const text of [
      "2026-11-27T12:34:56.000000Z",
      "2000-02-29T23:59:59.999999Z",
      "1969-07-20T20:17:40.000123Z",
      "9999-12-31T23:59:59.999999Z",
      "2300-01-01T00:00:00.000010Z",
    ]) {
      const micros = parseIsoMicros(text);
      expect(typeof micros).toBe("bigint");
      expect(formatIsoMicros(micros as bigint)).toBe(text);
    }
  });

  it("reads QuestDB's PGWire TIMESTAMP text as UTC", () => {
    expect(parsePgTimestamp("2026-11-27 10:00:00.123457")).toBe(parseIsoMicros("2026-11-27T10:00:00.123457Z"));
  });

  it("reads QuestDB's TIMESTAMP text digit by digit exactly as the general parser does", () => {
    // Random instants from year 1000 to 9999, leap days and the last microsecond of a year included.
    const instants = [
      Date.UTC(2024, 1, 29, 23, 59, 59) * 1000 + 999_999,
      Date.UTC(1999, 11, 31, 23, 59, 59) * 1000 + 999_999,
      Date.UTC(1000, 0, 1) * 1000,
      ...Array.from({ length: 2_000 }, () =>
        Math.floor(-30_610_224_000_000_000 + Math.random() * 283_000_000_000_000_000),
      ),
    ];
    for (const instant of instants) {
      const iso = formatIsoMicros(BigInt(instant));
      const pg = iso.replace("T", " ").replace("Z", "").padEnd(26, "0");
      expect(pg, iso).toHaveLength(26);
      expect(parsePgTimestamp(pg), pg).toBe(parseIsoMicros(iso));
    }
    // Not a real date, or not digits: the general parser decides (and refuses).
    for (const text of [
      "2026-02-30 00:00:00.000000",
      "2026-13-01 00:00:00.000000",
      "2026-01-01 24:00:00.000000",
      "2026-0a-01 00:00:00.000000",
    ]) {
      expect(() => parsePgTimestamp(text), text).toThrow(/unexpected TIMESTAMP text/);
    }
  });
});
