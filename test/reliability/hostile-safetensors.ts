/**
 * Hostile model.safetensors files built from a genuine tiny-model file by changing one thing each: the length
 * prefix, the header JSON, offsets, dtypes, shapes, names, values. Served by the fake hub as they are, so the
 * listing's LFS oid is their true sha256: only the format can stop them.
 */

interface Parsed {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  data: Uint8Array;
}

function parse(file: Uint8Array): Parsed {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Parsed['header'];
  return { header, data: file.subarray(8 + n) };
}

/** length prefix + header text (padded to 8) + data; `declaredLength` overrides the prefix. */
function assemble(headerText: string, data: Uint8Array, declaredLength?: bigint): Uint8Array {
  const text = headerText + ' '.repeat((8 - (headerText.length % 8)) % 8);
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + bytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(bytes.length), true);
  out.set(bytes, 8);
  out.set(data, 8 + bytes.length);
  return out;
}

type Tensor = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** Tensor entries (not __metadata__), in offset order. */
function tensors(p: Parsed): [string, Tensor][] {
  return (Object.entries(p.header).filter(([k]) => k !== '__metadata__') as [string, Tensor][]).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
}

export function hostileSafetensors(genuine: Uint8Array): Record<string, Uint8Array> {
  const fresh = () => parse(genuine);
  const edit = (change: (p: Parsed) => void): Uint8Array => {
    const p = fresh();
    change(p);
    return assemble(JSON.stringify(p.header), p.data);
  };
  const { header, data } = fresh();
  const text = JSON.stringify(header);
  const list = tensors(fresh());
  const [firstName] = list[0];
  const bytesOf = (t: Tensor) => t.data_offsets[1] - t.data_offsets[0];
  // Two tensors of the same byte size (e.g. two norm weights), to lay one on the other's bytes.
  const pair = list.flatMap((a, i) => list.slice(i + 1).filter((b) => bytesOf(b[1]) === bytesOf(a[1])).map((b) => [a, b] as const))[0];
  return {
    'safetensors: header length 2^60': assemble(text, data, 1n << 60n),
    'safetensors: header length past the end of the file': assemble(text, data, BigInt(genuine.length + 1000)),
    'safetensors: file of 4 bytes': genuine.subarray(0, 4),
    'safetensors: header not JSON': assemble(`{"${firstName}": {"dtype": "BF16", "shape": [`, data),
    'safetensors: header is a JSON array': assemble('[]', data),
    'safetensors: unknown dtype': edit((p) => ((p.header[firstName] as Tensor).dtype = 'Q4_K')),
    'safetensors: shape overflow (2^53 x 2^53)': edit((p) => ((p.header[firstName] as Tensor).shape = [2 ** 53, 2 ** 53])),
    'safetensors: negative dimension': edit((p) => ((p.header[firstName] as Tensor).shape = [-1, ...(p.header[firstName] as Tensor).shape.slice(1)])),
    'safetensors: offsets past the end of the data': edit((p) => {
      const [lastName, last] = tensors(p).at(-1)!;
      (p.header[lastName] as Tensor).data_offsets = [last.data_offsets[0], p.data.length + 4096];
    }),
    'safetensors: offsets disagree with the shape': edit((p) => {
      const t = p.header[firstName] as Tensor;
      t.data_offsets = [t.data_offsets[0], t.data_offsets[1] - 2];
    }),
    'safetensors: overlapping tensors': edit((p) => {
      // Two same-size tensors on the same bytes (a hole is left where the second was).
      if (!pair) throw new Error('hostile safetensors: no two tensors of the same size');
      (p.header[pair[1][0]] as Tensor).data_offsets = [...pair[0][1].data_offsets];
    }),
    'safetensors: duplicate tensor name': assemble(text.replace(/^\{/, `{"${firstName}": ${JSON.stringify(header[firstName])}, `), data),
    'safetensors: __proto__ as a tensor name': assemble(text.replace(/^\{/, `{"__proto__": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}, `), data),
    'safetensors: metadata values not strings': edit((p) => (p.header.__metadata__ = { format: 'pt', evil: { nested: [1, 2, 3] } } as unknown as Record<string, string>)),
    'safetensors: every weight NaN': (() => {
      const out = genuine.slice();
      const start = genuine.length - data.length;
      // bf16 NaN is 0x7fc0 (little endian c0 7f)
      for (let i = start; i + 1 < out.length; i += 2) {
        out[i] = 0xc0;
        out[i + 1] = 0x7f;
      }
      return out;
    })(),
  };
}
