"use strict";
/* Colours as the figures draw them: matplotlib's 256-colour lookup with its normalisation
   (linear, or with a contrast exponent), values below a cut-off in the background colour. */
const Colours = (() => {
  function rgb(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }

  /** An opaque [r, g, b] as one pixel of ImageData's little-endian Uint32 view. */
  function abgr(c) {
    return (255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0];
  }

  /** Position in [0, 1] (or outside) of `value` on the scale, as matplotlib's norms compute it. */
  function normalise(value, s) {
    const g = s.contrast;
    if (g === 1) return (value - s.vmin) / (s.vmax - s.vmin);
    if (s.diverging) {
      const f = (x) => Math.sign(x) * Math.abs(x) ** g;
      return (f(value) - f(s.vmin)) / (f(s.vmax) - f(s.vmin));
    }
    return Math.max(value - s.vmin, 0) ** g / (s.vmax - s.vmin) ** g;
  }

  /** Index into a 256-colour table as matplotlib takes it (x * N, 1.0 -> N - 1, clipped). */
  function lutIndex(x, n) {
    if (!(x >= 0)) return 0;
    return x >= 1 ? n - 1 : Math.floor(x * n);
  }

  /** The limits a transform's matrix gets by default, as the figures take them: its exact
      off-diagonal range (symmetric when diverging), the low end raised to a cut-off. */
  function defaultLimits(limits, diverging, cutoff = null) {
    if (diverging) {
      const top = limits.high_abs > 0 ? limits.high_abs : 1;
      return { vmin: -top, vmax: top };
    }
    const lo = cutoff === null ? limits.low ?? 0 : Math.max(limits.low ?? cutoff, cutoff);
    const hi = limits.high ?? lo + 1;
    return hi > lo ? { vmin: lo, vmax: hi } : { vmin: lo, vmax: lo + 1 };
  }

  /** Packed ABGR (ImageData's little-endian Uint32 view) for every code of `triangle`. */
  function codeTable(triangle, scale) {
    const lut = scale.lut.map(rgb);
    const background = rgb(scale.background);
    const table = new Uint32Array(1 << triangle.bits);
    for (let code = 0; code < table.length; code++) {
      const value = triangle.valueAt(code);
      const hidden = Number.isNaN(value) || (scale.cutoff !== null && value < scale.cutoff);
      table[code] = abgr(hidden ? background : lut[lutIndex(normalise(value, scale), lut.length)]);
    }
    return table;
  }

  /** The colour of `value`, as "#rrggbb". */
  function hexOf(value, scale) {
    if (scale.cutoff !== null && value < scale.cutoff) return scale.background;
    return scale.lut[lutIndex(normalise(value, scale), scale.lut.length)];
  }

  return { rgb, abgr, normalise, lutIndex, defaultLimits, codeTable, hexOf };
})();
