/**
 * The check every message this device builds passes before it is shown or sent: the same parse
 * a peer runs on it (DEVIATIONS 11), so a bad argument fails here, naming the call, and never on
 * another device.
 */
import { type Message, parseMessage } from "@mg-sync/crdt-core";

/** Validates what we are about to show and send, exactly as a peer will (DEVIATIONS 11). */
export function checkOutgoing<M extends Message>(what: string, built: M): M {
  const parsed = parseMessage(built);
  if (!parsed.ok) {
    const { path, reason } = parsed.error;
    throw new RangeError(`${what}: ${path === "" ? "" : `${path} `}${reason}`);
  }
  return parsed.value as M;
}
