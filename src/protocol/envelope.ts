/**
 * The MessagePack envelope inside every frame. Handlers see only decoded
 * bodies, so a second listener speaking another wire protocol can reuse them.
 *
 *   request   [1, api, correlationId, body]
 *   response  [2, correlationId, error | null, body]
 *   push      [3, api, body]          server-initiated (subscription data)
 */
import { type ErrorCode, isErrorCode, KafkaCloneError } from "../errors";
import { asArray, asInt, asObject, asString, optional } from "./wire-values";

export interface BrokerAddress {
  id: number;
  host: string;
  port: number;
}

export interface WireError {
  code: ErrorCode;
  message: string;
  /** With NOT_LEADER: where the active broker is, when known. */
  leader?: BrokerAddress;
}

export type Envelope =
  | { kind: "request"; api: string; correlationId: number; body: unknown }
  | { kind: "response"; correlationId: number; error: WireError | null; body: unknown }
  | { kind: "push"; api: string; body: unknown };

const REQUEST = 1;
const RESPONSE = 2;
const PUSH = 3;
const MAX_CORRELATION_ID = 0xffff_ffff;

export function toWire(envelope: Envelope): unknown[] {
  switch (envelope.kind) {
    case "request":
      return [REQUEST, envelope.api, envelope.correlationId, envelope.body ?? null];
    case "response":
      return [RESPONSE, envelope.correlationId, envelope.error, envelope.body ?? null];
    case "push":
      return [PUSH, envelope.api, envelope.body ?? null];
  }
}

export function fromWire(value: unknown): Envelope {
  const parts = asArray(value, "envelope", 4);
  const kind = parts[0];
  if (kind === REQUEST && parts.length === 4) {
    return {
      kind: "request",
      api: asString(parts[1], "api", 64),
      correlationId: asInt(parts[2], "correlation id", 0, MAX_CORRELATION_ID),
      body: parts[3],
    };
  }
  if (kind === RESPONSE && parts.length === 4) {
    return {
      kind: "response",
      correlationId: asInt(parts[1], "correlation id", 0, MAX_CORRELATION_ID),
      error: parts[2] === null ? null : readWireError(parts[2]),
      body: parts[3],
    };
  }
  if (kind === PUSH && parts.length === 3) {
    return { kind: "push", api: asString(parts[1], "api", 64), body: parts[2] };
  }
  throw new KafkaCloneError("INVALID_REQUEST", `envelope kind ${String(kind)} with ${parts.length} parts is not known`);
}

export function readBrokerAddress(value: unknown, what = "broker"): BrokerAddress {
  const o = asObject(value, what);
  return { id: asInt(o.id, `${what}.id`), host: asString(o.host, `${what}.host`, 255), port: asInt(o.port, `${what}.port`, 0, 65535) };
}

function readWireError(value: unknown): WireError {
  const o = asObject(value, "error");
  const code = isErrorCode(o.code) ? o.code : "UNKNOWN";
  const leader = optional(o.leader, (v) => readBrokerAddress(v, "error.leader"));
  return { code, message: asString(o.message, "error.message", 4096), ...(leader ? { leader } : {}) };
}

export function toWireError(error: KafkaCloneError, leader?: BrokerAddress): WireError {
  return { code: error.code, message: error.message, ...(leader ? { leader } : {}) };
}

export function fromWireError(wire: WireError): KafkaCloneError & { leader?: BrokerAddress } {
  const error = new KafkaCloneError(wire.code, wire.message) as KafkaCloneError & { leader?: BrokerAddress };
  if (wire.leader) error.leader = wire.leader;
  return error;
}
