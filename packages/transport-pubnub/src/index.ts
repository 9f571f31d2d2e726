/**
 * `@mg-sync/transport-pubnub`: the mg-sync Transport over the official PubNub SDK. The local
 * PubNub-protocol server for tests and demos is `@mg-sync/transport-pubnub/emulator`.
 */
export { type UserTokenGrantOptions, userTokenGrant } from "./access-grants.js";
export {
  type CatchUpReference,
  type ChannelCatchUp,
  catchUpChannel,
  type FetchHistoryPage,
} from "./catch-up.js";
export { toTransportError, transportErrorCode } from "./errors.js";
export { ENVELOPE_OVERHEAD_BYTES, unwrapPayload, wrapPayload } from "./payload-envelope.js";
export { MAX_PRESENCE_TIMEOUT_SECONDS, presenceTimeoutFor } from "./presence-helpers.js";
export {
  DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
  PUBNUB_MAX_PUBLISH_BYTES,
  PUBNUB_TRANSPORT_MAX_MESSAGE_BYTES,
  PubNubTransport,
  type PubNubTransportOptions,
} from "./pubnub-transport.js";
