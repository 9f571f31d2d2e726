/**
 * What an endpoint module gets: the parsed request, its keyset's state, the emulator's
 * settings, a way to answer, and `authorize`, which applies Access Manager (research §4, §5.14).
 */

import type { ServerResponse } from "node:http";
import {
  PERMISSION,
  type PermissionName,
  permissionBits,
  tokenExpired,
  verifyToken,
} from "./access-token.js";
import type { KeySpace } from "./keyspace.js";
import { verifySignature } from "./signature.js";
import { sendJson } from "./wire.js";

export interface EmulatorSettings {
  readonly now: () => number;
  readonly maxMessageBytes: number;
  readonly subscribeHoldMs: number;
  readonly signatureWindowSeconds: number;
  readonly maxMessageCount: number;
}

export interface AccessNeed {
  readonly kind: "channels" | "groups" | "uuids";
  readonly name: string;
  readonly permission: PermissionName;
}

export class RequestContext {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: ReadonlyArray<readonly [string, string]>;
  readonly query: ReadonlyMap<string, string>;
  readonly body: string | undefined;
  readonly space: KeySpace;
  readonly settings: EmulatorSettings;
  readonly #res: ServerResponse;
  #status: number | undefined;

  constructor(init: {
    method: string;
    rawPath: string;
    rawQuery: ReadonlyArray<readonly [string, string]>;
    query: ReadonlyMap<string, string>;
    body: string | undefined;
    space: KeySpace;
    settings: EmulatorSettings;
    res: ServerResponse;
  }) {
    this.method = init.method;
    this.rawPath = init.rawPath;
    this.rawQuery = init.rawQuery;
    this.query = init.query;
    this.body = init.body;
    this.space = init.space;
    this.settings = init.settings;
    this.#res = init.res;
  }

  /** The client's id; every SDK request carries `uuid=`. */
  get uuid(): string {
    return this.query.get("uuid") ?? "";
  }

  /**
   * A comma-list query parameter (`channel-group=a,b`, `add=a,b`). The SDK encodes the joined
   * value whole (its commas arrive as `%2C`), so unlike a path list it is decoded, then split.
   */
  listParam(name: string): string[] {
    const value = this.query.get(name);
    return value === undefined ? [] : value.split(",").filter((n) => n !== "");
  }

  /** A JSON query parameter (`meta=`, `state=`); `undefined` when absent, an Error when malformed. */
  jsonParam(name: string): unknown {
    const text = this.query.get(name);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return new Error(`${name} is not valid JSON`);
    }
  }

  get answered(): boolean {
    return this.#status !== undefined || this.#res.writableEnded || this.#res.destroyed;
  }

  get status(): number | undefined {
    return this.#status;
  }

  reply(status: number, body: unknown, headers?: Readonly<Record<string, string>>): void {
    if (this.answered) return;
    this.#status = status;
    sendJson(this.#res, status, body, headers);
  }

  /** Runs `listener` if the client goes away before an answer (aborted long-polls, §5.4). */
  onAbort(listener: () => void): void {
    this.#res.on("close", () => {
      if (!this.#res.writableFinished) listener();
    });
  }

  nowSeconds(): number {
    return Math.floor(this.settings.now() / 1000);
  }

  #deny(message: string, denied: readonly AccessNeed[] = []): false {
    const payload: Record<string, string[]> = {};
    for (const need of denied) {
      const key = need.kind === "groups" ? "channel-groups" : need.kind;
      const names = payload[key] ?? [];
      names.push(need.name);
      payload[key] = names;
    }
    this.reply(403, {
      message,
      ...(denied.length > 0 ? { payload } : {}),
      error: true,
      service: "Access Manager",
      status: 403,
    });
    return false;
  }

  /**
   * Whether the request may go on; when not, it has been answered with PubNub's 403. A request
   * signed with the keyset's secret key is the server's own and may do anything; otherwise,
   * with Access Manager on, its `auth` token must grant every need.
   */
  authorize(needs: readonly AccessNeed[], options: { readonly requireSignature?: boolean } = {}): boolean {
    const config = this.space.config;
    const signature = this.query.get("signature");
    if (config.secretKey !== undefined && signature !== undefined) {
      const verdict = verifySignature(
        config.secretKey,
        {
          method: this.method,
          publishKey: config.publishKey ?? this.#publishKeyFromPath(),
          rawPath: this.rawPath,
          rawQuery: this.rawQuery,
          body: this.body,
        },
        signature,
        this.query.get("timestamp"),
        this.nowSeconds(),
        this.settings.signatureWindowSeconds,
      );
      if (verdict === "valid") return true;
      return this.#deny(
        verdict === "stale" ? "Request timestamp is out of the allowed window" : "Invalid Signature",
      );
    }
    if (options.requireSignature === true) return this.#deny("Signature required: sign with the secret key");
    if (!config.accessManager || config.secretKey === undefined) return true;
    const auth = this.query.get("auth");
    if (auth === undefined || auth === "") return this.#deny("Forbidden", needs);
    if (this.space.revokedTokens.has(auth)) return this.#deny("Token is revoked.", needs);
    const token = verifyToken(config.secretKey, auth);
    if (token === undefined) return this.#deny("Invalid token", needs);
    if (tokenExpired(token, this.nowSeconds())) return this.#deny("Token is expired.", needs);
    if (token.authorizedUuid !== undefined && token.authorizedUuid !== this.uuid)
      return this.#deny("Token is not authorized for this uuid", needs);
    const denied = needs.filter(
      (need) =>
        (permissionBits(token.resources[need.kind], token.patterns[need.kind], need.name) &
          PERMISSION[need.permission]) ===
        0,
    );
    return denied.length === 0 ? true : this.#deny("Forbidden", denied);
  }

  #publishKeyFromPath(): string {
    const segments = this.rawPath.split("/");
    return segments[1] === "publish" || segments[1] === "signal" ? decodeURIComponent(segments[2] ?? "") : "";
  }
}

export type EndpointHandler<R> = (ctx: RequestContext, route: R) => void | Promise<void>;
