/** What every request handler sees and returns; independent of the wire envelope. */
import type { LogManager } from "../log/log-manager";
import type { MetadataResponse } from "../protocol/api";
import type { BrokerAddress } from "../protocol/envelope";
import type { RpcReply } from "../net/rpc-server";
import type { ClientSession } from "./client-session";
import type { GroupCoordinator } from "./groups/group-coordinator";

export interface Leadership {
  logs: LogManager;
  epoch: number;
  groups: GroupCoordinator;
}

export interface BrokerServices {
  readonly id: number;
  /** The logs and epoch while this broker is active; throws NOT_LEADER otherwise. */
  requireActive(): Leadership;
  /** Throws unless this broker still leads at `epoch` (checked before every acknowledgement). */
  confirmLeadership(epoch: number): void;
  metadata(topics?: string[]): MetadataResponse;
  leaderAddress(): BrokerAddress | undefined;
}

export interface HandlerRequest {
  body: unknown;
  attachment: Uint8Array;
  session: ClientSession;
}

/** Returns null when no response is sent (acks=0 produce). */
export type RequestHandler = (request: HandlerRequest, broker: BrokerServices) => Promise<RpcReply | null> | RpcReply | null;
