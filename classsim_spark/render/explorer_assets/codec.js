"use strict";
/* Decoding of the page's data: base64 -> deflate -> typed arrays, and the packed upper triangle
   of a symmetric matrix (row by row, diagonal included) that explorer.py writes. */
const Codec = (() => {
  function base64Bytes(text) {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  /** The unsigned array `Type` (Uint8Array, Uint16Array, Uint32Array) that explorer.py's
      `packed` wrote: its bytes in planes, lowest byte first. */
  async function unpack(text, Type) {
    const raw = await inflate(base64Bytes(text));
    return fromPlanes(raw, Type);
  }

  function fromPlanes(raw, Type) {
    const size = Type.BYTES_PER_ELEMENT;
    const n = raw.length / size;
    const out = new Type(n);
    for (let plane = 0; plane < size; plane++) {
      const shift = 8 * plane;
      const offset = plane * n;
      for (let i = 0; i < n; i++) out[i] += raw[offset + i] * 2 ** shift;
    }
    return out;
  }

  /** Index of cell (i, j) in the packed upper triangle of an m x m matrix. */
  function triangleIndex(i, j, m) {
    if (i > j) [i, j] = [j, i];
    return i * m - (i * (i - 1)) / 2 + (j - i);
  }

  /** A quantised symmetric matrix: code 0 is NaN, codes 1 .. 2^bits - 1 spread evenly over
      [lo, hi] (explorer.py's quantise). */
  class Triangle {
    constructor(codes, m, bits, lo, hi) {
      this.codes = codes;
      this.m = m;
      this.bits = bits;
      this.lo = lo;
      this.step = (hi - lo) / ((1 << bits) - 2);
    }
    code(i, j) { return this.codes[triangleIndex(i, j, this.m)]; }
    value(i, j) { return this.valueAt(this.code(i, j)); }
    valueAt(code) { return code === 0 ? NaN : this.lo + (code - 1) * this.step; }
  }

  return { base64Bytes, inflate, unpack, fromPlanes, triangleIndex, Triangle };
})();
