/**
 * What the storage engine tells whoever runs it (the broker wires metrics and
 * logs to it); storage itself knows nothing of either.
 */
import type { KafkaCloneError } from "../errors";
import { type FileIO, withDatasyncHooks } from "./file-io";

export interface LogObserver {
  /** Records and bytes appended to a partition (a retried batch already in the log counts nothing). */
  appended?(topic: string, partition: number, records: number, bytes: number): void;
  /** A write or fsync failed: the partition acknowledges nothing more until it is reopened. */
  storageError?(topic: string, partition: number, error: KafkaCloneError): void;
}

/** `io` with every fdatasync timed (seconds), for fsync latency figures. */
export function timedFileIO(io: FileIO, synced: (seconds: number) => void): FileIO {
  return withDatasyncHooks(io, {
    async async(_fd, datasync) {
      const started = performance.now();
      await datasync();
      synced((performance.now() - started) / 1000);
    },
    sync(_fd, datasync) {
      const started = performance.now();
      datasync();
      synced((performance.now() - started) / 1000);
    },
  });
}
