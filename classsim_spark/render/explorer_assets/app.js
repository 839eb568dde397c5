"use strict";
/* The page: reads the data element, draws the matrix and its overlay for the current state,
   and wires the controls. Every string from the data is set as text, never as HTML. */
const Explorer = (() => {
  const LEFT = 170;      // room for the dendrogram, block brackets and row names
  const DENDRO_RIGHT = 72; // the dendrogram spans x = 4 .. DENDRO_RIGHT
  const FAILED_PX = 11;  // width of one failed group's column
  const BOTTOM = 120;    // room for column names
  const BAR = 8;         // height of one taxonomy bar
  const NAME_PX = 10;    // names are drawn once a cell is this many pixels high
  const settings = { fullMax: 4096 }; // up to this many classes the matrix is painted whole
  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#bab0ac"];

  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  };
  const fmt = (x, digits = 3) => (x === null || x === undefined ? "n/a" : Number(x).toFixed(digits));

  let data, m, matrices = {}, counts = null, orders = {}, state, geometry, tables = {};

  function orderOf(key) { return has(orders, key) ? orders[key] : orders.chosen; }

  function positions(order) {
    const pos = new Int32Array(m);
    order.forEach((id, p) => { pos[id] = p; });
    return pos;
  }

  // ------------------------------------------------------------------ state and URL

  const has = (object, key) => typeof key === "string" && Object.hasOwn(object, key);

  /** The opening view: the chosen order and what `render` was told (transform, colours). */
  function defaults() {
    const start = data.initial;
    return { o: "chosen", cmp: "", t: has(matrices, start.transform) ? start.transform : data.chosen,
      layer: "similarity", v: View.whole(m), div: start.diverging, cut: start.cutoff,
      con: start.contrast, c: null };
  }

  function readHash() {
    const h = View.fromHash(location.hash);
    const s = defaults();
    if (has(orders, h.o)) s.o = h.o;
    if (has(orders, h.cmp) || has(matrices, besideMatrix(h.cmp))) s.cmp = h.cmp;
    if (has(matrices, h.t)) s.t = h.t;
    if (h.layer === "counts" && counts) s.layer = "counts";
    s.v = View.viewFromText(h.v, m) || s.v;
    const number = (text) => (text === undefined || text === "" ? NaN : Number(text));
    if (h.div !== undefined) s.div = h.div === "1";
    if (h.cut !== undefined) s.cut = Number.isFinite(number(h.cut)) ? number(h.cut) : null;
    if (number(h.con) > 0) s.con = number(h.con);
    const c = number(h.c);
    s.c = Number.isInteger(c) && c >= 0 && c < m ? c : null;
    return s;
  }

  /** The state in the URL fragment, at most every 200 ms (browsers limit history writes). */
  let hashTimer = null;
  function writeHash() {
    clearTimeout(hashTimer);
    hashTimer = setTimeout(() => {
      const hash = View.toHash({ o: state.o, cmp: state.cmp, t: state.t,
        layer: state.layer === "counts" ? "counts" : "", v: View.viewToText(state.v),
        div: state.div ? "1" : "0", cut: state.cut ?? "", con: state.con, c: state.c ?? "" });
      history.replaceState(null, "", hash);
    }, 200);
  }

  function update(changes) {
    Object.assign(state, changes);
    syncControls();
    draw();
    writeHash();
  }

  // ------------------------------------------------------------------ colours

  /** The colour scale of matrix `t` (default the shown transform): diverging when asked, or
      always for a matrix the data mark so (a difference of two matrices). */
  function scale(t = state.t) {
    const div = state.div || (data.diverging || []).includes(t);
    const limits = Colours.defaultLimits(data.colours.limits[t], div, state.cut);
    return { ...limits, lut: div ? data.colours.diverging : data.colours.sequential,
      diverging: div, contrast: state.con, cutoff: state.cut, background: data.colours.background };
  }

  function table(t) {
    const s = scale(t);
    const key = JSON.stringify([t, s.vmin, s.vmax, s.diverging, s.contrast, s.cutoff]);
    if (!tables[key]) {
      if (Object.keys(tables).length >= 4) tables = {}; // the panels shown need two at most
      tables[key] = Colours.codeTable(matrices[t], s);
    }
    return tables[key];
  }

  /** The matrix a "beside" choice shows in the main order ("matrix:<t>"), else null. */
  function besideMatrix(cmp) {
    return typeof cmp === "string" && cmp.startsWith("matrix:") ? cmp.slice(7) : null;
  }

  // ------------------------------------------------------------------ drawing

  /** One matrix panel, or two side by side (the compared order left, the main order right,
      as Fig. 2a beside 2b); both show the same positions of their orders. The main panel's
      left, top and size are also the geometry's own. */
  function layout() {
    const stage = $("stage");
    const levels = data.taxonomy ? data.taxonomy.levels.length : 0;
    const top = 6 + levels * (BAR + 2);
    const main = { o: state.o, t: state.t };
    const other = besideMatrix(state.cmp);
    const keys = !state.cmp ? [main] : [other ? { o: state.o, t: other } : { o: state.cmp, t: state.t }, main];
    const across = (stage.clientWidth - 12) / keys.length - LEFT - failedWidth();
    const size = Math.max(50, Math.floor(Math.min(across, stage.clientHeight - top - BOTTOM)));
    const panels = keys.map((key, n) => ({ ...key, left: LEFT + n * (size + LEFT + failedWidth()), top, size }));
    return { ...panels[panels.length - 1], panels, width: stage.clientWidth, height: stage.clientHeight };
  }

  function draw() {
    geometry = layout();
    const { width, height } = geometry;
    for (const id of ["matrix", "overlay"]) {
      const canvas = $(id);
      if (canvas.width !== width) canvas.width = width;
      if (canvas.height !== height) canvas.height = height;
      canvas.getContext("2d").clearRect(0, 0, width, height);
    }
    for (const panel of geometry.panels) {
      drawMatrix(panel);
      drawOverlay(panel);
    }
    drawLegend();
  }

  /** Fill `pixels` (rows x cols, ABGR) with the cells of class ids rowIds x colIds of matrix `t`
      (or of the label counts when they are the layer shown). */
  function paint(pixels, rowIds, colIds, t) {
    const cols = colIds.length;
    if (state.layer === "counts") {
      const lut = data.colours.sequential.map((hex) => Colours.abgr(Colours.rgb(hex)));
      const none = Colours.abgr([255, 255, 255]);
      const max = counts.max || 1;
      rowIds.forEach((i, r) => {
        for (let c = 0; c < cols; c++) {
          const n = counts.values[i * m + colIds[c]];
          pixels[r * cols + c] = n > 0 ? lut[Colours.lutIndex(Math.log1p(n) / Math.log1p(max), lut.length)] : none;
        }
      });
      return;
    }
    const codes = matrices[t].codes;
    const colours = table(t);
    rowIds.forEach((i, r) => {
      const rowStart = i * m - (i * (i - 1)) / 2 - i;
      for (let c = 0; c < cols; c++) {
        const j = colIds[c];
        const index = j >= i ? rowStart + j : j * m - (j * (j - 1)) / 2 + (i - j);
        pixels[r * cols + c] = colours[codes[index]];
      }
    });
  }

  /** The whole ordered matrix, one pixel per cell, for the current layer, order and colours. */
  let painted = new Map(); // panel (order, matrix) -> {key, canvas}, for the panels shown
  function fullImage(o, t) {
    const s = scale(t);
    const key = JSON.stringify([state.layer, t, o, s.vmin, s.vmax, s.diverging, s.contrast, s.cutoff]);
    const shown = new Set(geometry.panels.map((panel) => `${panel.o}\u0000${panel.t}`));
    for (const old of painted.keys()) if (!shown.has(old)) painted.delete(old);
    const slot = `${o}\u0000${t}`;
    let entry = painted.get(slot);
    if (!entry || entry.key !== key) {
      const canvas = entry ? entry.canvas : document.createElement("canvas");
      canvas.width = m;
      canvas.height = m;
      const ctx = canvas.getContext("2d");
      const image = ctx.createImageData(m, m);
      const order = Int32Array.from(orderOf(o).order);
      paint(new Uint32Array(image.data.buffer), order, order, t);
      ctx.putImageData(image, 0, 0);
      entry = { key, canvas };
      painted.set(slot, entry);
    }
    return entry.canvas;
  }

  /** The matrix area. Up to settings.fullMax classes the whole matrix is painted once (per order,
      transform and colour change) and each view scaled from it: averaged when a cell is under
      a pixel, nearest (exact colours) when larger. Past it, each view samples one cell per
      pixel. */
  function drawMatrix({ o, t, left, top, size }) {
    const ctx = $("matrix").getContext("2d");
    const v = state.v;
    if (m <= settings.fullMax) {
      ctx.imageSmoothingEnabled = size < v.span;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(fullImage(o, t), v.x0, v.y0, v.span, v.span, left, top, size, size);
      return;
    }
    const order = orderOf(o).order;
    const sample = (start) => Int32Array.from({ length: size },
      (_, p) => order[Math.min(m - 1, Math.floor(start + ((p + 0.5) / size) * v.span))]);
    const image = ctx.createImageData(size, size);
    paint(new Uint32Array(image.data.buffer), sample(v.y0), sample(v.x0), t);
    ctx.putImageData(image, left, top);
  }

  function drawOverlay({ o, left, top, size }) {
    const ctx = $("overlay").getContext("2d");
    const v = state.v;
    const k = size / v.span;
    const order = orderOf(o).order;
    const at = (p) => (p - v.y0) * k;
    ctx.save();
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    drawTaxonomyBars(ctx, left, top, size, order);
    ctx.strokeStyle = "#999";
    ctx.strokeRect(left - 0.5, top - 0.5, size + 1, size + 1);
    ctx.beginPath();
    ctx.rect(left, top, size, size);
    ctx.clip();
    if (o === "chosen") drawStructure(ctx, left, top, size);
    if (state.c !== null) {
      const p = positions(order)[state.c];
      ctx.strokeStyle = "#ff00ff";
      ctx.lineWidth = 2;
      ctx.strokeRect(left, top + at(p), size, Math.max(k, 1));
      ctx.strokeRect(left + (p - v.x0) * k, top, Math.max(k, 1), size);
    }
    ctx.restore();
    ctx.save();
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    if (o === "chosen") {
      drawDendrogram(ctx, left - LEFT, top, size);
      drawFailedColumns(ctx, left, top, size);
    }
    if (k >= NAME_PX) drawNames(ctx, left, top, size, order, o === "chosen");
    else drawBrackets(ctx, left, top, size, bracketsOf(o), o === "chosen");
    ctx.restore();
  }

  function drawTaxonomyBars(ctx, left, top, size, order) {
    if (!data.taxonomy) return;
    const v = state.v;
    const k = size / v.span;
    const first = Math.max(0, Math.floor(v.x0));
    const last = Math.min(m, Math.ceil(v.x0 + v.span));
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, 0, size, top);
    ctx.clip();
    data.taxonomy.levels.forEach((level, L) => {
      const y = 4 + L * (BAR + 2);
      const groups = new Map();
      for (let p = first; p < last; p++) {
        const g = data.taxonomy.paths[order[p]][L];
        if (!groups.has(g)) groups.set(g, groupColour(L, g));
        ctx.fillStyle = groups.get(g);
        ctx.fillRect(left + (p - v.x0) * k, y, Math.max(k, 1), BAR);
      }
    });
    ctx.restore();
  }

  const groupIndex = [];
  function groupColour(level, group) {
    if (!groupIndex[level]) {
      groupIndex[level] = new Map();
      for (const path of data.taxonomy.paths) {
        if (!groupIndex[level].has(path[level])) groupIndex[level].set(path[level], groupIndex[level].size);
      }
    }
    return PALETTE[groupIndex[level].get(group) % PALETTE.length];
  }

  function drawStructure(ctx, left, top, size) {
    const o = data.overlay;
    const v = state.v;
    const k = size / v.span;
    const x = (p) => left + (p - v.x0) * k;
    const y = (p) => top + (p - v.y0) * k;
    ctx.lineWidth = 1.5;
    for (const [boxes, dash] of [[o.split_boxes, []], [o.unstable_split_boxes, [4, 3]]]) {
      ctx.setLineDash(dash);
      ctx.strokeStyle = "#d62728";
      for (const [r0, r1, c0, c1] of boxes) ctx.strokeRect(x(c0), y(r0), (c1 - c0) * k, (r1 - r0) * k);
    }
    for (const [pairs, dash] of [[o.near_duplicates, []], [o.unstable_near_duplicates, [3, 2]]]) {
      ctx.setLineDash(dash);
      ctx.strokeStyle = "#ff7f0e";
      for (const [a, b] of pairs) {
        for (const [r, c] of [[a, b], [b, a]]) {
          ctx.beginPath();
          ctx.arc(x(c + 0.5), y(r + 0.5), Math.max(4, k * 0.8), 0, 2 * Math.PI);
          ctx.stroke();
        }
      }
    }
    // Flames: the strip where a class outside a major block stays similar to the block, outlined
    // once its cells are 3 px (thinner strips would bury the cells; a selected flame always).
    ctx.setLineDash([2, 2]);
    ctx.strokeStyle = "#9467bd";
    const selected = new Set(state.highlight || []);
    for (const s of data.findings.spans || []) {
      for (const r of s.rows || []) {
        if (k < 3 && !selected.has(r.position)) continue;
        ctx.strokeRect(x(s.start), y(r.position), (s.end - s.start) * k, k);
        ctx.strokeRect(x(r.position), y(s.start), k, (s.end - s.start) * k);
      }
    }
    ctx.setLineDash([]);
    ctx.strokeStyle = "#000";
    for (const p of o.ticks) {
      ctx.beginPath();
      ctx.moveTo(x(p + 0.5), top); ctx.lineTo(x(p + 0.5), top + 5);
      ctx.moveTo(left, y(p + 0.5)); ctx.lineTo(left + 5, y(p + 0.5));
      ctx.stroke();
    }
    const highlighted = state.highlight || [];
    ctx.fillStyle = "rgba(255, 0, 255, 0.9)";
    for (const p of highlighted) {
      ctx.fillRect(x(p), top, Math.max(k, 2), 6);
      ctx.fillRect(left, y(p), 6, Math.max(k, 2));
    }
  }

  /** `text`, shortened with an ellipsis to fit `width` pixels in the context's font. */
  function fit(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let n = text.length;
    while (n > 1 && ctx.measureText(text.slice(0, n) + "…").width > width) n--;
    return text.slice(0, n) + "…";
  }

  /** Room on the right of a panel for one column per failed group. */
  function failedWidth() {
    const n = (data.findings.failed_groups || []).length;
    return n ? 6 + n * FAILED_PX : 0;
  }

  /** The failed groups as columns right of the chosen order's matrix, as in the figures: a mark
      at each member's row (pale when the group is unstable), the group's name below. */
  function drawFailedColumns(ctx, left, top, size) {
    const v = state.v;
    const k = size / v.span;
    (data.findings.failed_groups || []).forEach((g, n) => {
      const x = left + size + 6 + n * FAILED_PX;
      ctx.fillStyle = "#f0f0f0";
      ctx.fillRect(x, top, FAILED_PX - 3, size);
      const unstable = typeof g.stability === "number" && g.stability < 0.5;
      ctx.fillStyle = unstable ? "#9ecae1" : "#1f77b4";
      for (const p of g.positions || []) {
        const y = top + (p - v.y0) * k;
        if (y + k >= top && y <= top + size) ctx.fillRect(x, Math.max(top, y), FAILED_PX - 3, Math.max(k, 2));
      }
      ctx.save();
      ctx.fillStyle = "#333";
      ctx.translate(x + (FAILED_PX - 3) / 2, top + size + 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "right";
      ctx.fillText(`F${g.cluster}${unstable ? "?" : ""}`, 0, 0);
      ctx.restore();
    });
  }

  /** The tree of the chosen order along the left, root leftmost, leaves level with the rows. */
  function drawDendrogram(ctx, offset, top, size) {
    const tree = data.overlay.dendrogram;
    if (!tree) return;
    const v = state.v;
    const k = size / v.span;
    const height = Math.max(...tree.dcoord.map((d) => Math.max(...d))) || 1;
    const x = (d) => offset + DENDRO_RIGHT - (d / height) * (DENDRO_RIGHT - 4);
    const y = (p) => top + (p + 0.5 - v.y0) * k;
    ctx.save();
    ctx.beginPath();
    ctx.rect(offset, top, DENDRO_RIGHT + 1, size);
    ctx.clip();
    ctx.strokeStyle = "#555";
    ctx.lineWidth = 1;
    ctx.beginPath();
    tree.icoord.forEach((ic, n) => {
      const dc = tree.dcoord[n];
      if (y(Math.max(...ic)) < top || y(Math.min(...ic)) > top + size) return;
      ctx.moveTo(x(dc[0]), y(ic[0]));
      for (let e = 1; e < 4; e++) ctx.lineTo(x(dc[e]), y(ic[e]));
    });
    ctx.stroke();
    ctx.restore();
  }

  /** The labelled spans along an order: the analysis's blocks and flames for the chosen order,
      the runs of taxonomy groups (two coarsest levels) for a taxonomy order, else none. */
  const runs = new Map();
  function bracketsOf(o) {
    if (o === "chosen") return data.overlay.brackets;
    if (!o.endsWith(":taxonomy") || !data.taxonomy) return [];
    if (!runs.has(o)) {
      const order = orderOf(o).order;
      const found = [];
      for (let L = 0; L < Math.min(2, data.taxonomy.levels.length); L++) {
        const key = (p) => data.taxonomy.paths[order[p]].slice(0, L + 1).join("\u0000");
        let start = 0;
        for (let p = 1; p <= m; p++) {
          if (p === m || key(p) !== key(start)) {
            found.push({ start, end: p, level: L + 1, label: data.taxonomy.paths[order[start]][L], stable: true });
            start = p;
          }
        }
      }
      runs.set(o, found);
    }
    return runs.get(o);
  }

  function drawBrackets(ctx, left, top, size, brackets, besideTree) {
    const v = state.v;
    const k = size / v.span;
    const depth = Math.max(1, ...brackets.map((b) => b.level));
    const step = Math.min(14, (LEFT - DENDRO_RIGHT - 60) / depth);
    // One level is labelled, left of every bracket: the finest whose spans are mostly tall enough.
    const tall = (L) => {
      const heights = brackets.filter((b) => b.level === L).map((b) => (b.end - b.start) * k).sort((a, b) => a - b);
      return heights.length > 0 && heights[Math.floor(heights.length / 2)] >= 14;
    };
    let labelled = 1;
    for (let L = depth; L > 1; L--) if (tall(L)) { labelled = L; break; }
    const xLabel = left - 6 - (depth - 1) * step - 3;
    for (const b of brackets) {
      const y0 = top + Math.max(0, (b.start - v.y0) * k);
      const y1 = top + Math.min(size, (b.end - v.y0) * k);
      if (y1 - y0 < 2) continue;
      const xb = left - 6 - (depth - b.level) * step;
      ctx.strokeStyle = b.stable ? "#333" : "#999";
      ctx.setLineDash(b.stable ? [] : [3, 2]);
      ctx.beginPath();
      ctx.moveTo(xb + 4, y0 + 1); ctx.lineTo(xb, y0 + 1); ctx.lineTo(xb, y1 - 1); ctx.lineTo(xb + 4, y1 - 1);
      ctx.stroke();
      if (b.level === labelled && y1 - y0 > 12 && b.label) {
        ctx.fillStyle = "#333";
        ctx.textAlign = "right";
        const room = xLabel - (left - LEFT) - (besideTree && data.overlay.dendrogram ? DENDRO_RIGHT : 0) - 4;
        ctx.fillText(fit(ctx, b.label, room), xLabel, (y0 + y1) / 2);
      }
    }
    ctx.setLineDash([]);
  }

  function drawNames(ctx, left, top, size, order, besideTree) {
    const v = state.v;
    const k = size / v.span;
    const first = Math.max(0, Math.floor(v.y0));
    const last = Math.min(m, Math.ceil(v.y0 + v.span));
    ctx.fillStyle = "#222";
    ctx.textAlign = "right";
    const nameWidth = LEFT - 8 - (besideTree && data.overlay.dendrogram ? DENDRO_RIGHT : 0);
    for (let p = first; p < last; p++) {
      const name = data.names[order[p]];
      ctx.fillText(fit(ctx, name, nameWidth), left - 4, top + (p + 0.5 - v.y0) * k);
    }
    const firstCol = Math.max(0, Math.floor(v.x0));
    const lastCol = Math.min(m, Math.ceil(v.x0 + v.span));
    for (let p = firstCol; p < lastCol; p++) {
      const name = data.names[order[p]];
      ctx.save();
      ctx.translate(left + (p + 0.5 - v.x0) * k, top + size + 4);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(fit(ctx, name, BOTTOM - 8), 0, 0);
      ctx.restore();
    }
  }

  function drawLegend() {
    const bar = $("legend-bar");
    const ctx = bar.getContext("2d");
    if (state.layer === "counts") {
      data.colours.sequential.forEach((c, i) => { ctx.fillStyle = c; ctx.fillRect(i, 0, 1, bar.height); });
      $("legend-lo").textContent = "1";
      $("legend-hi").textContent = `${counts.max} ${counts.name} (log)`;
      return;
    }
    const s = scale();
    for (let i = 0; i < 256; i++) {
      ctx.fillStyle = Colours.hexOf(s.vmin + ((i + 0.5) / 256) * (s.vmax - s.vmin), s);
      ctx.fillRect(i, 0, 1, bar.height);
    }
    $("legend-lo").textContent = fmt(s.vmin, 2);
    $("legend-hi").textContent = `${fmt(s.vmax, 2)} r (${state.t})`;
  }

  // ------------------------------------------------------------------ side panels

  /** The panel under the pointer and the pointer's pixel in it, or null. */
  function panelUnder(event) {
    const rect = $("overlay").getBoundingClientRect();
    for (const panel of geometry.panels) {
      const px = event.clientX - rect.left - panel.left;
      const py = event.clientY - rect.top - panel.top;
      if (px >= 0 && py >= 0 && px < panel.size && py < panel.size) return { panel, px, py };
    }
    return null;
  }

  /** The cell under the pointer (row and column positions, and the panel's order key). */
  function cellUnder(event) {
    const at = panelUnder(event);
    const cell = at && View.cellAt(state.v, at.panel.size, at.px, at.py, m);
    return cell && { ...cell, o: at.panel.o };
  }

  function blockOf(p) {
    let best = null;
    for (const b of data.overlay.brackets) {
      if (b.start <= p && p < b.end && (!best || b.end - b.start < best.end - best.start)) best = b;
    }
    return best;
  }

  function showHover(cell) {
    const body = $("hover-body");
    body.replaceChildren();
    if (!cell) { body.textContent = "move over the matrix"; return; }
    const order = orderOf(cell.o).order;
    const i = order[cell.row], j = order[cell.col];
    body.append(el("div", `row ${cell.row}: ${data.names[i]}`), el("div", `column ${cell.col}: ${data.names[j]}`));
    const rows = el("table");
    rows.id = "hover-values";
    for (const t of data.transforms) {
      const tr = el("tr");
      const tri = matrices[t];
      const value = tri.value(i, j);
      const cellText = Number.isNaN(value) ? "n/a"
        : tri.bits === 8 ? `${fmt(value, 2)} ±${fmt(tri.step / 2, 3)}` : fmt(value);
      tr.append(el("td", t), el("td", cellText, "num"));
      tr.dataset.transform = t;
      tr.dataset.value = String(value);
      rows.append(tr);
    }
    if (counts) {
      const tr = el("tr");
      tr.append(el("td", counts.name), el("td", String(counts.values[i * m + j]), "num"));
      rows.append(tr);
    }
    body.append(rows);
    if (cell.o === "chosen") {
      for (const [what, p] of [["row", cell.row], ["column", cell.col]]) {
        const b = blockOf(p);
        if (b) body.append(el("div", `${what} in block ${b.label || ""} [${b.start}, ${b.end})`, "muted"));
      }
    }
    body.dataset.row = String(i);
    body.dataset.col = String(j);
  }

  function showClass(id) {
    const panel = $("class-panel");
    if (id === null) { panel.hidden = true; return; }
    panel.hidden = false;
    $("class-name").textContent = data.names[id];
    const body = $("class-body");
    body.replaceChildren();
    if (data.taxonomy) body.append(el("div", data.taxonomy.paths[id].join(" › "), "muted"));
    const tri = matrices[state.t];
    const others = [];
    for (let j = 0; j < m; j++) if (j !== id) others.push([tri.value(id, j), j]);
    others.sort((a, b) => b[0] - a[0]);
    body.append(el("div", `most similar (${state.t}):`));
    for (const [value, j] of others.slice(0, 10)) {
      const button = el("button", `${fmt(value)}  ${data.names[j]}`, "link");
      button.type = "button";
      button.addEventListener("click", () => selectClass(j));
      body.append(button);
    }
  }

  /** The samples that make pair `k` of data.examples similar, as a table (text only). */
  function showExamples(k) {
    const pair = data.examples[k];
    $("examples-title").textContent = `${pair.a} ≈ ${pair.b}: the samples behind r = ${fmt(pair.similarity)}`;
    const body = $("examples-body");
    body.replaceChildren();
    const table = el("table");
    const head = el("tr");
    for (const text of ["sample", "z·z", "", pair.a, pair.b, "label", "top-1"]) head.append(el("th", text));
    table.append(head);
    for (const e of pair.examples) {
      const tr = el("tr");
      const cells = [e.id ?? "?", fmt(e.contribution, 2), e.both === "below" ? "↓↓" : "↑↑", fmt(e.score_a, 2), fmt(e.score_b, 2),
        (e.labels || []).join(", "), e.top1];
      for (const text of cells) tr.append(el("td", String(text)));
      table.append(tr);
    }
    body.append(table);
    body.append(el("div", `${data.examples_transform} scores; z·z: the sample's term of the correlation (× (n − 1)); ↑↑ both classes above their mean, ↓↓ both below`, "muted"));
  }

  function selectClass(id) {
    const p = positions(orderOf(state.o).order)[id];
    update({ c: id, v: View.around(Math.max(0, p - 10), Math.min(m, p + 11), m), highlight: null });
    showClass(id);
  }

  const stabilityText = (finding) =>
    typeof finding.stability === "number" ? ` · stability ${fmt(finding.stability, 2)}` : "";

  function findingItems() {
    const f = data.findings;
    const chosen = orders.chosen.order;
    const pos = positions(chosen);
    const items = [];
    const add = (kind, text, start, end, highlight, view, open) =>
      items.push({ kind, text, start, end, highlight, view, open });
    const labels = new Map(data.overlay.brackets.map((b) => [`${b.start}:${b.end}`, b.label]));
    for (const b of f.blocks || []) {
      const label = labels.get(`${b.start}:${b.end}`);
      add("blocks", `${label ? `${label} (block ${b.id})` : `block ${b.id}`} · level ${b.level} · ${b.size} classes${stabilityText(b)}`, b.start, b.end);
    }
    for (const s of f.spans || []) {
      for (const r of s.rows || []) {
        // The view of the flame: the block's columns, the flame's row in the middle.
        const pad = Math.max(1, Math.round((s.end - s.start) * 0.05));
        const span = Math.max(s.end - s.start + 2 * pad, 21);
        const view = View.clamp({ x0: s.start - pad, y0: r.position + 0.5 - span / 2, span }, m);
        add("flames", `${r.name} → ${s.label ?? `block ${s.block}`} · ${Math.abs(r.offset)} rows ${r.offset < 0 ? "above" : "below"} · r̄ ${fmt(r.mean_similarity, 2)} · z ${fmt(r.z, 1)}`,
          s.start, s.end, [r.position], view);
      }
    }
    for (const g of f.split_groups || []) {
      const [[a0, a1], [b0, b1]] = g.spans;
      add("split groups", `${g.labels.map((label, n) => label ?? `block ${g.blocks[n]}`).join(" ↔ ")} · r̄ ${fmt(g.mean_similarity, 2)} · z ${fmt(g.z, 1)}${stabilityText(g)}`, Math.min(a0, b0), Math.max(a1, b1));
    }
    for (const g of f.failed_groups || []) {
      const ps = (g.member_ids || []).map((id) => pos[id]);
      add("failed groups", `F${g.cluster} · ${g.size} classes · dispersion ${fmt(g.dispersion, 2)} · entropy ${fmt(g.entropy, 2)} · cohesion ${fmt(g.cohesion, 2)}${stabilityText(g)}`,
        Math.min(...ps), Math.max(...ps) + 1, ps);
    }
    for (const d of f.near_duplicates || []) {
      const [a, b] = d.class_ids.map((id) => pos[id]);
      add("near-duplicates", `${d.names.join(" ≈ ")} · r ${fmt(d.similarity)}${stabilityText(d)}`, Math.min(a, b), Math.max(a, b) + 1, [a, b]);
    }
    (data.examples || []).forEach((pair, k) => { // the samples behind a pair (`classsim examples`)
      const [pa, pb] = [pair.a, pair.b].map((name) => pos[data.names.indexOf(name)]);
      const view = View.clamp({ x0: pb + 0.5 - 10, y0: pa + 0.5 - 10, span: 21 }, m);
      add("samples behind pairs", `${pair.a} ≈ ${pair.b} · r ${fmt(pair.similarity)} · ${pair.examples.length} samples`,
        Math.min(pa, pb), Math.max(pa, pb) + 1, [pa, pb], view, () => showExamples(k));
    });
    for (const c of f.changed || []) { // a comparison's classes, most changed first
      const p = pos[c.class_id];
      add("most changed classes", `${c.name} · mean |A − B| ${fmt(c.mean_abs_change, 3)}`,
        Math.max(0, p - 10), Math.min(m, p + 11), [p]);
    }
    for (const s of f.stars || []) {
      const p = pos[s.class_id];
      add("stars", `${s.name} · degree ${s.degree} · z ${fmt(s.z, 1)}${stabilityText(s)}`, Math.max(0, p - 10), Math.min(m, p + 11), [p]);
    }
    return items;
  }

  function showFindings() {
    const body = $("findings-body");
    body.replaceChildren();
    const groups = new Map();
    for (const item of findingItems()) {
      if (!groups.has(item.kind)) groups.set(item.kind, []);
      groups.get(item.kind).push(item);
    }
    if (!groups.size) body.append(el("div", "no analysis in this directory", "muted"));
    for (const [kind, items] of groups) {
      const details = el("details");
      details.append(el("summary", `${kind} (${items.length})`));
      items.forEach((item, n) => {
        const button = el("button", item.text);
        button.type = "button";
        button.dataset.kind = kind;
        button.dataset.index = String(n);
        button.dataset.start = String(item.start);
        button.dataset.end = String(item.end);
        button.addEventListener("click", () => {
          body.querySelectorAll(".selected").forEach((b) => b.classList.remove("selected"));
          button.classList.add("selected");
          update({ o: "chosen", c: null, v: item.view || View.around(item.start, item.end, m), highlight: item.highlight || null });
          $("examples-panel").hidden = !item.open;
          if (item.open) item.open();
        });
        details.append(button);
      });
      body.append(details);
    }
  }

  function showNotes() {
    const notes = $("notes");
    notes.replaceChildren();
    const n = data.n ? `${data.n.toLocaleString("en")} samples × ` : "";
    notes.append(el("div", `${n}${m} classes · chosen transform ${data.chosen}`, "muted"));
    for (const note of data.notes) notes.append(el("div", note, "muted"));
  }

  // ------------------------------------------------------------------ search

  function matches(query, limit = 12) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const prefix = [], inside = [];
    data.names.forEach((name, id) => {
      const at = name.toLowerCase().indexOf(q);
      if (at === 0) prefix.push(id); else if (at > 0) inside.push(id);
    });
    return prefix.concat(inside).slice(0, limit);
  }

  function showSuggestions() {
    const box = $("suggestions");
    box.replaceChildren();
    for (const id of matches($("search").value)) {
      const button = el("button", data.names[id]);
      button.type = "button";
      button.dataset.id = String(id);
      button.addEventListener("click", () => { box.replaceChildren(); selectClass(id); });
      box.append(button);
    }
  }

  // ------------------------------------------------------------------ controls

  function syncControls() {
    $("order").value = state.o;
    $("compare").value = state.cmp;
    $("transform").value = state.t;
    $("layer").value = state.layer;
    $("diverging").checked = state.div;
    $("cutoff").value = state.cut ?? "";
    $("contrast").value = String(state.con);
    $("transform").disabled = state.layer === "counts";
  }

  function fillSelect(select, options) {
    for (const [value, label] of options) {
      const option = el("option", label);
      option.value = value;
      select.append(option);
    }
  }

  function exportPng() {
    const out = document.createElement("canvas");
    out.width = geometry.width;
    out.height = geometry.height;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage($("matrix"), 0, 0);
    ctx.drawImage($("overlay"), 0, 0);
    out.toBlob((blob) => {
      const link = el("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${data.title}-${state.t}.png`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    }, "image/png");
  }

  function wire() {
    fillSelect($("order"), data.orders.map((o) => [o.key, o.label]));
    fillSelect($("compare"), [["", "nothing"], ...data.orders.map((o) => [o.key, o.label]),
      ...data.transforms.map((t) => [`matrix:${t}`, `${t}, same order`])]);
    fillSelect($("transform"), data.transforms.map((t) => [t, t]));
    fillSelect($("layer"), [["similarity", "similarity"], ...(counts ? [["counts", counts.name]] : [])]);
    $("order").addEventListener("change", (e) => update({ o: e.target.value, highlight: null }));
    $("compare").addEventListener("change", (e) => update({ cmp: e.target.value }));
    $("transform").addEventListener("change", (e) => { update({ t: e.target.value }); if (state.c !== null) showClass(state.c); });
    $("layer").addEventListener("change", (e) => update({ layer: e.target.value }));
    $("diverging").addEventListener("change", (e) => update({ div: e.target.checked }));
    $("cutoff").addEventListener("change", (e) => update({ cut: e.target.value === "" ? null : Number(e.target.value) }));
    $("contrast").addEventListener("input", (e) => update({ con: Number(e.target.value) }));
    $("reset").addEventListener("click", () => update({ v: View.whole(m), highlight: null }));
    $("png").addEventListener("click", exportPng);
    $("search").addEventListener("input", showSuggestions);
    $("search").addEventListener("blur", () => setTimeout(() => $("suggestions").replaceChildren(), 200));
    $("search").addEventListener("keydown", (e) => {
      if (e.key === "Escape") $("suggestions").replaceChildren();
      if (e.key === "Enter") {
        const found = matches(e.target.value, 1);
        if (found.length) { $("suggestions").replaceChildren(); selectClass(found[0]); }
      }
    });
    const overlay = $("overlay");
    let drag = null;
    overlay.addEventListener("mousemove", (e) => {
      if (drag && e.buttons === 0) drag = null;  // released outside the page
      if (drag) {
        if (drag.box) { drag.x1 = e.offsetX; drag.y1 = e.offsetY; drawDragBox(drag); }
        else {
          state.v = View.pan(drag.view, geometry.size, e.clientX - drag.cx, e.clientY - drag.cy, m);
          draw();
        }
        return;
      }
      showHover(cellUnder(e));
    });
    overlay.addEventListener("mouseleave", () => showHover(null));
    overlay.addEventListener("mousedown", (e) => {
      const at = panelUnder(e);
      if (!at || e.button !== 0) return;
      drag = { box: e.shiftKey, panel: at.panel, view: { ...state.v }, cx: e.clientX, cy: e.clientY, x0: e.offsetX, y0: e.offsetY, x1: e.offsetX, y1: e.offsetY };
    });
    window.addEventListener("mouseup", () => {
      if (!drag) return;
      const d = drag;
      drag = null;
      if (d.box && Math.max(Math.abs(d.x1 - d.x0), Math.abs(d.y1 - d.y0)) > 3) {
        const p = d.panel;
        update({ v: View.box(state.v, p.size, d.x0 - p.left, d.y0 - p.top, d.x1 - p.left, d.y1 - p.top, m) });
      } else {
        writeHash();
        draw();
      }
    });
    overlay.addEventListener("wheel", (e) => {
      e.preventDefault();
      const factor = Math.exp(Math.sign(e.deltaY) * Math.min(Math.abs(e.deltaY), 200) / 300);
      const at = panelUnder(e);
      if (at) update({ v: View.zoomAt(state.v, at.panel.size, at.px, at.py, factor, m) });
    }, { passive: false });
    overlay.addEventListener("dblclick", (e) => {
      const cell = cellUnder(e);
      if (!cell || cell.o !== "chosen") return;
      const b = blockOf(cell.row);
      if (b) update({ v: View.around(b.start, b.end, m) });
    });
    window.addEventListener("resize", draw);
    window.addEventListener("hashchange", () => {
      state = { ...readHash(), highlight: state.highlight };
      syncControls();
      draw();
      showClass(state.c);
    });
  }

  function drawDragBox(d) {
    draw();
    const ctx = $("overlay").getContext("2d");
    ctx.strokeStyle = "#000";
    ctx.setLineDash([4, 3]);
    ctx.strokeRect(Math.min(d.x0, d.x1), Math.min(d.y0, d.y1), Math.abs(d.x1 - d.x0), Math.abs(d.y1 - d.y0));
    ctx.setLineDash([]);
  }

  /** Client coordinates of the centre of cell (row, col) in the current view of a panel
      (default the main one; 0 is the compared order's when two are shown). */
  function cellCentre(row, col, panel = geometry.panels.length - 1) {
    const rect = $("overlay").getBoundingClientRect();
    const p = geometry.panels[panel];
    const k = p.size / state.v.span;
    return { x: rect.left + p.left + (col + 0.5 - state.v.x0) * k,
      y: rect.top + p.top + (row + 0.5 - state.v.y0) * k };
  }

  async function start() {
    data = JSON.parse($("classsim-data").textContent);
    m = data.m;
    $("title").textContent = data.title;
    document.title = `${data.title} · classsim explorer`;
    for (const o of data.orders) orders[o.key] = o;
    for (const t of data.transforms) {
      const spec = data.matrices[t];
      const codes = await Codec.unpack(spec.data, spec.bits === 8 ? Uint8Array : Uint16Array);
      matrices[t] = new Codec.Triangle(codes, m, spec.bits, spec.lo, spec.hi);
    }
    if (data.counts) counts = { ...data.counts, values: await Codec.unpack(data.counts.data, Uint32Array) };
    state = { ...readHash(), highlight: null };
    wire();
    syncControls();
    showFindings();
    showNotes();
    draw();
    if (state.c !== null) showClass(state.c);
  }

  const ready = start().catch((err) => {
    console.error("classsim explorer:", err);
    const notes = $("notes");
    if (notes) notes.prepend(el("div", `could not open the data: ${err.message}`));
    throw err;
  });

  return { ready, cellCentre, matches, settings, draw: () => draw(), get state() { return state; }, get geometry() { return geometry; },
    get data() { return data; } };
})();
window.classsimExplorer = Explorer;
