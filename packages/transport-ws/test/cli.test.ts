import { afterEach, describe, expect, it } from "vitest";
import { CLOSE_TOKEN_REVOKED } from "../src/index.js";
import { type CliIo, runCli, verifyToken, WS_HUB_DEFAULTS, type WsHub } from "../src/server/index.js";
import { RawClient, SECRET } from "./support.js";

const running: WsHub[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((hub) => hub.close()));
});

function io(env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    },
  };
  return {
    cli,
    out,
    err,
    logs: () =>
      out
        .join("")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function serve(args: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const streams = io(env, files);
  const result = await runCli(["serve", "--port", "0", ...args], streams.cli);
  if (result.hub !== undefined) running.push(result.hub);
  return { ...result, ...streams };
}

describe("mg-sync-hub", () => {
  it("--help documents every flag with its default and environment variable", async () => {
    const { cli, out } = io();
    expect((await runCli(["--help"], cli)).exitCode).toBe(0);
    const help = out.join("");
    for (const key of Object.keys(WS_HUB_DEFAULTS)) {
      const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      expect(help).toContain(`--${flag} <value>`);
      expect(help).toContain(`MG_SYNC_HUB_${flag.replace(/-/g, "_").toUpperCase()}`);
      expect(help).toContain(`default ${WS_HUB_DEFAULTS[key as keyof typeof WS_HUB_DEFAULTS]}`);
    }
    for (const flag of [
      "--port",
      "--host",
      "--secret-file",
      "--insecure",
      "--revocations-file",
      "--log-level",
      "--user",
      "--ttl",
      "--grant",
    ])
      expect(help).toContain(flag);
    expect(help).toContain("MG_SYNC_HUB_SECRET");
  });

  it("refuses to serve without a secret unless --insecure, which it logs loudly", async () => {
    const refused = await serve([]);
    expect(refused.exitCode).toBe(2);
    expect(refused.err.join("")).toMatch(/no secret.*--insecure/s);
    const insecure = await serve(["--insecure"]);
    expect(insecure.hub).toBeDefined();
    expect(insecure.logs().some((l) => l.level === "warn" && l.event === "insecure")).toBe(true);
    expect(insecure.logs().find((l) => l.event === "listening")).toMatchObject({
      host: "127.0.0.1",
      path: "/v1",
    });
  });

  it("rejects unknown flags and bad values with exit code 2", async () => {
    expect((await serve(["--insecure", "--bogus"])).exitCode).toBe(2);
    expect((await serve(["--insecure", "--max-message-bytes", "lots"])).exitCode).toBe(2);
    expect((await serve(["--insecure", "--log-level", "chatty"])).exitCode).toBe(2);
    const { cli, err } = io();
    expect((await runCli(["frobnicate"], cli)).exitCode).toBe(2);
    expect(err.join("")).toMatch(/unknown command/);
  });

  it("mints tokens the hub accepts, reads flags from the environment, serves /healthz and /metrics", async () => {
    const env = { MG_SYNC_HUB_SECRET: SECRET, MG_SYNC_HUB_MAX_MESSAGE_BYTES: "2048" };
    const minted = io(env);
    expect(
      (await runCli(["token", "--user", "alice", "--ttl", "1h", "--grant", "platform.*=read"], minted.cli))
        .exitCode,
    ).toBe(0);
    const token = minted.out.join("").trim();
    const verified = verifyToken(SECRET, token, Date.now());
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.value.exp - verified.value.iat).toBe(3600);
    expect(verified.value.grants.channelPatterns).toMatchObject({
      "platform.*": ["read"],
      "global.*": ["read"],
    });
    expect(JSON.parse(minted.err.join(""))).toMatchObject({ tokenId: verified.value.tid, userId: "alice" });

    const { hub } = await serve([], env);
    const client = new RawClient(hub!.url);
    const hello = await client.hello("tv", token);
    expect(hello).toMatchObject({ ok: true, result: { userId: "alice", maxMessageBytes: 2048 } });
    expect(
      await client.request({ op: "publish", channel: "user.alice.sync", payload: "x".repeat(3000) }),
    ).toMatchObject({
      ok: false,
      error: { code: "payload_too_large" },
    });
    const base = hub!.url.replace("ws://", "http://").replace("/v1", "");
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", connections: 1 });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    for (const name of [
      "connections",
      "subscriptions",
      "messages_in_total",
      "messages_out_total",
      "bytes_in_total",
      "bytes_out_total",
      "history_messages",
      "auth_failures_total",
      "slow_consumer_closes_total",
    ])
      expect(text).toMatch(new RegExp(`^# TYPE mg_sync_hub_${name} (counter|gauge)$`, "m"));
    expect(text).toMatch(/^mg_sync_hub_errors_total\{code="payload_too_large"\} 1$/m);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
    client.socket.close();
  });

  it("reads the secret from --secret-file and revocations from --revocations-file", async () => {
    const files = { "/etc/hub/secret": `${SECRET}\n`, "/etc/hub/revoked": "# revoked\nrevoked-id\n" };
    const { cli, out } = io({}, files);
    await runCli(
      ["token", "--user", "bob", "--token-id", "revoked-id", "--secret-file", "/etc/hub/secret"],
      cli,
    );
    const token = out.join("").trim();
    const { hub, logs } = await serve(
      ["--secret-file", "/etc/hub/secret", "--revocations-file", "/etc/hub/revoked"],
      {},
      files,
    );
    expect(logs().find((l) => l.event === "revocations-loaded")).toMatchObject({ count: 1 });
    const client = new RawClient(hub!.url);
    const hello = await client.hello("tv", token);
    expect(hello).toMatchObject({ ok: false, error: { code: "unauthenticated" } });
    expect((await client.closed).code).toBe(CLOSE_TOKEN_REVOKED);
    const missing = await serve(["--secret-file", "/nope"], {}, files);
    expect(missing.exitCode).toBe(2);
    expect(missing.err.join("")).toMatch(/cannot read the secret file/);
  });

  it("prints a fresh secret long enough for the hub", async () => {
    const { cli, out } = io();
    await runCli(["secret"], cli);
    expect(Buffer.from(out.join("").trim(), "base64url").byteLength).toBe(32);
  });
});
