/**
 * Topic names become directory names, so this check is a security boundary:
 * only [A-Za-z0-9._-], 1 to 249 characters, and never "." or "..".
 */
import { KafkaCloneError } from "../errors";

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[A-Za-z0-9._-]+$/;

export function topicNameProblem(name: unknown): string | null {
  if (typeof name !== "string") return "a topic name must be a string";
  if (name.length === 0) return "a topic name cannot be empty";
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `a topic name has at most ${MAX_TOPIC_NAME_LENGTH} characters, this one has ${name.length}`;
  if (name === "." || name === "..") return `"${name}" is not allowed as a topic name`;
  if (!LEGAL.test(name)) return `topic name ${JSON.stringify(name)} may only contain letters, digits, '.', '_' and '-'`;
  return null;
}

export function validateTopicName(name: unknown): string {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new KafkaCloneError("INVALID_TOPIC", problem);
  return name as string;
}
