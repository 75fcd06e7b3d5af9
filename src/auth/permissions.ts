/**
 * What a user may do, per topic and per consumer group. Each list holds name
 * patterns where `*` matches any run of characters (`orders`, `logs.*`,
 * `team-*-events`, `*`); everything not granted is refused.
 *
 *   read    subscribe, list offsets, describe; join groups over the topic and commit its offsets
 *   write   produce
 *   admin   create and delete the topic
 *   groups  consumer groups the user may join, commit for, describe and delete
 */

export type TopicOperation = "read" | "write" | "admin";

export interface PermissionLists {
  read: string[];
  write: string[];
  admin: string[];
  groups: string[];
}

/** Whether `name` matches `pattern` (`*` = any run of characters, everything else literal). */
export function matchesPattern(pattern: string, name: string): boolean {
  return compile(pattern).test(name);
}

function compile(pattern: string): RegExp {
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${source}$`, "s");
}

class PatternSet {
  private readonly patterns: RegExp[];

  constructor(readonly sources: readonly string[]) {
    this.patterns = sources.map(compile);
  }

  has(name: string): boolean {
    return this.patterns.some((pattern) => pattern.test(name));
  }
}

export class UserPermissions {
  private readonly topics: Record<TopicOperation, PatternSet>;
  private readonly groupPatterns: PatternSet;

  constructor(lists: PermissionLists) {
    this.topics = { read: new PatternSet(lists.read), write: new PatternSet(lists.write), admin: new PatternSet(lists.admin) };
    this.groupPatterns = new PatternSet(lists.groups);
  }

  may(operation: TopicOperation, topic: string): boolean {
    return this.topics[operation].has(topic);
  }

  /** Any permission on the topic: it may be listed and described. */
  maySee(topic: string): boolean {
    return this.may("read", topic) || this.may("write", topic) || this.may("admin", topic);
  }

  mayUseGroup(groupId: string): boolean {
    return this.groupPatterns.has(groupId);
  }

  lists(): PermissionLists {
    return { read: [...this.topics.read.sources], write: [...this.topics.write.sources], admin: [...this.topics.admin.sources], groups: [...this.groupPatterns.sources] };
  }
}
