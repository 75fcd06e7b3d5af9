import { describe, expect, test } from "bun:test";
import { BullyElection, DEFAULT_TIMEOUTS } from "../../../src/election/bully";
import type { ElectionMessage } from "../../../src/election/election-types";
import type { ClusterView } from "../../../src/protocol/heartbeat-codec";

function view(active: number | null, epoch: number, live: number[], electionNeeded = active === null): ClusterView {
  const brokers = live.map((id) => ({
    id,
    clientHost: "h",
    clientPort: 1,
    electionHost: "h",
    electionPort: 2,
    role: id === active ? ("active" as const) : ("standby" as const),
    alive: true,
  }));
  return { activeBrokerId: active, epoch, electionNeeded, brokers };
}

const election = (term: number, from: number): ElectionMessage => ({ type: "ELECTION", term, from });
const answer = (term: number, from: number): ElectionMessage => ({ type: "ANSWER", term, from });
const coordinator = (term: number, from: number, epoch: number): ElectionMessage => ({ type: "COORDINATOR", term, from, epoch });

/** Broker 2 of brokers 1..3 with the given view already applied. */
function broker2(v: ClusterView = view(3, 4, [1, 2, 3]), persistedTerm = 0): BullyElection {
  const b = new BullyElection({ selfId: 2, persistedTerm });
  b.onView(v);
  return b;
}

describe("bully election rounds", () => {
  test("start persists the new term, then sends ELECTION to live higher ids and waits for answers", () => {
    const b = broker2(view(null, 4, [1, 2, 3, 4]));
    // the electionNeeded view already started a round at term 1
    expect(b.phase).toBe("electing");
    expect(b.start("test")).toEqual([
      { type: "cancelTimer", id: "answer" },
      { type: "persistTerm", term: 2 },
      { type: "send", to: 3, message: election(2, 2) },
      { type: "send", to: 4, message: election(2, 2) },
      { type: "setTimer", id: "answer", ms: DEFAULT_TIMEOUTS.answerTimeoutMs },
    ]);
  });

  test("with no live higher id it claims at once, asking for the next epoch", () => {
    const b = new BullyElection({ selfId: 5, persistedTerm: 3 });
    expect(b.onView(view(null, 7, [1, 5]))).toEqual([
      { type: "persistTerm", term: 4 },
      { type: "claimActive", term: 4, epoch: 8 },
      { type: "setTimer", id: "claim", ms: DEFAULT_TIMEOUTS.claimTimeoutMs },
    ]);
  });

  test("electing on a view that still listed a dead higher id: the next view without it claims at once", () => {
    // Broker 1's ELECTION arrives before the zookeeper's ack saying broker 3 died.
    const b = broker2(view(3, 4, [1, 2, 3]));
    const started = b.onMessage(1, election(5, 1));
    expect(started).toContainEqual({ type: "send", to: 3, message: election(5, 2) });
    expect(b.phase).toBe("electing");
    expect(b.onView(view(null, 4, [1, 2]))).toEqual([
      { type: "cancelTimer", id: "answer" },
      { type: "claimActive", term: 5, epoch: 5 },
      { type: "setTimer", id: "claim", ms: DEFAULT_TIMEOUTS.claimTimeoutMs },
    ]);
    expect(b.phase).toBe("claiming");
    // A view that still lists a live higher id changes nothing while electing.
    const c = broker2(view(3, 4, [1, 2, 3]));
    c.onMessage(1, election(5, 1));
    expect(c.onView(view(null, 4, [1, 2, 3]))).toEqual([]);
    expect(c.phase).toBe("electing");
  });

  test("the epoch found on disk at startup sets the first claim", () => {
    const b = new BullyElection({ selfId: 1, persistedTerm: 0, initialEpoch: 12 });
    expect(b.onView(view(null, 3, [1]))).toEqual([]); // older than what the disk says: stale
    expect(b.onView(view(null, 12, [1]))).toContainEqual({ type: "claimActive", term: 1, epoch: 13 });
  });

  test("no ANSWER in time: claim; accepted: lead and tell every other live broker", () => {
    const b = broker2(view(null, 4, [1, 2, 3]));
    expect(b.onTimeout("answer")).toEqual([
      { type: "claimActive", term: 1, epoch: 5 },
      { type: "setTimer", id: "claim", ms: DEFAULT_TIMEOUTS.claimTimeoutMs },
    ]);
    expect(b.onClaimResult(true, 5)).toEqual([
      { type: "cancelTimer", id: "claim" },
      { type: "becomeLeader", term: 1, epoch: 5 },
      { type: "send", to: 1, message: coordinator(1, 2, 5) },
      { type: "send", to: 3, message: coordinator(1, 2, 5) },
    ]);
    expect(b.phase).toBe("leader");
    expect(b.epoch).toBe(5);
  });

  test("an ANSWER makes it wait for COORDINATOR, and a missing COORDINATOR restarts with a new term", () => {
    const b = broker2(view(null, 4, [1, 2, 3]));
    expect(b.onMessage(3, answer(1, 3))).toEqual([
      { type: "cancelTimer", id: "answer" },
      { type: "setTimer", id: "coordinator", ms: DEFAULT_TIMEOUTS.coordinatorTimeoutMs },
    ]);
    expect(b.onTimeout("coordinator")).toEqual([
      { type: "persistTerm", term: 2 },
      { type: "send", to: 3, message: election(2, 2) },
      { type: "setTimer", id: "answer", ms: DEFAULT_TIMEOUTS.answerTimeoutMs },
    ]);
  });

  test("COORDINATOR ends the round", () => {
    const b = broker2(view(null, 4, [1, 2, 3]));
    b.onMessage(3, answer(1, 3));
    expect(b.onMessage(3, coordinator(1, 3, 5))).toEqual([
      { type: "cancelTimer", id: "coordinator" },
      { type: "followLeader", leaderId: 3, term: 1, epoch: 5 },
    ]);
    expect(b.onTimeout("coordinator")).toEqual([]); // a stray timer does nothing
  });

  test("an ANSWER from a lower id is meaningless", () => {
    const b = broker2(view(null, 4, [1, 2, 3]));
    expect(b.onMessage(1, answer(1, 1))).toEqual([]);
    expect(b.phase).toBe("electing");
  });

  test("rejected claim: back off, then follow the view", () => {
    const b = broker2(view(null, 4, [1, 2, 3]));
    b.onTimeout("answer");
    expect(b.onClaimResult(false, 5)).toEqual([
      { type: "cancelTimer", id: "claim" },
      { type: "setTimer", id: "backoff", ms: DEFAULT_TIMEOUTS.claimBackoffMs },
    ]);
    expect(b.phase).toBe("backoff");
    expect(b.onView(view(null, 5, [1, 2, 3]))).toEqual([]); // still backing off
    expect(b.onView(view(3, 5, [1, 2, 3]))).toEqual([
      { type: "cancelTimer", id: "backoff" },
      { type: "followLeader", leaderId: 3, term: 1, epoch: 5 },
    ]);
  });

  test("after the backoff an election still needed starts a new round", () => {
    const b = broker2(view(null, 4, [1, 2]));
    b.onClaimResult(false, 4);
    expect(b.onTimeout("backoff")).toEqual([
      { type: "persistTerm", term: 2 },
      { type: "claimActive", term: 2, epoch: 5 },
      { type: "setTimer", id: "claim", ms: DEFAULT_TIMEOUTS.claimTimeoutMs },
    ]);
  });

  test("no claim result in time counts as a rejection", () => {
    const b = broker2(view(null, 4, [1, 2]));
    expect(b.onTimeout("claim")).toEqual([{ type: "setTimer", id: "backoff", ms: DEFAULT_TIMEOUTS.claimBackoffMs }]);
  });

  test("a view naming it active while it claims means the claim was accepted", () => {
    const b = broker2(view(null, 4, [1, 2]));
    const actions = b.onView(view(2, 5, [1, 2]));
    expect(actions).toContainEqual({ type: "becomeLeader", term: 1, epoch: 5 });
    expect(b.onClaimResult(true, 5)).toEqual([]);
  });

  test("a view naming it active at an older epoch than it asked for is not an acceptance", () => {
    const b = broker2(view(null, 4, [1, 2]));
    b.onClaimResult(false, 4);
    expect(b.onView(view(2, 4, [1, 2]))).toEqual([]);
    expect(b.phase).toBe("backoff");
    expect(b.onView(view(2, 7, [1, 2]))).toContainEqual({ type: "becomeLeader", term: 1, epoch: 7 });
  });

  test("a late accepted claim with the newest epoch still makes it leader; an outdated one does not", () => {
    const b = broker2(view(null, 4, [1, 2, 3]));
    b.onMessage(3, coordinator(1, 3, 5));
    expect(b.onClaimResult(true, 5)).toEqual([]);
    expect(b.onClaimResult(true, 6)).toContainEqual({ type: "becomeLeader", term: 1, epoch: 6 });
  });
});

describe("bully election: answering others", () => {
  test("ELECTION from a lower id: ANSWER, then join that election in its term", () => {
    const b = broker2();
    expect(b.onMessage(1, election(5, 1))).toEqual([
      { type: "persistTerm", term: 5 },
      { type: "send", to: 1, message: answer(5, 2) },
      { type: "send", to: 3, message: election(5, 2) },
      { type: "setTimer", id: "answer", ms: DEFAULT_TIMEOUTS.answerTimeoutMs },
    ]);
    // the same election again: answered, not restarted
    expect(b.onMessage(1, election(5, 1))).toEqual([{ type: "send", to: 1, message: answer(5, 2) }]);
  });

  test("ELECTION from a higher id is ignored (its term is adopted)", () => {
    const b = broker2();
    expect(b.onMessage(3, election(9, 3))).toEqual([{ type: "persistTerm", term: 9 }]);
  });

  test("the healthy leader answers ELECTION with COORDINATOR and stays leader", () => {
    const b = new BullyElection({ selfId: 3, persistedTerm: 0 });
    b.onView(view(null, 4, [1, 2, 3]));
    b.onClaimResult(true, 5);
    expect(b.onMessage(1, election(8, 1))).toEqual([
      { type: "persistTerm", term: 8 },
      { type: "send", to: 1, message: coordinator(8, 3, 5) },
    ]);
    expect(b.phase).toBe("leader");
  });

  test("while claiming it answers but does not restart", () => {
    const b = broker2(view(null, 4, [1, 2]));
    expect(b.phase).toBe("claiming");
    expect(b.onMessage(1, election(3, 1))).toEqual([
      { type: "persistTerm", term: 3 },
      { type: "send", to: 1, message: answer(3, 2) },
    ]);
  });

  test("a sender id that does not match the connection is ignored", () => {
    const b = broker2();
    expect(b.onMessage(1, election(5, 3))).toEqual([]);
    expect(b.onMessage(2, election(5, 2))).toEqual([]);
  });
});

describe("bully election: terms", () => {
  test("stale messages are ignored; a stale ELECTION from a lower id is answered at the current term", () => {
    const b = broker2(view(null, 4, [1, 2, 3]), 9);
    expect(b.term).toBe(10);
    expect(b.onMessage(3, answer(9, 3))).toEqual([]);
    expect(b.phase).toBe("electing");
    expect(b.onMessage(3, coordinator(9, 3, 6))).toEqual([]);
    expect(b.leaderId).toBe(null);
    expect(b.onMessage(1, election(9, 1))).toEqual([{ type: "send", to: 1, message: answer(10, 2) }]);
    expect(b.onMessage(3, election(9, 3))).toEqual([]);
  });

  test("a higher term is persisted before anything is sent", () => {
    const b = broker2(view(null, 4, [1, 2, 3]));
    const actions = b.onMessage(1, election(20, 1));
    expect(actions[0]).toEqual({ type: "persistTerm", term: 20 });
    expect(actions.filter((a) => a.type === "persistTerm")).toHaveLength(1);
  });

  test("the persisted term survives a restart", () => {
    const before = broker2(view(null, 4, [1, 2, 3]));
    const persisted = before.start("x").find((a) => a.type === "persistTerm");
    expect(persisted).toEqual({ type: "persistTerm", term: 2 });
    const after = new BullyElection({ selfId: 2, persistedTerm: 2 });
    expect(after.term).toBe(2);
    after.onView(view(3, 4, [1, 2, 3]));
    expect(after.onMessage(3, coordinator(1, 3, 9))).toEqual([]);
    expect(after.start("x")[0]).toEqual({ type: "persistTerm", term: 3 });
  });
});

describe("bully election: views", () => {
  test("a returning broker follows a healthy active and never pre-empts it, even with a higher id", () => {
    const b = new BullyElection({ selfId: 9, persistedTerm: 0 });
    expect(b.onView(view(3, 6, [1, 3, 9]))).toEqual([{ type: "followLeader", leaderId: 3, term: 0, epoch: 6 }]);
    expect(b.onView(view(3, 6, [1, 3, 9]))).toEqual([]);
    expect(b.onMessage(3, coordinator(0, 3, 6))).toEqual([]);
  });

  test("COORDINATOR from a lower id with a current epoch is followed; an outdated epoch is not", () => {
    const b = new BullyElection({ selfId: 9, persistedTerm: 0 });
    b.onView(view(null, 6, [1, 3, 9], false));
    expect(b.onMessage(3, coordinator(0, 3, 5))).toEqual([]);
    expect(b.onMessage(3, coordinator(0, 3, 7))).toEqual([{ type: "followLeader", leaderId: 3, term: 0, epoch: 7 }]);
  });

  test("no active and no election needed (zookeeper starting): nothing changes", () => {
    const follower = broker2();
    expect(follower.onView(view(null, 4, [1, 2], false))).toEqual([]);
    expect(follower.phase).toBe("follower");
    const idle = new BullyElection({ selfId: 2, persistedTerm: 0 });
    expect(idle.onView(view(null, 0, [2], false))).toEqual([]);
    expect(idle.phase).toBe("idle");
  });

  test("views older than the known epoch are ignored", () => {
    const b = broker2(view(3, 5, [1, 2, 3]));
    expect(b.onView(view(null, 4, [1, 2, 3]))).toEqual([]);
    expect(b.leaderId).toBe(3);
  });

  test("a leader steps down when the view shows someone else active, or an election needed", () => {
    const leaderOf = () => {
      const b = new BullyElection({ selfId: 3, persistedTerm: 0 });
      b.onView(view(null, 4, [1, 2, 3]));
      b.onClaimResult(true, 5);
      return b;
    };
    expect(leaderOf().onView(view(2, 6, [1, 2, 3]))).toEqual([
      { type: "stepDown" },
      { type: "followLeader", leaderId: 2, term: 1, epoch: 6 },
    ]);
    const actions = leaderOf().onView(view(null, 5, [1, 2, 3]));
    expect(actions[0]).toEqual({ type: "stepDown" });
    expect(actions).toContainEqual({ type: "claimActive", term: 2, epoch: 6 });
  });

  test("stepDown leaves leadership once", () => {
    const b = new BullyElection({ selfId: 3, persistedTerm: 0 });
    b.onView(view(null, 4, [3]));
    b.onClaimResult(true, 5);
    expect(b.stepDown()).toEqual([{ type: "stepDown" }]);
    expect(b.stepDown()).toEqual([]);
    expect(b.phase).toBe("idle");
  });
});
