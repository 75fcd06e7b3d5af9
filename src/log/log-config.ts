/** Per-topic storage settings, named after Kafka's topic configs. */
import { KafkaCloneError } from "../errors";

export interface LogConfig {
  /** segment.bytes: roll the active segment when it would grow past this. */
  segmentBytes: number;
  /** segment.ms: roll the active segment when it is older than this. */
  segmentMs: number;
  /** retention.ms: delete sealed segments whose newest record is older; -1 keeps forever. */
  retentionMs: number;
  /** retention.bytes: delete oldest sealed segments while the log is larger; -1 means no limit. */
  retentionBytes: number;
  /** index.interval.bytes: bytes between sparse index entries. */
  indexIntervalBytes: number;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
});

const MAX = Number.MAX_SAFE_INTEGER;
/** segment.bytes stays below 2 GiB (as in Kafka): index entries hold file positions in 32 bits. */
const LIMITS: Record<keyof LogConfig, { min: number; max: number; allowUnlimited: boolean }> = {
  segmentBytes: { min: 1024, max: 0x7fff_ffff, allowUnlimited: false },
  segmentMs: { min: 1, max: MAX, allowUnlimited: false },
  retentionMs: { min: 1, max: MAX, allowUnlimited: true },
  retentionBytes: { min: 1, max: MAX, allowUnlimited: true },
  indexIntervalBytes: { min: 1, max: 0x7fff_ffff, allowUnlimited: false },
};

/** Merges `overrides` onto `base`, rejecting values out of range with INVALID_CONFIG. */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}, base: Readonly<LogConfig> = DEFAULT_LOG_CONFIG): LogConfig {
  const config = { ...base };
  for (const [name, value] of Object.entries(overrides) as [keyof LogConfig, unknown][]) {
    if (value === undefined) continue;
    if (!Object.hasOwn(LIMITS, name)) throw new KafkaCloneError("INVALID_CONFIG", `unknown setting ${name}`);
    const limit = LIMITS[name];
    const ok =
      typeof value === "number" &&
      Number.isSafeInteger(value) &&
      ((value >= limit.min && value <= limit.max) || (limit.allowUnlimited && value === -1));
    if (!ok) {
      const range = limit.max === MAX ? `>= ${limit.min}` : `from ${limit.min} to ${limit.max}`;
      const allowed = limit.allowUnlimited ? `an integer ${range}, or -1 for no limit` : `an integer ${range}`;
      throw new KafkaCloneError("INVALID_CONFIG", `${name} must be ${allowed}, got ${String(value)}`);
    }
    config[name] = value;
  }
  return config;
}
