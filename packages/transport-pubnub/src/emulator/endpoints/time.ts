/**
 * `GET /time/0` (research §5.1). PubNub answers a bare number, which loses precision in
 * `JSON.parse`; the string form is what the SDK's types declare, so that is what we send.
 */
import type { ServerResponse } from "node:http";
import type { TimetokenClock } from "../timetoken-clock.js";
import { sendJson } from "../wire.js";

export function handleTime(res: ServerResponse, clock: TimetokenClock): void {
  sendJson(res, 200, [clock.current().toString()]);
}
