"use strict";
/* Viewport geometry, independent of the page: a view shows the square of ordered positions
   [x0, x0 + span) x [y0, y0 + span) in `size` pixels. Rows are y, columns x. */
const View = (() => {
  const MIN_SPAN = 4;

  function whole(m) { return { x0: 0, y0: 0, span: m }; }

  function clamp(view, m) {
    const span = Math.min(Math.max(view.span, Math.min(MIN_SPAN, m)), m);
    const keep = (v) => Math.min(Math.max(v, 0), m - span);
    return { x0: keep(view.x0), y0: keep(view.y0), span };
  }

  /** The cell (row, col) under pixel (px, py), or null outside the matrix. */
  function cellAt(view, size, px, py, m) {
    const col = Math.floor(view.x0 + (px / size) * view.span);
    const row = Math.floor(view.y0 + (py / size) * view.span);
    return row >= 0 && row < m && col >= 0 && col < m ? { row, col } : null;
  }

  /** The pixel rectangle of cells [r0, r1) x [c0, c1). */
  function pixelsOf(view, size, r0, r1, c0, c1) {
    const k = size / view.span;
    return { x: (c0 - view.x0) * k, y: (r0 - view.y0) * k, w: (c1 - c0) * k, h: (r1 - r0) * k };
  }

  /** Zoom by `factor` (< 1 zooms in) keeping the position under pixel (px, py) in place. */
  function zoomAt(view, size, px, py, factor, m) {
    const cx = view.x0 + (px / size) * view.span;
    const cy = view.y0 + (py / size) * view.span;
    const span = Math.min(Math.max(view.span * factor, Math.min(MIN_SPAN, m)), m);
    return clamp({ x0: cx - (px / size) * span, y0: cy - (py / size) * span, span }, m);
  }

  function pan(view, size, dx, dy, m) {
    const k = view.span / size;
    return clamp({ x0: view.x0 - dx * k, y0: view.y0 - dy * k, span: view.span }, m);
  }

  /** The view that shows positions [start, end) on the diagonal, with a margin. */
  function around(start, end, m) {
    const pad = Math.max(1, Math.round((end - start) * 0.05));
    return clamp({ x0: start - pad, y0: start - pad, span: end - start + 2 * pad }, m);
  }

  /** The view of a box dragged from pixel (ax, ay) to (bx, by): square, the larger side. */
  function box(view, size, ax, ay, bx, by, m) {
    const k = view.span / size;
    const span = Math.max(Math.abs(bx - ax), Math.abs(by - ay)) * k;
    return clamp({ x0: view.x0 + Math.min(ax, bx) * k, y0: view.y0 + Math.min(ay, by) * k, span }, m);
  }

  /** Page state <-> URL fragment ("#order=chosen&t=logit&v=0,0,300&..."). */
  function toHash(state) {
    const parts = [];
    for (const [key, value] of Object.entries(state)) {
      if (value === null || value === undefined || value === "") continue;
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
    }
    return "#" + parts.join("&");
  }

  /** The fragment's keys and values; parts that are not key=value or not decodable are
      skipped (a mangled link opens the default view, not an error). */
  function fromHash(hash) {
    const state = Object.create(null);
    for (const part of hash.replace(/^#/, "").split("&")) {
      const at = part.indexOf("=");
      if (at < 1) continue;
      try {
        state[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1));
      } catch (err) {
        if (!(err instanceof URIError)) throw err;
      }
    }
    return state;
  }

  function viewToText(view) {
    return [view.x0, view.y0, view.span].map((v) => Math.round(v * 100) / 100).join(",");
  }

  function viewFromText(text, m) {
    const v = String(text || "").split(",").map(Number);
    if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) return null;
    return clamp({ x0: v[0], y0: v[1], span: v[2] }, m);
  }

  return { whole, clamp, cellAt, pixelsOf, zoomAt, pan, around, box, toHash, fromHash, viewToText, viewFromText };
})();
