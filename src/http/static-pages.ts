// The API's own web pages (issue 14): the front door at `/`, the dashboard at `/dashboard`, the
// vendored uPlot under `/vendor/`, and the Markdown docs under `/docs/`. Everything is read from
// the project's `public/` and `docs/` folders once, when the app is built (about 100 KB), and
// served from memory: no CDN, nothing fetched at run time, so the pages work offline.
//
// These paths run no GraphQL and need no key (like GraphiQL's page): the HTTP entry serves them
// as open paths, after the Host check. Keys are typed into the page and kept in the browser's
// sessionStorage; the page's own requests pass the whole pipeline.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import type { Plugin } from "graphql-yoga";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  // Plain text: every browser shows it (text/markdown is downloaded by some).
  ".md": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
};

// Scripts and styles only from this server; connections (fetch, WebSockets) only to it. uPlot sets
// element styles from script, which needs no 'unsafe-inline'; the pages carry no inline script.
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface StaticPagesOptions {
  /** Folder served at `/` (index.html at `/`, `<dir>/index.html` at `/<dir>`). */
  publicDir: string;
  /** Folder of Markdown files served at `/docs/<name>.md`. Default none. */
  docsDir?: string;
  /** Small JSON documents made by the server, by path (what a page needs to know first). */
  json?: Record<string, unknown>;
}

interface Page {
  type: string;
  body: Uint8Array<ArrayBuffer>;
}

export interface StaticPages {
  /** Every path served, for the HTTP entry's list of open paths. */
  readonly paths: readonly string[];
  get(path: string): Page | undefined;
}

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...filesUnder(path));
    else found.push(path);
  }
  return found;
}

/** Reads the pages into memory. */
export function createStaticPages(options: StaticPagesOptions): StaticPages {
  const pages = new Map<string, Page>();
  const add = (url: string, file: string) => {
    const type = TYPES[extname(file)];
    if (type) pages.set(url, { type, body: new Uint8Array(readFileSync(file)) });
  };
  for (const file of filesUnder(options.publicDir)) {
    const url = `/${relative(options.publicDir, file).split(sep).join("/")}`;
    add(url, file);
    // A folder's index.html is its page: /dashboard and /dashboard/ (and /).
    if (url.endsWith("/index.html")) {
      add(url.slice(0, -"index.html".length), file);
      if (url !== "/index.html") add(url.slice(0, -"/index.html".length), file);
    }
  }
  if (options.docsDir) {
    for (const file of filesUnder(options.docsDir)) {
      if (extname(file) === ".md" || extname(file) === ".png") {
        add(`/docs/${relative(options.docsDir, file).split(sep).join("/")}`, file);
      }
    }
  }
  for (const [path, value] of Object.entries(options.json ?? {})) {
    pages.set(path, { type: "application/json; charset=utf-8", body: new TextEncoder().encode(JSON.stringify(value)) });
  }
  return { paths: [...pages.keys()], get: (path) => pages.get(path) };
}

/** Serves the pages on GET and HEAD (Yoga plugin; runs before Yoga's own routes). */
export function useStaticPages(pages: StaticPages): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== "GET" && request.method !== "HEAD") return;
      const page = pages.get(url.pathname);
      if (!page) return;
      const headers: Record<string, string> = {
        "content-type": page.type,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
      };
      if (page.type.startsWith("text/html")) headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
      endResponse(new fetchAPI.Response(request.method === "HEAD" ? null : page.body, { headers }));
    },
  };
}
