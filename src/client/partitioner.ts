/**
 * Picks a partition for a record like Kafka's default partitioner: the
 * explicit one, else murmur2 of the key (so keys land where Kafka would put
 * them), else "sticky": one partition until its batch is sent, then the next.
 */
import { KafkaCloneError } from "../errors";

const KAFKA_MURMUR2_SEED = 0x9747b28c;

/** Kafka's `Utils.murmur2`: a signed 32-bit MurmurHash2 with Kafka's seed. */
export function murmur2(key: Uint8Array): number {
  return Bun.hash.murmur32v2(key, KAFKA_MURMUR2_SEED) | 0;
}

/** Kafka's `toPositive(murmur2(key)) % partitions`. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

export class StickyPartitioner {
  private current = new Map<string, number>();

  choose(topic: string, partitions: number, key: Uint8Array | null | undefined, explicit: number | undefined): number {
    if (explicit !== undefined) {
      if (!Number.isInteger(explicit) || explicit < 0 || explicit >= partitions) {
        throw new KafkaCloneError("INVALID_PARTITION", `topic ${topic} has partitions 0 to ${partitions - 1}, not ${explicit}`);
      }
      return explicit;
    }
    if (key !== null && key !== undefined) return partitionForKey(key, partitions);
    let sticky = this.current.get(topic);
    if (sticky === undefined || sticky >= partitions) {
      sticky = Math.floor(Math.random() * partitions);
      this.current.set(topic, sticky);
    }
    return sticky;
  }

  /** A batch for `partition` was sealed: keyless records move on. */
  batchSealed(topic: string, partition: number, partitions: number): void {
    if (this.current.get(topic) === partition) this.current.set(topic, (partition + 1) % partitions);
  }
}
