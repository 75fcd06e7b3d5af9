/** How commands report: failures as code + plain words on stderr, ready lines as JSON on stdout. */
import { asKafkaCloneError } from "../errors";

export function failAndExit(error: unknown, exitCode?: number): never {
  const failure = asKafkaCloneError(error);
  process.stderr.write(`kafka-clone: ${failure.describe()}\n`);
  process.exit(exitCode ?? (failure.code === "INVALID_ARGUMENT" ? 2 : 1));
}

/** Runs a command body, turning any error into a clear message and a non-zero exit. */
export async function runOrExit(body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (error) {
    failAndExit(error);
  }
}

/** The one JSON line a long-running mode prints when it serves, with its real ports. */
export function printReadyLine(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ event: "ready", ...fields, pid: process.pid })}\n`);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve(signal);
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}
