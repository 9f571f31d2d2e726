/**
 * `@mg-sync/transport-pubnub/emulator`: a local server that speaks PubNub's HTTP protocol, for
 * tests and demos with the unmodified `pubnub` SDK (`origin: emulator.origin, ssl: false`).
 */
export {
  type AccessToken,
  type GrantRequest,
  MAX_TOKEN_TTL_MINUTES,
  mintToken,
  PERMISSION,
  type PermissionMap,
  type PermissionName,
  type TokenResources,
  verifyToken,
} from "./access-token.js";
export { type CborValue, cborDecode, cborEncode } from "./cbor.js";
export {
  type EmulatorKeyset,
  PubNubEmulator,
  type PubNubEmulatorOptions,
  type RequestLogEntry,
} from "./emulator.js";
export type { FaultAction, FaultHandle, FaultRule } from "./faults.js";
export type { StoredMessage } from "./message-store.js";
export type { PresenceLimits } from "./presence-registry.js";
export type { EmulatorEndpoint } from "./routes.js";
export { computeSignature, signatureBaseString } from "./signature.js";
export { pubnubEncode } from "./wire.js";
