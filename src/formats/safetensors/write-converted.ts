/**
 * Float conversion straight into a SlotWriter's slots: no converted copy of a chunk exists outside the ring.
 */
import { convertFloatBytes, convertFloatInto, floatDtypeSize, type FloatDtype } from './convert.js';
import type { SlotWriter } from './slot-writer.js';

/**
 * Converts whole `from` elements in `bytes` into `out`. At a position that is not a multiple of the output element
 * size (the safetensors order never produces one for float tensors) it converts aside and copies instead.
 */
export async function writeConverted(out: SlotWriter, bytes: Uint8Array, from: FloatDtype, to: FloatDtype, label: string): Promise<void> {
  const inSize = floatDtypeSize(from);
  const outSize = floatDtypeSize(to);
  if (out.position % outSize !== 0) {
    await out.write(convertFloatBytes(bytes, from, to, label));
    return;
  }
  let done = 0;
  while (done < bytes.length) {
    // Slots are multiples of 8 bytes and the position is aligned, so the room holds whole output elements.
    const room = await out.room();
    const count = Math.min((bytes.length - done) / inSize, Math.floor(room.length / outSize));
    convertFloatInto(bytes.subarray(done, done + count * inSize), from, to, room.subarray(0, count * outSize), label);
    done += count * inSize;
    await out.commit(count * outSize);
  }
}
