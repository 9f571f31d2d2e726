/**
 * Explicit heartbeats and leaves through the SDK's public API.
 *
 * The SDK puts `heartbeat=<presenceTimeout>` on every heartbeat, and fixes `presenceTimeout` per
 * instance; a device's announced timeout changes (30 s in the foreground, 300 s in the
 * background, spec 8.2, DEVIATIONS 7). So heartbeats go through one small helper instance per
 * timeout value, in the SDK's legacy (non event-engine) mode with its own heartbeat timer off:
 * it never subscribes, sends exactly the heartbeats we ask for (`setState` with
 * `withHeartbeat`), and a leave on demand (`presence({connected: false})`).
 */
import PubNub from "pubnub";

/** The SDK clamps larger presence timeouts to this, with a warning (research §2). */
export const MAX_PRESENCE_TIMEOUT_SECONDS = 320;

/** DEVIATIONS 7: offline after two missed intervals of the device's own period. */
export function presenceTimeoutFor(intervalSeconds: number): number {
  return Math.min(MAX_PRESENCE_TIMEOUT_SECONDS, Math.max(1, Math.ceil(2 * intervalSeconds)));
}

/** How long a leave may take before `close` stops waiting. */
const LEAVE_TIMEOUT_MS = 10_000;

export class PresenceHelpers {
  readonly #base: PubNub.PubNubConfiguration;
  readonly #helpers = new Map<number, PubNub>();
  #token: string | undefined;

  constructor(base: PubNub.PubNubConfiguration) {
    this.#base = base;
  }

  #helper(timeoutSeconds: number): PubNub {
    let helper = this.#helpers.get(timeoutSeconds);
    if (helper === undefined) {
      helper = new PubNub({
        ...this.#base,
        presenceTimeout: timeoutSeconds,
        enableEventEngine: false,
        retryConfiguration: PubNub.NoneRetryPolicy(),
      });
      helper.heartbeatInterval = 0;
      if (this.#token !== undefined) helper.setToken(this.#token);
      this.#helpers.set(timeoutSeconds, helper);
    }
    return helper;
  }

  setToken(token: string): void {
    this.#token = token;
    for (const helper of this.#helpers.values()) helper.setToken(token);
  }

  /** One heartbeat announcing `timeoutSeconds`; `state` applies to each channel and group. */
  async heartbeat(
    timeoutSeconds: number,
    channels: readonly string[],
    groups: readonly string[],
    state: unknown,
  ): Promise<void> {
    // PubNub reads heartbeat state keyed by channel or group (the SDK's own heartbeats send it so).
    const keyed: Record<string, unknown> = {};
    if (state !== undefined) for (const name of [...channels, ...groups]) keyed[name] = state;
    const parameters = {
      channels: [...channels],
      channelGroups: [...groups],
      withHeartbeat: true,
      ...(state !== undefined ? { state: keyed } : {}),
    };
    await this.#helper(timeoutSeconds).setState(
      parameters as unknown as PubNub.Presence.SetPresenceStateWithHeartbeatParameters,
    );
  }

  /** Sends one leave and waits for its answer. */
  leave(channels: readonly string[], groups: readonly string[]): Promise<void> {
    const helper = this.#helpers.values().next().value ?? this.#helper(MAX_PRESENCE_TIMEOUT_SECONDS);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        helper.removeListener(listener);
        reject(new Error(`leave got no answer in ${LEAVE_TIMEOUT_MS} ms`));
      }, LEAVE_TIMEOUT_MS);
      const listener: PubNub.Listener = {
        status: (status) => {
          if (String(status.operation) !== "PNUnsubscribeOperation") return;
          clearTimeout(timer);
          helper.removeListener(listener);
          if (status.error !== undefined && status.error !== false)
            reject(Object.assign(new Error(`leave failed: ${String(status.category)}`), { status }));
          else resolve();
        },
      };
      helper.addListener(listener);
      helper.presence({ connected: false, channels: [...channels], channelGroups: [...groups] });
    });
  }

  destroy(): void {
    for (const helper of this.#helpers.values()) helper.destroy(true);
    this.#helpers.clear();
  }
}
