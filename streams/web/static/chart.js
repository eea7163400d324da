// cckpi board charts: small hand-written SVG line and bar charts (no library, no other host).
// Labels are set with textContent. Exposes window.cckpiChart(box, title, series, opts):
// series = [{name, points: [{i, y, open}]}]; opts = {categories, format, min, max, target,
// bars, legend, width, height}.
'use strict';

(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function chart(box, title, series, opts) {
    clear(box);
    box.appendChild(el('div', { class: 'chart-title' }, title));
    const W = opts.width || 560, H = opts.height || 170, L = 56, R = 12, T = 10, B = 26;
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'svgchart', role: 'img' });
    root.setAttribute('aria-label', title);
    const xs = opts.categories;
    const values = series.flatMap((s) => s.points.map((p) => p.y)).filter((v) => v !== null && v !== undefined);
    if (!xs.length || !values.length) {
      box.appendChild(el('p', { class: 'empty' }, 'no closed windows yet'));
      return;
    }
    let lo = opts.min !== undefined ? opts.min : Math.min(...values);
    let hi = opts.max !== undefined ? opts.max : Math.max(...values);
    if (opts.min === undefined && lo > 0) lo = 0;
    if (hi === lo) hi = lo + 1;
    const step = (W - L - R) / xs.length;
    const x = (i) => L + step * (i + 0.5);
    const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    for (let g = 0; g <= 4; g += 1) {
      const v = lo + ((hi - lo) * g) / 4;
      root.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid-line' }));
      const t = svg('text', { x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' });
      t.textContent = opts.format(v);
      root.appendChild(t);
    }
    const every = Math.max(1, Math.ceil(xs.length / 8));
    xs.forEach((label, i) => {
      if (i % every) return;
      const t = svg('text', { x: x(i), y: H - 8, class: 'axis', 'text-anchor': 'middle' });
      t.textContent = label;
      root.appendChild(t);
    });
    if (opts.target !== undefined && opts.target !== null) {
      root.appendChild(svg('line', { x1: L, x2: W - R, y1: y(opts.target), y2: y(opts.target), class: 'target-line' }));
    }
    series.forEach((s, n) => {
      if (opts.bars) {
        s.points.forEach((p) => {
          if (p.y === null) return;
          root.appendChild(svg('rect', {
            x: x(p.i) - step * 0.35, width: step * 0.7, y: y(p.y), height: Math.max(0, y(lo) - y(p.y)),
            class: 'bar' + (p.open ? ' open' : ''),
          }));
        });
        return;
      }
      const pts = s.points.filter((p) => p.y !== null);
      if (pts.length > 1) {
        root.appendChild(svg('polyline', {
          points: pts.map((p) => `${x(p.i)},${y(p.y)}`).join(' '), class: 'series s' + (n % 8),
        }));
      }
      for (const p of pts) {
        root.appendChild(svg('circle', { cx: x(p.i), cy: y(p.y), r: p.open ? 3.5 : 2.5, class: 'dot s' + (n % 8) + (p.open ? ' open' : '') }));
      }
    });
    box.appendChild(root);
    if (series.length > 1 || opts.legend) {
      const legend = el('div', { class: 'legend' });
      series.forEach((s, n) => {
        const item = el('span', { class: 'key s' + (n % 8) });
        item.appendChild(el('i'));
        item.appendChild(document.createTextNode(s.name));
        legend.appendChild(item);
      });
      box.appendChild(legend);
    }
  }

  window.cckpiChart = chart;
}());
