/**
 * Requests to the group coordinator (the active broker). Leader changes and
 * connection failures are retried as any request is; a group error
 * (UNKNOWN_MEMBER, ILLEGAL_GENERATION, ...) is returned at once, because the
 * member must react to it (rejoin, drop a commit), not repeat it.
 */
import { asKafkaCloneError, type ErrorCode } from "../errors";
import type { RpcConnection } from "../net/rpc-connection";
import type { ClusterClient } from "./cluster-client";

const GROUP_ERRORS: ReadonlySet<ErrorCode> = new Set([
  "UNKNOWN_MEMBER",
  "ILLEGAL_GENERATION",
  "REBALANCE_IN_PROGRESS",
  "GROUP_NOT_EMPTY",
  "GROUP_NOT_FOUND",
  "INCONSISTENT_GROUP_PROTOCOL",
]);
const RETRY_PAUSE_MS = 50;

export async function coordinatorRequest<T>(client: ClusterClient, api: string, body: unknown, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const connection = await client.leader();
    try {
      return await requestOn<T>(client, connection, api, body, Math.max(1, deadline - performance.now()));
    } catch (error) {
      const failure = asKafkaCloneError(error);
      if (GROUP_ERRORS.has(failure.code) || !failure.retriable || performance.now() >= deadline) throw failure;
      await Bun.sleep(RETRY_PAUSE_MS);
    }
  }
}

/** One attempt on one connection (dropped by the client when the error says it is not to be trusted). */
export async function requestOn<T>(client: ClusterClient, connection: RpcConnection, api: string, body: unknown, timeoutMs?: number): Promise<T> {
  try {
    const { body: response } = await connection.request(api, body, [], timeoutMs);
    return response as T;
  } catch (error) {
    const failure = asKafkaCloneError(error);
    client.reportFailure(failure, connection);
    throw failure;
  }
}
