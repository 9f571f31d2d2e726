/**
 * The hub's counters and gauges, and their Prometheus text exposition (format 0.0.4). Written
 * here rather than taken from `prom-client`: we need a dozen counters and gauges and no
 * histograms, and `prom-client` would bring `@opentelemetry/api` and `tdigest` for it
 * (docs/decisions.md).
 */

export interface HubCounters {
  connectionsOpened: number;
  /** Requests by op that were answered ok. */
  readonly requests: Map<string, number>;
  /** Error replies by code. */
  readonly errors: Map<string, number>;
  /** Connections closed by the hub, by close code. */
  readonly closes: Map<number, number>;
  messagesIn: number;
  messagesOut: number;
  presenceEventsOut: number;
  bytesIn: number;
  bytesOut: number;
  authFailures: number;
  accessDenied: number;
  slowConsumerCloses: number;
  deadSockets: number;
}

export function emptyCounters(): HubCounters {
  return {
    connectionsOpened: 0,
    requests: new Map(),
    errors: new Map(),
    closes: new Map(),
    messagesIn: 0,
    messagesOut: 0,
    presenceEventsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    authFailures: 0,
    accessDenied: 0,
    slowConsumerCloses: 0,
    deadSockets: 0,
  };
}

export function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export interface HubGauges {
  readonly connections: number;
  readonly subscriptions: number;
  readonly historyMessages: number;
  readonly presenceOccupants: number;
}

export interface MetricSample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly samples: readonly MetricSample[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** Prometheus text format 0.0.4: `# HELP`, `# TYPE`, then one line per sample. */
export function encodePrometheus(metrics: readonly Metric[]): string {
  let out = "";
  for (const metric of metrics) {
    out += `# HELP ${metric.name} ${escapeHelp(metric.help)}\n# TYPE ${metric.name} ${metric.type}\n`;
    for (const sample of metric.samples) {
      const labels = sample.labels === undefined ? [] : Object.entries(sample.labels);
      const labelText =
        labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      out += `${metric.name}${labelText} ${formatValue(sample.value)}\n`;
    }
  }
  return out;
}

function labelled<K>(map: ReadonlyMap<K, number>, label: string): MetricSample[] {
  return [...map].map(([key, value]) => ({ labels: { [label]: String(key) }, value }));
}

export function hubMetrics(counters: HubCounters, gauges: HubGauges): Metric[] {
  const p = "mg_sync_hub_";
  return [
    {
      name: `${p}connections`,
      help: "Open WebSocket connections.",
      type: "gauge",
      samples: [{ value: gauges.connections }],
    },
    {
      name: `${p}connections_opened_total`,
      help: "WebSocket connections accepted.",
      type: "counter",
      samples: [{ value: counters.connectionsOpened }],
    },
    {
      name: `${p}connections_closed_total`,
      help: "Connections the hub closed, by close code.",
      type: "counter",
      samples: labelled(counters.closes, "code"),
    },
    {
      name: `${p}subscriptions`,
      help: "Channel subscriptions over all connections.",
      type: "gauge",
      samples: [{ value: gauges.subscriptions }],
    },
    {
      name: `${p}requests_total`,
      help: "Requests answered ok, by op.",
      type: "counter",
      samples: labelled(counters.requests, "op"),
    },
    {
      name: `${p}errors_total`,
      help: "Error replies, by code.",
      type: "counter",
      samples: labelled(counters.errors, "code"),
    },
    {
      name: `${p}messages_in_total`,
      help: "Messages published.",
      type: "counter",
      samples: [{ value: counters.messagesIn }],
    },
    {
      name: `${p}messages_out_total`,
      help: "Message frames sent to subscribers (live and replayed).",
      type: "counter",
      samples: [{ value: counters.messagesOut }],
    },
    {
      name: `${p}presence_events_out_total`,
      help: "Presence frames sent to subscribers.",
      type: "counter",
      samples: [{ value: counters.presenceEventsOut }],
    },
    {
      name: `${p}bytes_in_total`,
      help: "Bytes of frames received.",
      type: "counter",
      samples: [{ value: counters.bytesIn }],
    },
    {
      name: `${p}bytes_out_total`,
      help: "Bytes of frames sent.",
      type: "counter",
      samples: [{ value: counters.bytesOut }],
    },
    {
      name: `${p}history_messages`,
      help: "Messages held in history.",
      type: "gauge",
      samples: [{ value: gauges.historyMessages }],
    },
    {
      name: `${p}presence_occupants`,
      help: "Presence occupants over all channels.",
      type: "gauge",
      samples: [{ value: gauges.presenceOccupants }],
    },
    {
      name: `${p}auth_failures_total`,
      help: "Hellos refused: missing, forged, expired or revoked tokens.",
      type: "counter",
      samples: [{ value: counters.authFailures }],
    },
    {
      name: `${p}access_denied_total`,
      help: "Calls refused for lack of a grant.",
      type: "counter",
      samples: [{ value: counters.accessDenied }],
    },
    {
      name: `${p}slow_consumer_closes_total`,
      help: "Connections closed because their send buffer passed maxBufferedBytes.",
      type: "counter",
      samples: [{ value: counters.slowConsumerCloses }],
    },
    {
      name: `${p}dead_sockets_total`,
      help: "Connections dropped for not answering a ping.",
      type: "counter",
      samples: [{ value: counters.deadSockets }],
    },
  ];
}
