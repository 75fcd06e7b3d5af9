/**
 * The one error type of the project. Its codes are stable strings: the same
 * code travels on the wire and is printed by the CLI.
 */

interface CodeInfo {
  retriable: boolean;
  meaning: string;
}

const CODES = {
  NOT_LEADER: { retriable: true, meaning: "this broker is not the active broker" },
  LEADER_NOT_AVAILABLE: { retriable: true, meaning: "no broker is active right now" },
  TOPIC_NOT_FOUND: { retriable: false, meaning: "the topic does not exist" },
  TOPIC_ALREADY_EXISTS: { retriable: false, meaning: "the topic already exists" },
  INVALID_TOPIC: { retriable: false, meaning: "the topic name is not valid" },
  INVALID_PARTITION: { retriable: false, meaning: "the partition does not exist" },
  INVALID_CONFIG: { retriable: false, meaning: "a setting has a value that is not allowed" },
  INVALID_ARGUMENT: { retriable: false, meaning: "an argument is not valid" },
  INVALID_REQUEST: { retriable: false, meaning: "the request is malformed" },
  INVALID_RECORD: { retriable: false, meaning: "a record batch is malformed" },
  CORRUPT_MESSAGE: { retriable: false, meaning: "stored or received data failed its checksum" },
  OFFSET_OUT_OF_RANGE: { retriable: false, meaning: "the offset is outside the partition's log" },
  FRAME_TOO_LARGE: { retriable: false, meaning: "the frame is larger than the allowed maximum" },
  STORAGE_ERROR: { retriable: true, meaning: "the broker could not write or sync its log" },
  FENCED_LEADER_EPOCH: { retriable: true, meaning: "a newer leader epoch exists; this broker may not write" },
  OUT_OF_ORDER_SEQUENCE: { retriable: true, meaning: "the producer's sequence number skipped ahead (an earlier batch is still on its way)" },
  INVALID_PRODUCER_EPOCH: { retriable: false, meaning: "a newer instance of this producer exists" },
  REQUEST_TIMED_OUT: { retriable: true, meaning: "the request did not complete in time" },
  NETWORK_ERROR: { retriable: true, meaning: "the connection failed" },
  UNSUPPORTED_VERSION: { retriable: false, meaning: "the peer speaks a version this program does not" },
  AUTHENTICATION_FAILED: { retriable: false, meaning: "the peer could not prove who it is" },
  AUTHORIZATION_FAILED: { retriable: false, meaning: "not allowed" },
  GROUP_NOT_FOUND: { retriable: false, meaning: "the consumer group does not exist" },
  GROUP_NOT_EMPTY: { retriable: false, meaning: "the consumer group still has members" },
  REBALANCE_IN_PROGRESS: { retriable: true, meaning: "the group is rebalancing" },
  UNKNOWN_MEMBER: { retriable: false, meaning: "the group does not know this member" },
  ILLEGAL_GENERATION: { retriable: true, meaning: "the group generation has moved on" },
  INCONSISTENT_GROUP_PROTOCOL: { retriable: false, meaning: "the member shares no partition assignor with its group" },
  LOG_CLOSED: { retriable: true, meaning: "the log is closed" },
  UNKNOWN: { retriable: false, meaning: "an unexpected error" },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof CODES;

export class KafkaCloneError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? CODES[code].meaning, options);
    this.name = "KafkaCloneError";
    this.code = code;
    this.retriable = CODES[code].retriable;
  }

  /** "TOPIC_NOT_FOUND: the topic does not exist (orders)" — how the CLI prints it. */
  describe(): string {
    const meaning = CODES[this.code].meaning;
    return this.message === meaning ? `${this.code}: ${meaning}` : `${this.code}: ${this.message}`;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(CODES, value);
}

export function meaningOf(code: ErrorCode): string {
  return CODES[code].meaning;
}

/** Wraps anything thrown into a KafkaCloneError, keeping codes that already exist. */
export function asKafkaCloneError(error: unknown, fallback: ErrorCode = "UNKNOWN"): KafkaCloneError {
  if (error instanceof KafkaCloneError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new KafkaCloneError(fallback, message, { cause: error });
}
