// Charts drawn as SVG by the page, and their figures as CSV files.
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#1f5fbf", "#2e7d4f", "#c0392b", "#8e44ad", "#d68910", "#17809a", "#6d4c41", "#546e7a"];

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Horizontal bars, one a row: [{label, value, text}], value scaled to the largest.
  function bars(rows, { title } = {}) {
    const width = 640;
    const left = 150;
    const row = 22;
    const height = rows.length * row + 10;
    const largest = Math.max(1, ...rows.map((r) => r.value || 0));
    return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title || "" },
      rows.map((r, i) => {
        const y = 5 + i * row;
        const length = ((r.value || 0) / largest) * (width - left - 110);
        return svg("g", { "data-label": r.label },
          svg("text", { x: left - 6, y: y + 14, "text-anchor": "end" }, r.label),
          svg("rect", { x: left, y: y + 3, width: Math.max(length, 0.5), height: row - 7, fill: COLORS[0] }),
          svg("text", { x: left + length + 5, y: y + 14 }, r.text ?? r.value));
      }));
  }

  // Lines over a shared x axis: labels along x, series [{name, values}] (null leaves a gap).
  function lines(labels, series, { max, title } = {}) {
    const width = 640;
    const height = 260;
    const pad = { left: 44, right: 10, top: 10, bottom: 28 };
    const top = max ?? Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
    const x = (i) => pad.left + (labels.length < 2 ? 0 : (i / (labels.length - 1)) * (width - pad.left - pad.right));
    const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);
    const every = Math.max(1, Math.ceil(labels.length / 8));
    const axis = [
      svg("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), stroke: "#999" }),
      svg("line", { x1: pad.left, y1: y(0), x2: pad.left, y2: y(top), stroke: "#999" }),
      svg("text", { x: pad.left - 4, y: y(top) + 10, "text-anchor": "end" }, formatTick(top)),
      svg("text", { x: pad.left - 4, y: y(0), "text-anchor": "end" }, "0"),
      labels.map((label, i) => (i % every === 0
        ? svg("text", { x: x(i), y: height - 8, "text-anchor": "middle" }, label) : null)),
    ];
    const paths = series.map((s, n) => {
      const points = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
      return svg("polyline", { points: points.join(" "), fill: "none", stroke: COLORS[n % COLORS.length], "stroke-width": 1.6, "data-series": s.name },
        svg("title", {}, s.name));
    });
    return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title || "" }, axis, paths);
  }

  function formatTick(value) {
    return value <= 1 ? `${Math.round(value * 100)}%` : Number(value).toLocaleString();
  }

  function color(n) {
    return COLORS[n % COLORS.length];
  }

  // A number as a spreadsheet reads one: a sign, digits, a decimal point, an exponent.
  const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

  // A cell a spreadsheet would take for a formula (=, +, -, @, a tab or a carriage return
  // first) is prefixed with an apostrophe; a number, negative ones too, stays a number.
  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text) && !NUMBER.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  }

  function csv(header, rows) {
    return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  // A link that downloads the rows as a CSV file (UTF-8 with a byte-order mark, which
  // spreadsheet programs need to read Chinese).
  function csvLink(text, filename, header, rows) {
    const link = document.createElement("a");
    link.textContent = text;
    link.download = filename;
    link.className = "csv";
    link.href = URL.createObjectURL(new Blob(["\ufeff", csv(header, rows)], { type: "text/csv;charset=utf-8" }));
    return link;
  }

  return { bars, lines, csv, csvCell, csvLink, color };
})();
