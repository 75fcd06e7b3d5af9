import type { Logger } from "../../src/logger";

/** Keeps the log manager's info lines (e.g. "recovered partition") out of the figures. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (message, fields) => process.stderr.write(`log manager error: ${message} ${JSON.stringify(fields ?? {})}\n`),
  child: () => silentLogger,
};
