/**
 * `@mg-sync/transport-ws`: the `Transport` over a `WsHub` (`WsTransport`), for Node 20 and
 * browsers, and the hub's wire protocol (frames, close codes, error codes). The hub itself is
 * `@mg-sync/transport-ws/server` (Node only).
 */
export * from "./frames.js";
export {
  type WebSocketConstructor,
  type WebSocketLike,
  WS_TRANSPORT_DEFAULTS,
  WsTransport,
  type WsTransportOptions,
} from "./ws-transport.js";
