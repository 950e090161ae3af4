// The fleet page's own files, served by src/report/fleet-http.ts: one HTML shell, its style
// sheet and its script, all inside the bundle (no build step, no CDN, works offline).
//
// The script is small and plain (ES2020, no framework): it listens to /events (server-sent
// events), puts each section's HTML where it belongs (the server renders and escapes it,
// src/report/fleet-view.ts) and draws the charts from numbers. It never builds markup from
// data itself. The Content-Security-Policy (fleet-http.ts) allows only these two files, so a
// mistake in escaping could still not run a script.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tandem fleet</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
<h1>tandem fleet</h1>
<span id="conn" class="conn connecting">connecting…</span>
<span id="updated" class="muted"></span>
</header>
<main>
<section><h2>Overview</h2><div id="summary"></div></section>
<section><h2>Boards</h2><div id="boards"></div></section>
<section><h2>Pairs</h2><div id="pairs"></div></section>
<section><h2>Virtual servers</h2><div id="servers"></div></section>
<section><h2>Failover timeline</h2><div id="timeline"></div></section>
<section><h2>Last hour</h2><div id="charts" class="charts"></div></section>
</main>
<footer class="muted">Read-only view of the boards' MQTT reports. Times are UTC.</footer>
</body>
</html>
`;

export const APP_CSS = `
:root { --bg: #f6f7f9; --fg: #1d2330; --muted: #6b7280; --line: #d9dde4; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; --info: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1.2em; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; }
h1 { font-size: 1.2em; margin: 0; }
h2 { font-size: 1em; margin: 0 0 .4em; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
h3 { font-size: .95em; margin: 0 0 .3em; overflow-wrap: anywhere; }
main { padding: 1em 1.2em; display: grid; gap: 1em; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8em 1em; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; color: var(--muted); font-size: .9em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted { color: var(--muted); }
.conn { font-size: .85em; padding: .1em .5em; border-radius: 4px; }
.conn.live { background: #dcfce7; color: var(--ok); }
.conn.connecting, .conn.down { background: #fee2e2; color: var(--bad); }
.badge, .flag { display: inline-block; font-size: .8em; font-weight: 600; padding: .05em .45em; border-radius: 4px; white-space: nowrap; }
.badge.online, .flag.ok { background: #dcfce7; color: var(--ok); }
.badge.lost, .flag.lost, .flag.split-brain, .flag.no-master { background: #fee2e2; color: var(--bad); }
.badge.offline, .badge.unknown { background: #e5e7eb; color: var(--muted); }
.badge.stale, .flag.drift { background: #fef3c7; color: var(--warn); }
.counts { display: flex; flex-wrap: wrap; gap: 1.2em; margin-bottom: .4em; }
.count.online { color: var(--ok); } .count.lost { color: var(--bad); }
.alerts { margin: 0; padding-left: 1.2em; }
.alert { color: var(--bad); font-weight: 600; } .alert.drift, .alert.stale { color: var(--warn); }
.all-ok { color: var(--ok); margin: 0; }
.who { font-weight: 600; } .who.historic { color: var(--muted); text-decoration: line-through; }
.rs { display: inline-block; margin-right: .8em; white-space: nowrap; }
.rs.up { color: var(--ok); } .rs.down { color: var(--bad); font-weight: 600; }
.timeline { margin: 0; padding-left: 1.2em; max-height: 22em; overflow-y: auto; }
.timeline li { padding: .1em 0; }
.timeline li.to-MASTER b { color: var(--info); }
.timeline li.to-lost b, .timeline li.to-FAULT b { color: var(--bad); }
.timeline time { font-variant-numeric: tabular-nums; color: var(--muted); }
.reason { color: var(--muted); font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: .8em; }
.board-charts { border: 1px solid var(--line); border-radius: 4px; padding: .5em; }
figure { margin: 0 0 .3em; }
figcaption { font-size: .8em; color: var(--muted); display: flex; justify-content: space-between; }
figcaption .value { color: var(--fg); font-variant-numeric: tabular-nums; }
svg { width: 100%; height: 40px; background: #fafbfc; border: 1px solid #eef0f3; display: block; }
polyline { fill: none; stroke: var(--info); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
footer { padding: 0 1.2em 1em; font-size: .85em; }
`;

export const APP_JS = `'use strict';
(function () {
  var store = {};
  var step = 5000;
  var HOUR = 3600000;
  var charts = { cpu: [0, 100], temp: null, traffic: [0, null], conntrack: [0, null] };
  var conn = document.getElementById('conn');
  var updated = document.getElementById('updated');
  var pending = false;

  function setConn(cls, text) { conn.className = 'conn ' + cls; conn.textContent = text; }

  function fmt(k, v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    if (k === 'cpu') return v.toFixed(0) + ' %';
    if (k === 'temp') return v.toFixed(1) + ' °C';
    if (k === 'traffic') {
      var u = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'], i = 0;
      while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
      return (i ? v.toFixed(1) : v.toFixed(0)) + ' ' + u[i];
    }
    return String(Math.round(v));
  }

  function merge(id, s) {
    var d = store[id] || (store[id] = { t: [], cpu: [], temp: [], traffic: [], conntrack: [] });
    for (var i = 0; i < s.t.length; i++) {
      // The server thins one point per step the same way: a point closer than a step to the one
      // before the last replaces the last.
      var n = d.t.length;
      if (n && s.t[i] <= d.t[n - 1]) continue; // already here (a viewer that joined between two pushes)
      if (n >= 2 && s.t[i] - d.t[n - 2] < step) { for (var k in d) d[k].pop(); }
      d.t.push(s.t[i]); d.cpu.push(s.cpu[i]); d.temp.push(s.temp[i]); d.traffic.push(s.traffic[i]); d.conntrack.push(s.conntrack[i]);
    }
    var cut = d.t[d.t.length - 1] - HOUR;
    while (d.t.length && d.t[0] < cut) { for (var k2 in d) d[k2].shift(); }
  }

  function draw() {
    pending = false;
    var now = Date.now();
    var cards = document.querySelectorAll('.board-charts');
    for (var c = 0; c < cards.length; c++) {
      var d = store[cards[c].getAttribute('data-board-id')];
      var figs = cards[c].querySelectorAll('figure[data-series]');
      for (var f = 0; f < figs.length; f++) {
        var key = figs[f].getAttribute('data-series');
        var line = figs[f].querySelector('polyline');
        var label = figs[f].querySelector('.value');
        if (!d || !line) continue;
        var vals = d[key], ts = d.t, lo = Infinity, hi = -Infinity, i;
        for (i = 0; i < vals.length; i++) if (vals[i] !== null && isFinite(vals[i])) { lo = Math.min(lo, vals[i]); hi = Math.max(hi, vals[i]); }
        var range = charts[key];
        if (range && range[0] !== null) lo = Math.min(lo, range[0]);
        if (range && range[1] !== null) hi = Math.max(hi, range[1]);
        if (!(hi > lo)) { hi = lo + 1; }
        var pts = [];
        for (i = 0; i < vals.length; i++) {
          if (vals[i] === null || !isFinite(vals[i])) continue;
          var x = 360 * (1 - (now - ts[i]) / HOUR);
          var y = 58 - 56 * (vals[i] - lo) / (hi - lo);
          pts.push(x.toFixed(1) + ',' + y.toFixed(1));
        }
        line.setAttribute('points', pts.join(' '));
        if (label) label.textContent = fmt(key, vals.length ? vals[vals.length - 1] : null);
      }
    }
  }

  function later() { if (!pending) { pending = true; requestAnimationFrame(draw); } }

  function start() {
    var es = new EventSource('/events');
    es.addEventListener('open', function () { setConn('live', 'live'); });
    es.addEventListener('error', function () { setConn('down', 'disconnected, retrying…'); });
    es.addEventListener('view', function (ev) {
      var v = JSON.parse(ev.data);
      for (var id in v.sections) {
        var el = document.getElementById(id);
        if (el) el.innerHTML = v.sections[id];
      }
      updated.textContent = 'updated ' + new Date(v.at).toISOString().slice(11, 19) + ' UTC';
      document.body.setAttribute('data-seq', String(v.seq));
      document.body.setAttribute('data-updated-at', String(Date.now()));
      setConn('live', 'live');
      later();
    });
    es.addEventListener('series', function (ev) {
      var s = JSON.parse(ev.data);
      if (s.step) step = s.step;
      if (s.reset) store = {};
      for (var id in s.boards) merge(id, s.boards[id]);
      later();
    });
    setInterval(later, 10000);
  }

  start();
})();
`;
