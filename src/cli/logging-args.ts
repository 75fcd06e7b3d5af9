/** --log-level and --log-format, shared by the long-running modes. */
import type { ArgsDef } from "citty";
import { configureLogging } from "../logger";
import { choiceFlag } from "./args";

export const LOGGING_ARGS = {
  "log-level": { type: "string", description: "debug, info, warn or error", default: "info" },
  "log-format": { type: "string", description: "text or json", default: "text" },
} as const satisfies ArgsDef;

export function applyLoggingArgs(args: { "log-level"?: string; "log-format"?: string }): void {
  configureLogging({
    level: choiceFlag(args["log-level"] ?? "info", "log-level", ["debug", "info", "warn", "error"] as const),
    format: choiceFlag(args["log-format"] ?? "text", "log-format", ["text", "json"] as const),
  });
}
