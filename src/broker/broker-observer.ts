/** What a broker reports as it serves (the CLI wires it to metrics); every hook optional. */
import type { LogObserver } from "../log/log-observer";
import type { RpcHandler } from "../net/rpc-server";
import { asKafkaCloneError } from "../errors";
import type { TakeoverReport } from "./broker";

export interface BrokerObserver {
  /** One client request answered (or failed) after `seconds`; `errorCode` null on success. */
  request?(api: string, seconds: number, errorCode: string | null): void;
  /** Records pushed to a consumer. */
  recordsSent?(topic: string, partition: number, records: number, bytes: number): void;
  takeover?(report: TakeoverReport): void;
  /** Each fdatasync of the log, in seconds. */
  fsync?(seconds: number): void;
  log?: LogObserver;
}

/** Wraps each handler to time it and report its outcome. */
export function instrumentHandlers<S>(handlers: Record<string, RpcHandler<S>>, observer: BrokerObserver): Record<string, RpcHandler<S>> {
  const report = observer.request;
  if (!report) return handlers;
  return Object.fromEntries(
    Object.entries(handlers).map(([api, handler]) => [
      api,
      (body: unknown, attachment: Uint8Array, session: S) => {
        const started = performance.now();
        const done = (code: string | null) => report(api, (performance.now() - started) / 1000, code);
        let result: ReturnType<RpcHandler<S>>;
        try {
          result = handler(body, attachment, session);
        } catch (error) {
          done(asKafkaCloneError(error).code);
          throw error;
        }
        if (!(result instanceof Promise)) {
          done(null);
          return result;
        }
        return result.then(
          (reply) => {
            done(null);
            return reply;
          },
          (error: unknown) => {
            done(asKafkaCloneError(error).code);
            throw error;
          },
        );
      },
    ]),
  );
}
