import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";

const BOT_KEY = "bot-key-0123456789abcdef";
const ADMIN_KEY = "admin-key-0123456789abcdef";
const RECORD = "mutation($input: TradeInput!) { recordTrade(input: $input) { accepted } }";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("auth", {
    API_KEYS: BOT_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    ALLOWED_ORIGINS: "http://dashboard.example",
  });
});

async function post(headers: Record<string, string>) {
  const r = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: RECORD, variables: { input: makeTrade(`auth-${Math.random()}`) } }),
  });
  return { status: r.status, body: await r.json() };
}

describe("authentication (API_KEYS set)", () => {
  it("refuses a request without a key with 401, on both HTTP paths, naming what to send", async () => {
    for (const headers of [{}, { origin: "http://dashboard.example" }]) {
      const r = await post(headers);
      expect(r.status).toBe(401);
      expect(r.body.errors[0].message).toBe(
        "Authentication required: send the header `Authorization: Bearer <API key>` (over WebSockets, the connection parameter `authorization`)",
      );
      expect(r.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    }
  });

  it("refuses a wrong key without echoing it", async () => {
    const r = await post({ authorization: "Bearer not-the-key-0000000000" });
    expect(r.status).toBe(401);
    expect(r.body.errors[0].message).toBe("Authentication failed: the API key is not valid");
    expect(JSON.stringify(r.body)).not.toContain("not-the-key");
  });

  it("accepts a client key and an admin key", async () => {
    for (const key of [BOT_KEY, ADMIN_KEY]) {
      const r = await post({ authorization: `Bearer ${key}` });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ data: { recordTrade: { accepted: 1 } } });
    }
  });

  it("leaves /health and /ready open for probes", async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
  });
});
