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
  // Delegated one by one: `io` may be a class instance, whose methods a spread would drop.
  return {
    openAppend: (path, exclusive) => io.openAppend(path, exclusive),
    openRead: (path) => io.openRead(path),
    close: (fd) => io.close(fd),
    size: (fd) => io.size(fd),
    pread: (fd, into, position) => io.pread(fd, into, position),
    writev: (fd, chunks) => io.writev(fd, chunks),
    truncate: (fd, length) => io.truncate(fd, length),
    syncDirectory: (path) => io.syncDirectory(path),
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
