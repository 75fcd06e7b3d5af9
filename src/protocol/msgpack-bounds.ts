/**
 * A structural check of untrusted MessagePack before it is decoded.
 *
 * The decoder trusts the element count an array header declares and
 * allocates for it: a 42-byte frame declaring an array of 28 million
 * elements made the broker allocate 225 MB before failing "unexpected end"
 * (found by the client-port fuzzer). This walk allocates nothing: every
 * declared length must fit in the bytes that are left (an element takes at
 * least one byte), and nesting is limited so the recursive decoder cannot
 * overflow its stack.
 */
import { KafkaCloneError } from "../errors";

export const MAX_MSGPACK_DEPTH = 32;

/** Throws INVALID_REQUEST unless `bytes` holds exactly one well-bounded MessagePack value. */
export function assertMsgpackBounds(bytes: Uint8Array, what: string, maxDepth = MAX_MSGPACK_DEPTH): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  /** Elements still expected by each open container, innermost last. */
  const open: number[] = [];
  let pending = 1; // values still to read in total: bounded by the bytes left
  let at = 0;
  const fail = (reason: string): never => {
    throw new KafkaCloneError("INVALID_REQUEST", `${what} is not valid MessagePack: ${reason} at byte ${at}`);
  };
  const need = (n: number) => {
    if (n > end - at) fail(`a length of ${n} runs past the end`);
  };
  const container = (items: number) => {
    pending += items;
    if (pending > end - at) fail(`${items} elements declared, leaving ${pending} values for ${end - at} bytes`);
    if (items === 0) return;
    if (open.length >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
    open.push(items);
  };
  while (pending > 0) {
    if (at >= end) fail("unexpected end");
    pending--;
    // This value fills a slot of the innermost open container; close the ones it completes.
    if (open.length > 0) open[open.length - 1]!--;
    const b = bytes[at++]!;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, nil, booleans: no payload
    } else if (b <= 0x8f) container(2 * (b & 0x0f));
    else if (b <= 0x9f) container(b & 0x0f);
    else if (b <= 0xbf) skip(b & 0x1f);
    else {
      switch (b) {
        case 0xc4: case 0xd9: need(1); skip(dv.getUint8(at++)); break;
        case 0xc5: case 0xda: need(2); at += 2; skip(dv.getUint16(at - 2)); break;
        case 0xc6: case 0xdb: need(4); at += 4; skip(dv.getUint32(at - 4)); break;
        case 0xc7: need(1); skip(dv.getUint8(at) + 1, 1); break;
        case 0xc8: need(2); skip(dv.getUint16(at) + 1, 2); break;
        case 0xc9: need(4); skip(dv.getUint32(at) + 1, 4); break;
        case 0xca: case 0xce: case 0xd2: skip(4); break;
        case 0xcb: case 0xcf: case 0xd3: skip(8); break;
        case 0xcc: case 0xd0: skip(1); break;
        case 0xcd: case 0xd1: skip(2); break;
        case 0xd4: skip(2); break;
        case 0xd5: skip(3); break;
        case 0xd6: skip(5); break;
        case 0xd7: skip(9); break;
        case 0xd8: skip(17); break;
        case 0xdc: need(2); at += 2; container(dv.getUint16(at - 2)); break;
        case 0xdd: need(4); at += 4; container(dv.getUint32(at - 4)); break;
        case 0xde: need(2); at += 2; container(2 * dv.getUint16(at - 2)); break;
        case 0xdf: need(4); at += 4; container(2 * dv.getUint32(at - 4)); break;
        default: fail(`byte 0x${b.toString(16)} is never used`);
      }
    }
    while (open.length > 0 && open[open.length - 1] === 0) open.pop();
  }
  if (at !== end) fail(`${end - at} bytes after the value`);

  /** Skips a payload of `n` bytes that follows `header` more header bytes (ext: length, then type). */
  function skip(n: number, header = 0): void {
    need(header + n);
    at += header + n;
  }
}
