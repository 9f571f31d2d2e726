/**
 * PubNub SDK failures → the Transport's typed `TransportError` (research §3: HTTP 400 →
 * PNBadRequestCategory, 403 → PNAccessDeniedCategory, 413/429 → PNUnknownCategory with the
 * status code, 5xx → PNServerErrorCategory, refused → PNNetworkIssuesCategory, timeout →
 * PNTimeoutCategory; client-side validation throws before any request).
 */
import { TransportError, type TransportErrorCode, type TransportOperation } from "@mg-sync/crdt-core";

interface SdkStatus {
  readonly category?: unknown;
  readonly statusCode?: unknown;
  readonly errorData?: unknown;
}

function statusOf(error: unknown): SdkStatus | undefined {
  if (error === null || typeof error !== "object" || !("status" in error)) return undefined;
  const status = (error as { status?: unknown }).status;
  return status !== null && typeof status === "object" ? (status as SdkStatus) : undefined;
}

function describe(error: unknown, status: SdkStatus | undefined): string {
  const data = status?.errorData;
  if (data !== null && typeof data === "object" && "message" in data) {
    const message = (data as { message?: unknown }).message;
    if (typeof message === "string" && message !== "") return message;
  }
  if (error instanceof Error && error.message !== "") return error.message;
  return String(error);
}

export function transportErrorCode(error: unknown): TransportErrorCode {
  const status = statusOf(error);
  const code = typeof status?.statusCode === "number" ? status.statusCode : 0;
  const category = typeof status?.category === "string" ? status.category : "";
  if (code === 403 || category === "PNAccessDeniedCategory") return "access_denied";
  if (code === 413) return "payload_too_large";
  if (code === 429) return "rate_limited";
  if (code === 404) return "not_found";
  if (code >= 500 || category === "PNServerErrorCategory") return "server";
  if (code === 400 || category === "PNBadRequestCategory" || category === "PNValidationErrorCategory")
    return "invalid_argument";
  if (
    category === "PNNetworkIssuesCategory" ||
    category === "PNTimeoutCategory" ||
    category === "PNCancelledCategory" ||
    code === 0
  )
    return "network";
  return "server";
}

export function toTransportError(error: unknown, operation: TransportOperation): TransportError {
  if (error instanceof TransportError) return error;
  const status = statusOf(error);
  const code = transportErrorCode(error);
  const detail = describe(error, status);
  const http =
    typeof status?.statusCode === "number" && status.statusCode > 0 ? ` (HTTP ${status.statusCode})` : "";
  return new TransportError(code, operation, `${detail}${http}`);
}
