/**
 * Valid request frames for every api of the client port and the zookeeper's
 * TCP port: what the mutations start from. Frames are
 * u32 frameLength | u32 envelopeLength | envelope | attachment.
 */
import { encodeBatch } from "../../../src/log/record-codec";
import { API, ZK_API } from "../../../src/protocol/api";
import { concatChunks } from "../../../src/protocol/frame-codec";
import { requestFrame } from "../raw-socket";
import type { MutationOptions } from "./mutations";

const utf8 = new TextEncoder();

/** Mutation settings for request frames: both length fields, and the envelope as the MessagePack body. */
export function requestFrameMutations(maxFrameBytes: number): MutationOptions {
  return {
    maxFrameBytes,
    u32LengthFields: [0, 4],
    body: (input) => {
      const envelopeLength = input.length >= 8 ? new DataView(input.buffer, input.byteOffset).getUint32(4) : 0;
      return { start: 8, end: Math.min(input.length, 8 + envelopeLength) };
    },
    reframe: (envelope, original) => {
      const envelopeLength = original.length >= 8 ? new DataView(original.buffer, original.byteOffset).getUint32(4) : 0;
      const attachment = original.subarray(Math.min(original.length, 8 + envelopeLength));
      const head = new Uint8Array(8);
      const dv = new DataView(head.buffer);
      dv.setUint32(0, 4 + envelope.length + attachment.length);
      dv.setUint32(4, envelope.length);
      return concatChunks([head, envelope, attachment]);
    },
  };
}

/** One valid request per client api, on topic `topic` (which has partitions 0 and 1) and group `group`. */
export function clientCorpus(topic: string, group: string): Uint8Array[] {
  const batch = encodeBatch([{ key: utf8.encode("k"), value: utf8.encode("fuzzed value"), headers: [["h", utf8.encode("v")]] }]);
  const idempotent = encodeBatch([{ value: utf8.encode("idempotent") }], { producerId: 7, producerEpoch: 0, baseSequence: 0 });
  const two = [batch, idempotent].map((b) => b.slice());
  const member = { groupId: group, memberId: "member-1" };
  return [
    requestFrame(API.metadata, {}),
    requestFrame(API.metadata, { topics: [topic, "absent"] }),
    requestFrame(API.listTopics, {}),
    requestFrame(API.describeTopic, { name: topic }),
    requestFrame(API.createTopic, { name: `${topic}-new`, partitions: 1, config: { segmentBytes: 1024 * 1024, retentionMs: -1 } }),
    requestFrame(API.deleteTopic, { name: `${topic}-new` }),
    requestFrame(API.produce, { topic, acks: "all", partitions: [{ partition: 0, bytes: batch.length }] }, [batch.slice()]),
    requestFrame(API.produce, { topic, acks: "1", partitions: [{ partition: 0, bytes: two[0]!.length }, { partition: 1, bytes: two[1]!.length }] }, two),
    requestFrame(API.produce, { topic, acks: "0", partitions: [{ partition: 1, bytes: batch.length }] }, [batch.slice()]),
    requestFrame(API.subscribe, { subscriptionId: 1, topic, partitions: [{ partition: 0, start: { type: "earliest" } }], credit: 65536 }),
    requestFrame(API.subscribe, {
      subscriptionId: 2,
      topic,
      partitions: [{ partition: 1, start: { type: "offset", offset: 0 } }, { partition: 0, start: { type: "timestamp", timestamp: 0 } }],
      credit: 1024,
      outOfRange: "earliest",
    }),
    requestFrame(API.credit, { subscriptionId: 1, bytes: 4096 }),
    requestFrame(API.unsubscribe, { subscriptionId: 1 }),
    requestFrame(API.listOffsets, { topic, partitions: [{ partition: 0, spec: "earliest" }, { partition: 1, spec: { timestamp: 1 } }] }),
    requestFrame(API.joinGroup, { ...member, memberId: null, clientId: "fuzz", topics: [topic], assignors: ["range"], sessionTimeoutMs: 1000, rebalanceTimeoutMs: 1000 }),
    requestFrame(API.syncGroup, { ...member, owned: [{ topic, partitions: [0] }] }),
    requestFrame(API.heartbeat, member),
    requestFrame(API.leaveGroup, member),
    requestFrame(API.commitOffsets, { ...member, memberId: null, generationId: -1, offsets: [{ topic, partition: 0, offset: 0, metadata: "m" }] }),
    requestFrame(API.fetchOffsets, { groupId: group, topics: [{ topic, partitions: [0, 1] }] }),
    requestFrame(API.listGroups, {}),
    requestFrame(API.describeGroup, { groupId: group }),
    requestFrame(API.deleteGroup, { groupId: group }),
  ];
}

/** The zookeeper's TCP requests: the view, and epoch claims for broker `brokerId`. */
export function zookeeperCorpus(brokerId: number): Uint8Array[] {
  return [
    requestFrame(ZK_API.view, {}),
    requestFrame(ZK_API.view, null),
    requestFrame(ZK_API.claim, { brokerId, epoch: 1 }),
    requestFrame(ZK_API.claim, { brokerId: brokerId + 1, epoch: 2 }),
  ];
}
