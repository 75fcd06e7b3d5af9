/**
 * Structured logs on stderr (stdout belongs to ready lines and consumed data).
 * Readable by default; `json` for machines.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const settings: { level: LogLevel; format: LogFormat; write: (line: string) => void } = {
  level: "info",
  format: "text",
  write: (line) => process.stderr.write(`${line}\n`),
};

export function configureLogging(options: { level?: LogLevel; format?: LogFormat; write?: (line: string) => void }): void {
  Object.assign(settings, Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(component: string): Logger;
}

export function createLogger(component: string): Logger {
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (RANK[level] < RANK[settings.level]) return;
    const time = new Date().toISOString();
    if (settings.format === "json") {
      settings.write(JSON.stringify({ time, level, component, message, ...fields }));
      return;
    }
    const extras = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(" ");
    settings.write(`${time} ${level.toUpperCase().padEnd(5)} [${component}] ${message}${extras ? ` ${extras}` : ""}`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (name) => createLogger(`${component}/${name}`),
  };
}
