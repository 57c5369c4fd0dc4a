// The API's web pages (issue 14, points 1 and 6): `/` leads to the dashboard, GraphiQL and the
// docs; every page and file is served from the project without a key (the GraphQL requests they
// make need one), with a Content-Security-Policy on HTML; anything else still passes the pipeline.
import { describe, expect, it } from "vitest";
import { startTestApp } from "./support/app.ts";

const KEY = "front-door-reader-key-0123";

describe("the front door and the static pages", () => {
  it("links every door to a page this server answers, without a key, while GraphQL needs one", async () => {
    const t = await startTestApp("frontdoor", { API_KEYS: `reader:reader:${KEY}` });
    const home = await fetch(`${t.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(home.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await home.text();
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1] as string);
    expect(links).toEqual([
      "/favicon.svg",
      "/front-door.css",
      "/dashboard",
      "/graphql",
      "/docs/queries.md",
      "/docs/security.md",
      "/docs/errors.md",
      "/docs/benchmarks.md",
      "/health",
      "/ready",
      "/metrics",
    ]);
    for (const link of links) {
      // A browser asks for pages with Accept: text/html (GraphiQL is served on that).
      const response = await fetch(`${t.url}${link}`, { headers: { accept: "text/html,*/*" } });
      expect([link, response.status]).toEqual([link, 200]);
    }
    const docs = await fetch(`${t.url}/docs/errors.md`);
    expect(docs.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    // The dashboard's files, and whether it must ask for a key.
    for (const [path, type] of [
      ["/dashboard", "text/html; charset=utf-8"],
      ["/dashboard/", "text/html; charset=utf-8"],
      ["/dashboard/dashboard.js", "text/javascript; charset=utf-8"],
      ["/vendor/uplot/uPlot.iife.min.js", "text/javascript; charset=utf-8"],
      ["/vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"],
    ] as const) {
      const response = await fetch(`${t.url}${path}`);
      expect([path, response.status, response.headers.get("content-type")]).toEqual([path, 200, type]);
    }
    expect(await (await fetch(`${t.url}/dashboard/server.json`)).json()).toEqual({ keysRequired: true });
    const head = await fetch(`${t.url}/dashboard`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
    // GraphQL itself still needs the key; an unknown path is no page (refused before the key's check passes).
    const query = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ viewer { name } }" }),
    });
    expect(query.status).toBe(401);
    expect((await fetch(`${t.url}/dashboard/nope.js`)).status).toBe(403);
    const withKey = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query: "{ viewer { name role } }" }),
    });
    expect(await withKey.json()).toEqual({ data: { viewer: { name: "reader", role: "reader" } } });
  });
});
