/**
 * Access Manager v3 grant and revoke (research §5.14). Both must be signed with the keyset's
 * secret key (§4): only a server may mint or revoke tokens.
 */
import { mintToken, parseGrantBody } from "../access-token.js";
import type { RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";

function pamError(ctx: RequestContext, status: number, message: string): void {
  ctx.reply(status, { status, error: { message, source: "grant", details: [] }, service: "Access Manager" });
}

export function handleGrant(ctx: RequestContext, _route: Extract<Route, { endpoint: "grant" }>): void {
  const secretKey = ctx.space.config.secretKey;
  if (secretKey === undefined) {
    pamError(ctx, 400, "Access Manager is not configured for this keyset");
    return;
  }
  if (!ctx.authorize([], { requireSignature: true })) return;
  let body: unknown;
  try {
    body = JSON.parse(ctx.body ?? "");
  } catch {
    pamError(ctx, 400, "Invalid JSON body");
    return;
  }
  const request = parseGrantBody(body);
  if (typeof request === "string") {
    pamError(ctx, 400, request);
    return;
  }
  const token = mintToken(secretKey, request, ctx.nowSeconds());
  ctx.reply(200, { status: 200, data: { message: "Success", token }, service: "Access Manager" });
}

export function handleRevoke(ctx: RequestContext, route: Extract<Route, { endpoint: "revoke" }>): void {
  if (ctx.space.config.secretKey === undefined) {
    pamError(ctx, 400, "Access Manager is not configured for this keyset");
    return;
  }
  if (!ctx.authorize([], { requireSignature: true })) return;
  ctx.space.revokedTokens.add(route.token);
  ctx.reply(200, { status: 200, data: {}, service: "Access Manager" });
}
