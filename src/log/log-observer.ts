/**
 * What the storage engine tells whoever runs it (the broker wires metrics and
 * logs to it); storage itself knows nothing of either.
 */
import type { KafkaCloneError } from "../errors";
import type { FileIO } from "./file-io";

export interface LogObserver {
  /** Records and bytes appended to a partition (a retried batch already in the log counts nothing). */
  appended?(topic: string, partition: number, records: number, bytes: number): void;
  /** A write or fsync failed: the partition acknowledges nothing more until it is reopened. */
  storageError?(topic: string, partition: number, error: KafkaCloneError): void;
}

/** `io` with every fdatasync timed (seconds), for fsync latency figures. */
export function timedFileIO(io: FileIO, synced: (seconds: number) => void): FileIO {
  return {
    ...io,
    async datasync(fd) {
      const started = performance.now();
      await io.datasync(fd);
      synced((performance.now() - started) / 1000);
    },
    datasyncSync(fd) {
      const started = performance.now();
      io.datasyncSync(fd);
      synced((performance.now() - started) / 1000);
    },
  };
}
