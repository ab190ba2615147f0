/* greenflag charts: the HTML report and the live dashboard draw with this one file (plain SVG, no dependencies).
 *
 * GF.render(root, model)   draw a report model (greenflag.report.model.report_model) into root
 * GF.live(root, url)       the dashboard: render the model the server sends, then apply its updates (SSE)
 * GF.charts                what was drawn: {chartId: {series: {key: pointCount}, markers: n}} (tests read it)
 *
 * Every text goes through textContent, never innerHTML: names and messages come from the measured service.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#be185d", "#4d7c0f"];
  var GF = { charts: {}, model: null, updates: 0 };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function clock(t) { return new Date(t * 1000).toISOString().substring(11, 19); }
  function num(v, digits) {
    if (v === null || v === undefined || v === "") return "–";
    if (typeof v !== "number") return String(v);
    return v.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 2 : digits });
  }
  function pct(v) { return v === null || v === undefined ? "–" : num(v * 100, 2) + " %"; }
  function ms(v) { return v === null || v === undefined ? "–" : (v >= 1000 ? num(v / 1000, 2) + " s" : num(v, 2) + " ms"); }
  function niceTicks(lo, hi, count, minStep) {
    if (hi <= lo) hi = lo + 1;
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
    var err = (hi - lo) / count / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    if (minStep && step < minStep) step = minStep;
    var ticks = [];
    for (var v = Math.ceil(lo / step) * step; v < hi + step; v += step) ticks.push(Number(v.toPrecision(12)));
    return ticks;
  }

  /* one time chart: series [{key, label, color, points: [[t, v]], step}], markers [{t, kind, label}] */
  function lineChart(id, title, unit, series, domain, markers, yMax) {
    var W = 560, H = 220, L = 52, R = 26, T = 12, B = 28;
    var box = el("figure", { "class": "gf-chart", "data-chart": id });
    box.appendChild(el("figcaption", {}, title));
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title, "data-chart": id });
    var hi = yMax || 0;
    series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] !== null && p[1] > hi) hi = p[1]; }); });
    if (!(hi > 0)) hi = 1;
    var yTicks = niceTicks(0, hi, 4);
    var yTop = yTicks[yTicks.length - 1];
    var t0 = domain[0], t1 = domain[1] > domain[0] ? domain[1] : domain[0] + 1;
    function x(t) { return L + (W - L - R) * (t - t0) / (t1 - t0); }
    function y(v) { return T + (H - T - B) * (1 - v / yTop); }
    yTicks.forEach(function (v) {
      root.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), "class": "gf-grid" }));
      var label = svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "class": "gf-tick" });
      label.textContent = num(v, 3) + unit;
      root.appendChild(label);
    });
    niceTicks(t0, t1, 5, 1).filter(function (t) { return t <= t1; }).forEach(function (t) {
      if (t < t0 || t > t1) return;
      var label = svg("text", { x: x(t), y: H - 8, "text-anchor": "middle", "class": "gf-tick" });
      label.textContent = clock(t);
      root.appendChild(label);
    });
    var drawn = { series: {}, markers: 0 };
    (markers || []).forEach(function (m) {
      if (m.t < t0 || m.t > t1) return;
      var line = svg("line", { x1: x(m.t), x2: x(m.t), y1: T, y2: H - B, "class": "gf-marker gf-marker-" + m.kind,
                               "data-kind": m.kind });
      var tip = svg("title", {}); tip.textContent = clock(m.t) + " " + m.label; line.appendChild(tip);
      root.appendChild(line);
      if (m.kind === "rollback") {
        var text = svg("text", { x: x(m.t) + 4, y: T + 12, "class": "gf-marker-label" });
        text.textContent = "rollback";
        root.appendChild(text);
      }
      drawn.markers += 1;
    });
    series.forEach(function (s) {
      var d = "", n = 0, last = null;
      s.points.forEach(function (p) {
        if (p[1] === null || p[1] === undefined) { last = null; return; }
        var px = x(p[0]).toFixed(1), py = y(p[1]).toFixed(1);
        if (s.step && last !== null) d += "L" + px + "," + last;
        d += (last === null ? "M" : "L") + px + "," + py;
        last = py; n += 1;
      });
      var path = svg("path", { d: d || "M0,0", "class": "gf-line", stroke: s.color, "data-series": s.key,
                               "data-points": n });
      root.appendChild(path);
      if (n === 1 && last !== null) {  /* one point so far draws no line: a dot */
        var only = s.points.filter(function (p) { return p[1] !== null && p[1] !== undefined; })[0];
        root.appendChild(svg("circle", { cx: x(only[0]).toFixed(1), cy: last, r: 3, fill: s.color, "data-series": s.key }));
      }
      drawn.series[s.key] = n;
    });
    box.appendChild(root);
    var legend = el("div", { "class": "gf-legend" });
    series.forEach(function (s) {
      var item = el("span", { "class": "gf-key" });
      var swatch = el("i", { style: "background:" + s.color });
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(s.label));
      legend.appendChild(item);
    });
    box.appendChild(legend);
    GF.charts[id] = drawn;
    return box;
  }

  function table(title, columns, rows, rowClass) {
    var section = el("section", { "class": "gf-table", "data-table": title });
    section.appendChild(el("h2", {}, title));
    var t = el("table");
    var head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", {}, c[0])); });
    t.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr", rowClass ? { "class": rowClass(row) } : {});
      columns.forEach(function (c) { tr.appendChild(el("td", {}, c[1](row))); });
      body.appendChild(tr);
    });
    t.appendChild(body);
    section.appendChild(t);
    return section;
  }

  function cards(items) {
    var box = el("div", { "class": "gf-cards" });
    items.forEach(function (item) {
      if (item[1] === "" || item[1] === null || item[1] === undefined) return;
      var card = el("div", { "class": "gf-card" + (item[2] ? " gf-" + item[2] : ""), "data-card": item[0] });
      card.appendChild(el("span", { "class": "gf-card-label" }, item[0]));
      card.appendChild(el("span", { "class": "gf-card-value" }, item[1]));
      box.appendChild(card);
    });
    return box;
  }

  function domainOf(model) {
    var ts = [];
    if (model.load) model.load.points.forEach(function (p) { ts.push(p.t, p.t + 1); });
    model.rollouts.forEach(function (r) {
      r.weights.forEach(function (w) { ts.push(w.t); });
      r.markers.forEach(function (m) { ts.push(m.t); });
    });
    if (model.now) ts.push(model.now);
    if (!ts.length) return [0, 1];
    return [Math.min.apply(null, ts), Math.max.apply(null, ts)];
  }

  function weightSeries(rollouts, domain) {
    var names = [], samples = [];
    rollouts.forEach(function (r) { Array.prototype.push.apply(samples, r.weights); });
    samples.sort(function (a, b) { return a.t - b.t; });
    samples.forEach(function (w) { Object.keys(w.weights).forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); }); });
    names.sort();
    return names.map(function (name, i) {
      var points = samples.map(function (w) { return [w.t, name in w.weights ? w.weights[name] : 0]; });
      if (points.length) points.push([domain[1], points[points.length - 1][1]]);
      return { key: "weight:" + name, label: name, color: COLORS[i % COLORS.length], points: points, step: true };
    });
  }

  function loadSeries(points, keys) {
    return keys.map(function (k, i) {
      return { key: k[0], label: k[1], color: COLORS[i % COLORS.length], step: false,
               points: points.map(function (p) { return [p.t + 0.5, k[2] ? k[2](p) : p[k[0]]]; }) };
    });
  }

  function render(root, model) {
    GF.model = model;
    GF.charts = {};
    while (root.firstChild) root.removeChild(root.firstChild);
    var load = model.load, rollouts = model.rollouts || [], rollout = rollouts.length ? rollouts[rollouts.length - 1] : null;
    var head = el("header", { "class": "gf-head" });
    head.appendChild(el("h1", {}, model.title));
    var verdicts = [];
    if (load && load.ok !== null && load.ok !== undefined) verdicts.push(["load", load.ok ? "thresholds held" : "thresholds crossed", load.ok ? "pass" : "fail"]);
    if (rollout) verdicts.push(["rollout", rollout.version + " " + rollout.phase, rollout.phase === "RolledBack" || rollout.phase === "Degraded" ? "fail" : rollout.phase === "Healthy" ? "pass" : "run"]);
    verdicts.forEach(function (v) { head.appendChild(el("span", { "class": "gf-badge gf-" + v[2], "data-verdict": v[0] }, v[0] + ": " + v[1])); });
    if (model.live) head.appendChild(el("span", { "class": "gf-live", id: "gf-live" }, model.finished ? "finished" : "live"));
    root.appendChild(head);
    if (load) {
      var h = load.headline;
      root.appendChild(cards([
        ["target", load.target], ["requests", num(h.requests, 0)], ["req/s", num(h.rps, 1)],
        ["errors", pct(h.error_rate), h.error_rate > 0 ? "warn" : ""], ["p95", ms(h.p95)], ["p99", ms(h.p99)],
        ["VUs max", num(h.vus_max, 0)], ["duration", h.duration_s === null || h.duration_s === undefined ? "–" : num(h.duration_s, 1) + " s"]
      ]));
      if (load.aborted) root.appendChild(el("p", { "class": "gf-alert" }, "stopped early: " + load.aborted));
    }
    if (rollout) {
      var weightsNow = Object.keys(rollout.weights_now).sort().map(function (n) { return n + " " + rollout.weights_now[n] + " %"; }).join("  ");
      root.appendChild(cards([
        ["service", rollout.service], ["version", rollout.version], ["stable", rollout.stable || "–"],
        ["phase", rollout.phase, rollout.phase === "RolledBack" ? "fail" : ""], ["step", rollout.step + " (" + rollout.stage + ")"],
        ["weights", weightsNow || "–"]
      ]));
      if (rollout.rollback) {
        var rb = rollout.rollback;
        var alert = el("div", { "class": "gf-alert", "data-rollback": rb.trigger || "" });
        alert.appendChild(el("strong", {}, "Rolled back at " + clock(rb.t) + ": "));
        alert.appendChild(document.createTextNode((rb.trigger ? rb.trigger + " = " + num(rb.value, 4) + " (limit " + (rb.limit || "–") + ") — " : "") + rb.message));
        root.appendChild(alert);
      }
    }
    var domain = domainOf(model);
    var markers = [];
    rollouts.forEach(function (r) { Array.prototype.push.apply(markers, r.markers); });
    var grid = el("div", { "class": "gf-grid-charts" });
    if (load && load.points.length) {
      grid.appendChild(lineChart("rps", "Requests per second", "", loadSeries(load.points, [["rps", "req/s"]]), domain, markers));
      grid.appendChild(lineChart("latency", "Request duration percentiles", " ms",
        loadSeries(load.points, [["p50", "p50"], ["p90", "p90"], ["p95", "p95"], ["p99", "p99"]]), domain, markers));
      grid.appendChild(lineChart("errors", "Error rate", " %",
        loadSeries(load.points, [["error_rate", "failed requests", function (p) { return p.error_rate * 100; }]]), domain, markers));
      grid.appendChild(lineChart("vus", "Virtual users", "", loadSeries(load.points, [["vus", "VUs"]]), domain, markers));
    }
    if (rollouts.some(function (r) { return r.weights.length; })) {
      grid.appendChild(lineChart("weights", "Router weights (rollout steps marked)", " %", weightSeries(rollouts, domain), domain, markers, 100));
    }
    root.appendChild(grid);
    if (load) {
      if (load.thresholds.length) root.appendChild(table("Thresholds", [
        ["", function (r) { return r.ok ? "✓ pass" : "✗ fail"; }], ["metric", function (r) { return r.metric; }],
        ["threshold", function (r) { return r.expr; }], ["value", function (r) { return r.value === null ? "no data" : num(r.value, 4); }]
      ], load.thresholds, function (r) { return r.ok ? "gf-pass" : "gf-fail"; }));
      if (load.checks.length) root.appendChild(table("Checks", [
        ["", function (r) { return r.fails ? "✗ fail" : "✓ pass"; }], ["check", function (r) { return r.name; }],
        ["passed", function (r) { return num(r.passes, 0); }], ["failed", function (r) { return num(r.fails, 0); }],
        ["rate", function (r) { return pct(r.passes / Math.max(1, r.passes + r.fails)); }]
      ], load.checks, function (r) { return r.fails ? "gf-fail" : "gf-pass"; }));
      if (load.by_name.length) root.appendChild(table("Requests by name", [
        ["name", function (r) { return r.name; }], ["requests", function (r) { return num(r.reqs, 0); }],
        ["errors", function (r) { return pct(r.error_rate); }], ["p50", function (r) { return ms(r.p50); }],
        ["p95", function (r) { return ms(r.p95); }], ["p99", function (r) { return ms(r.p99); }]
      ], load.by_name));
      if (load.by_step.length) root.appendChild(table("Journey steps", [
        ["step", function (r) { return r.step; }], ["runs", function (r) { return num(r.runs, 0); }],
        ["requests", function (r) { return num(r.reqs, 0); }], ["p95", function (r) { return ms(r.p95); }]
      ], load.by_step));
    }
    rollouts.slice().reverse().forEach(function (rollout) {
      var of = rollouts.length > 1 ? " (" + rollout.version + ")" : "";
      if (rollout.steps.length) root.appendChild(table("Rollout steps" + of, [
        ["step", function (r) { return r.step; }], ["what", function (r) { return r.what; }],
        ["weight", function (r) { return r.weight === null ? "–" : r.weight + " %"; }],
        ["started", function (r) { return clock(r.started); }],
        ["lasted", function (r) { return r.ended === null ? "running" : num(r.ended - r.started, 1) + " s"; }],
        ["outcome", function (r) { return r.outcome || "running"; }], ["notes", function (r) { return r.notes.join("; "); }]
      ], rollout.steps, function (r) { return r.outcome === "rolled back" ? "gf-fail" : r.outcome ? "gf-pass" : ""; }));
      if (rollout.analysis.length) root.appendChild(table("Analysis" + of, [
        ["run", function (r) { return r.run; }], ["metric", function (r) { return r.metric; }],
        ["measured", function (r) { return num(r.measured, 0); }], ["ok", function (r) { return num(r.successful, 0); }],
        ["failed", function (r) { return num(r.failed, 0); }], ["inconclusive", function (r) { return num(r.inconclusive, 0); }],
        ["errors", function (r) { return num(r.errors, 0); }], ["verdict", function (r) { return r.verdict || "–"; }],
        ["value", function (r) { return num(r.value, 4); }], ["last measurement", function (r) { return r.message; }]
      ], rollout.analysis, function (r) { return r.verdict === "Failed" || r.verdict === "Error" ? "gf-fail" : r.verdict === "Successful" ? "gf-pass" : ""; }));
      if (rollout.events.length) root.appendChild(table("Events" + of, [
        ["time", function (r) { return r.t ? clock(r.t) : r.time; }], ["kind", function (r) { return r.kind; }],
        ["message", function (r) { return r.message; }]
      ], rollout.events.slice().reverse(), function (r) { return r.kind === "rollback" ? "gf-fail" : ""; }));
    });
    if (!load && !rollout) root.appendChild(el("p", { "class": "gf-empty" }, model.live ? "waiting for data…" : "nothing to show"));
  }

  function live(root, url) {
    var model = null, pending = false, source = new EventSource(url);
    function redraw() {
      pending = false;
      render(root, model);
      GF.updates += 1;
      root.setAttribute("data-updates", String(GF.updates));
    }
    function schedule() { if (!pending) { pending = true; window.requestAnimationFrame(redraw); } }
    source.addEventListener("model", function (e) { model = JSON.parse(e.data); schedule(); });
    source.addEventListener("points", function (e) {
      if (!model) return;
      var update = JSON.parse(e.data);
      if (!model.load) { model.load = update.load; model.load.points = update.points; }
      else { Array.prototype.push.apply(model.load.points, update.points); model.load.by_name = update.load.by_name;
             model.load.headline = update.load.headline; model.load.thresholds = update.load.thresholds;
             model.load.checks = update.load.checks; model.load.ok = update.load.ok; }
      schedule();
    });
    source.addEventListener("rollouts", function (e) {
      if (!model) return;
      var update = JSON.parse(e.data);
      model.rollouts = update.rollouts; model.now = update.now; schedule();
    });
    source.addEventListener("end", function () { source.close(); if (model) { model.finished = true; schedule(); } });
    GF.source = source;
  }

  GF.render = render;
  GF.live = live;
  window.GF = GF;
})();
