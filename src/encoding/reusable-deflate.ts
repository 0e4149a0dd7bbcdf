// zlib deflate (level 6, Erlang's `compressed` default) for many small inputs. zlib.deflateSync builds and
// frees a whole zlib state (about 256 KB) per call, which cost 75-80 µs per archived message; one state
// reset between inputs gives the same bytes in about 6 µs. The reset path uses the zlib handle under Node's
// Deflate stream (writeSync / reset / _writeState, stable since Node 12); if it is ever missing or
// misbehaves, every call falls back to deflateSync, so the output never changes.
import { constants, createDeflate, deflateSync } from 'node:zlib';

interface NativeZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  reset(): void;
}

let handle: NativeZlibHandle | undefined;
let writeState: Uint32Array | undefined;
let usable = true;
let out = Buffer.allocUnsafe(64 * 1024);

function engine(): NativeZlibHandle | undefined {
  if (handle || !usable) return handle;
  const stream = createDeflate({ level: 6 }) as unknown as { _handle?: NativeZlibHandle; _writeState?: Uint32Array };
  if (typeof stream._handle?.writeSync !== 'function' || typeof stream._handle.reset !== 'function' || !(stream._writeState instanceof Uint32Array)) {
    usable = false;
    return undefined;
  }
  handle = stream._handle;
  writeState = stream._writeState;
  return handle;
}

/** The zlib stream of `input`, byte for byte what deflateSync(input) gives. */
export function deflate(input: Buffer): Buffer {
  const h = engine();
  if (!h) return deflateSync(input);
  // Room for incompressible input: stored blocks add 5 bytes per 16 KB, plus header and checksum.
  const bound = input.length + (input.length >> 12) + 64;
  if (out.length < bound) out = Buffer.allocUnsafe(bound);
  try {
    h.reset();
    h.writeSync(constants.Z_FINISH, input, 0, input.length, out, 0, out.length);
  } catch {
    usable = false;
    handle = undefined;
    return deflateSync(input);
  }
  const availOut = writeState![0]!;
  const availIn = writeState![1]!;
  // Under Z_FINISH, input consumed with output room left means the stream ended.
  if (availIn !== 0 || availOut === 0) return deflateSync(input);
  return Buffer.from(out.subarray(0, out.length - availOut));
}
