/**
 * Sends fuzz cases to a TCP port, one connection per case: noise, mutated
 * valid frames, a valid frame followed by a mutated one, and valid frames cut
 * short, each written in a few pieces; some connections hang up right after,
 * the rest stay open until the batch ends (a peer left waiting mid-frame).
 */
import { openRawSocket, type RawSocket } from "../raw-socket";
import type { FuzzCase } from "./fuzz-run";
import { int, mutate, type MutationOptions, noise, pick, type Random } from "./mutations";

export interface TcpFuzzTarget {
  port: () => number;
  /** Valid frames, length prefix included. */
  corpus: readonly Uint8Array[];
  mutation: MutationOptions;
}

export interface TcpCase {
  chunks: Uint8Array[];
  hangUp: boolean;
}

export function tcpCase(random: Random, target: TcpFuzzTarget): TcpCase {
  const valid = () => pick(random, target.corpus);
  let bytes: Uint8Array;
  const kind = random();
  if (kind < 0.1) bytes = noise(random);
  else if (kind < 0.75) bytes = mutate(random, valid(), target.mutation, target.corpus);
  else if (kind < 0.9) bytes = concat(valid(), mutate(random, valid(), target.mutation, target.corpus));
  else bytes = valid().slice(0, int(random, valid().length));
  return { chunks: split(random, bytes), hangUp: random() < 0.5 };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function split(random: Random, bytes: Uint8Array): Uint8Array[] {
  const pieces = 1 + int(random, 3);
  const cuts = Array.from({ length: pieces - 1 }, () => int(random, bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) chunks.push(bytes.subarray(at, cut));
    at = cut;
  }
  return chunks;
}

/**
 * Runs one batch: every case on its own connection, written piece by piece.
 * `settle` runs while the connections are still open (typically a normal
 * client's round trip, so the server has read the garbage); then they close.
 */
export async function sendTcpBatch(cases: FuzzCase[], target: TcpFuzzTarget, settle: () => Promise<void>): Promise<void> {
  const sockets: RawSocket[] = [];
  try {
    await Promise.all(
      cases.map(async ({ random }) => {
        const fuzz = tcpCase(random, target);
        const socket = await openRawSocket(target.port(), { decode: false });
        sockets.push(socket);
        for (const chunk of fuzz.chunks) {
          socket.write(chunk);
          await socket.flushed();
        }
        if (fuzz.hangUp) socket.end();
      }),
    );
    await settle();
  } finally {
    for (const socket of sockets) socket.end();
  }
}
