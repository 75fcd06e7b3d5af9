/** Messages between brokers and the actions the bully state machine asks its host to perform. */

export type ElectionMessage =
  | { type: "ELECTION"; term: number; from: number }
  | { type: "ANSWER"; term: number; from: number }
  | { type: "COORDINATOR"; term: number; from: number; epoch: number };

export type ElectionMessageType = ElectionMessage["type"];

export type TimerId = "answer" | "coordinator" | "claim" | "backoff";

export type BullyAction =
  /** deliver to broker `to` (its election address is in the cluster view) */
  | { type: "send"; to: number; message: ElectionMessage }
  /** start, or restart, the one timer with this id; call onTimeout(id) when it fires */
  | { type: "setTimer"; id: TimerId; ms: number }
  | { type: "cancelTimer"; id: TimerId }
  /** store durably before carrying out any later action of the same batch */
  | { type: "persistTerm"; term: number }
  /** ask the zookeeper to make this broker active at `epoch`; report with onClaimResult */
  | { type: "claimActive"; term: number; epoch: number }
  /** the zookeeper accepted `epoch`: grant the lease and run the takeover */
  | { type: "becomeLeader"; term: number; epoch: number }
  /** stop acknowledging writes at once; emitted whenever leadership is left */
  | { type: "stepDown" }
  | { type: "followLeader"; leaderId: number; term: number; epoch: number };
