/**
 * Partition assignors, run by the coordinator (server-side, as in KIP-848):
 * range and round-robin, as Kafka defines them, and the choice of the one
 * strategy every member of a group supports.
 */
import { KafkaCloneError } from "../../errors";
import { tpKey } from "../../protocol/topic-partitions";

export { parseTpKey, tpKey } from "../../protocol/topic-partitions";

export interface AssignorMember {
  memberId: string;
  topics: readonly string[];
}

/** memberId → "topic:partition" keys, for every member (an empty list when it gets nothing). */
export type MemberAssignment = Map<string, string[]>;

export interface Assignor {
  readonly name: string;
  /** `members` in the group's order (oldest first); `partitionCounts` for the topics that exist. */
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): MemberAssignment;
}

export const ASSIGNOR_NAMES = ["range", "round-robin"] as const;
export type AssignorName = (typeof ASSIGNOR_NAMES)[number];

function emptyAssignment(members: readonly AssignorMember[]): MemberAssignment {
  return new Map(members.map((m) => [m.memberId, [] as string[]]));
}

function subscribedTopics(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): string[] {
  return [...new Set(members.flatMap((m) => m.topics))].filter((t) => partitionCounts.has(t)).sort();
}

/** Per topic, contiguous ranges over the members subscribed to it; the first members get one extra. */
export const rangeAssignor: Assignor = {
  name: "range",
  assign(members, partitionCounts) {
    const result = emptyAssignment(members);
    for (const topic of subscribedTopics(members, partitionCounts)) {
      const consumers = members.filter((m) => m.topics.includes(topic));
      const count = partitionCounts.get(topic)!;
      const each = Math.floor(count / consumers.length);
      const extra = count % consumers.length;
      let next = 0;
      consumers.forEach((member, i) => {
        const take = each + (i < extra ? 1 : 0);
        for (let p = next; p < next + take; p++) result.get(member.memberId)!.push(tpKey(topic, p));
        next += take;
      });
    }
    return result;
  },
};

/** All partitions of all subscribed topics in order, dealt one at a time to the next member subscribed to that topic. */
export const roundRobinAssignor: Assignor = {
  name: "round-robin",
  assign(members, partitionCounts) {
    const result = emptyAssignment(members);
    if (members.length === 0) return result;
    let turn = 0;
    for (const topic of subscribedTopics(members, partitionCounts)) {
      for (let p = 0; p < partitionCounts.get(topic)!; p++) {
        // Some member is subscribed to this topic (it came from a subscription), so the loop ends.
        while (!members[turn % members.length]!.topics.includes(topic)) turn++;
        result.get(members[turn % members.length]!.memberId)!.push(tpKey(topic, p));
        turn++;
      }
    }
    return result;
  },
};

const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([rangeAssignor, roundRobinAssignor].map((a) => [a.name, a]));

export function assignorNamed(name: string): Assignor {
  const assignor = ASSIGNORS.get(name);
  if (!assignor) throw new KafkaCloneError("INVALID_ARGUMENT", `unknown assignor ${JSON.stringify(name)}; known: ${ASSIGNOR_NAMES.join(", ")}`);
  return assignor;
}

/**
 * The strategy the group uses, as Kafka chooses a group protocol: among the
 * assignors every member supports (and this broker implements), each member
 * votes for the one it prefers most; most votes wins, ties go to the oldest
 * member's preference. Null when there is no common assignor.
 */
export function chooseAssignor(preferences: readonly (readonly string[])[]): string | null {
  if (preferences.length === 0) return null;
  const common = preferences[0]!.filter((name) => ASSIGNORS.has(name) && preferences.every((list) => list.includes(name)));
  if (common.length === 0) return null;
  const votes = new Map<string, number>();
  for (const list of preferences) {
    const favourite = list.find((name) => common.includes(name))!;
    votes.set(favourite, (votes.get(favourite) ?? 0) + 1);
  }
  let best = common[0]!;
  for (const name of common) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
  return best;
}
