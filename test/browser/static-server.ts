/**
 * The browser tests' page server on 127.0.0.1: `/` is a page whose import map resolves
 * `@mg-sync/*` to the packages' built `dist/` (as an app's bundler would), `/device.js` the web
 * client it loads. Nothing else is served; paths never leave the folders they name.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGES = join(HERE, "..", "..", "packages");
/** The packages the page loads, by the folder under `packages/` that holds each. */
const BROWSER_PACKAGES = {
  "crdt-core": "@mg-sync/crdt-core",
  "sync-client": "@mg-sync/sync-client",
  "transport-ws": "@mg-sync/transport-ws",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mg-sync in the browser</title>
<script type="importmap">${JSON.stringify({
  imports: Object.fromEntries(
    Object.entries(BROWSER_PACKAGES).map(([folder, name]) => [name, `/modules/${folder}/index.js`]),
  ),
})}</script>
<script type="module" src="/device.js"></script>
</head>
<body>mg-sync browser device</body>
</html>
`;

/** `packages/<folder>/dist/<rest>` for `/modules/<folder>/<rest>`, or undefined. */
function moduleFile(path: string): string | undefined {
  const match = /^\/modules\/([a-z-]+)\/(.+\.js)$/.exec(path);
  if (match === null || !(match[1]! in BROWSER_PACKAGES)) return undefined;
  const dist = join(PACKAGES, match[1]!, "dist");
  const file = normalize(join(dist, match[2]!));
  return file.startsWith(dist + sep) ? file : undefined;
}

export interface StaticServer {
  readonly origin: string;
  close(): Promise<void>;
}

export async function startStaticServer(): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const send = (status: number, type: string, body: string | Buffer): void => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(body);
    };
    if (path === "/") return send(200, "text/html; charset=utf-8", PAGE);
    const file = path === "/device.js" ? join(HERE, "page", "device.js") : moduleFile(path);
    if (file === undefined) return send(404, "text/plain", "not found");
    readFile(file).then(
      (body) => send(200, "text/javascript; charset=utf-8", body),
      () => send(404, "text/plain", `not built: ${path} (run pnpm build)`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
