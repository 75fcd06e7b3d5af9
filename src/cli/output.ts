/** How every command reports a failure: the error code and plain words on stderr, a non-zero exit. */
import { asKafkaCloneError } from "../errors";

export function failAndExit(error: unknown, exitCode = 1): never {
  process.stderr.write(`kafka-clone: ${asKafkaCloneError(error).describe()}\n`);
  process.exit(exitCode);
}
