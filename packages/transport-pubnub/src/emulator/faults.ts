/**
 * Fault injection: make chosen requests fail the ways a real network and a real PubNub do, so
 * the SDK's retry and restore paths run without mocks. A rule matches by endpoint, channel and
 * client, fires `times` times (default once), and then lapses.
 */
import type { EmulatorEndpoint } from "./routes.js";

export type FaultAction =
  /** Answer with this HTTP status (500, 503, 429 with `Retry-After`, 403, …) and PubNub's error body. */
  | {
      readonly type: "status";
      readonly status: number;
      readonly retryAfterSeconds?: number;
      readonly body?: unknown;
    }
  /** Destroy the socket without answering, as a dropped connection does. */
  | { readonly type: "drop" }
  /** Answer nothing for `ms`, then serve the request normally; without `ms`, never answer. */
  | { readonly type: "hold"; readonly ms?: number };

export interface FaultRule {
  readonly endpoint?: EmulatorEndpoint | readonly EmulatorEndpoint[];
  /** Only requests that name this channel (in the path or as a group member is not checked). */
  readonly channel?: string;
  /** Only requests from this client (`uuid=`). */
  readonly uuid?: string;
  /** How many requests it hits; default 1, `Infinity` until cancelled. */
  readonly times?: number;
  readonly action: FaultAction;
}

export interface FaultHandle {
  /** Requests hit so far. */
  readonly hits: number;
  /** Whether it may still hit. */
  readonly active: boolean;
  cancel(): void;
}

class ActiveFault implements FaultHandle {
  hits = 0;
  cancelled = false;
  readonly rule: FaultRule;

  constructor(rule: FaultRule) {
    this.rule = rule;
  }

  get active(): boolean {
    return !this.cancelled && this.hits < (this.rule.times ?? 1);
  }

  cancel(): void {
    this.cancelled = true;
  }

  matches(endpoint: EmulatorEndpoint, channels: readonly string[], uuid: string): boolean {
    const { rule } = this;
    if (rule.endpoint !== undefined) {
      const endpoints: readonly EmulatorEndpoint[] =
        typeof rule.endpoint === "string" ? [rule.endpoint] : rule.endpoint;
      if (!endpoints.includes(endpoint)) return false;
    }
    if (rule.channel !== undefined && !channels.includes(rule.channel)) return false;
    if (rule.uuid !== undefined && rule.uuid !== uuid) return false;
    return true;
  }
}

export class FaultInjector {
  #faults: ActiveFault[] = [];

  add(rule: FaultRule): FaultHandle {
    const times = rule.times ?? 1;
    if (!(times >= 1)) throw new RangeError(`rule.times must be at least 1, got ${String(rule.times)}`);
    if (rule.action.type === "status" && !(rule.action.status >= 400 && rule.action.status <= 599))
      throw new RangeError(`rule.action.status must be an HTTP error status, got ${rule.action.status}`);
    const fault = new ActiveFault(rule);
    this.#faults.push(fault);
    return fault;
  }

  clear(): void {
    for (const fault of this.#faults) fault.cancel();
    this.#faults = [];
  }

  /** The action for this request, if a rule hits it (the oldest active rule wins). */
  take(endpoint: EmulatorEndpoint, channels: readonly string[], uuid: string): FaultAction | undefined {
    this.#faults = this.#faults.filter((f) => f.active);
    const fault = this.#faults.find((f) => f.matches(endpoint, channels, uuid));
    if (fault === undefined) return undefined;
    fault.hits++;
    return fault.rule.action;
  }
}

/** The body PubNub sends with each status (research §3), unless the rule gives one. */
export function faultBody(status: number): unknown {
  if (status === 403) return { message: "Forbidden", error: true, service: "Access Manager", status: 403 };
  if (status === 429) return { status: 429, message: "Too Many Requests", error: true, service: "Balancer" };
  if (status >= 500) return { status, message: "Internal Server Error", error: true, service: "Balancer" };
  return { status, message: "Error", error: true, service: "Balancer" };
}
