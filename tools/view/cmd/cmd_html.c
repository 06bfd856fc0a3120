/* cmd_html.c: "html -o report.html": one self-contained report page (no network): interactive
 * flame graph, waterfall, breakdown, percentiles, tokens and cost, bottleneck findings. The
 * run's analyses are embedded as JSON; the page template and its script are below. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "findings.h"
#include "jsonw.h"
#include "prices.h"
#include "report.h"

/*
 * Size stays bounded at any run size: the flame graph is the merged folded stacks, the tables
 * are per model and endpoint, and the waterfall embeds at most WF_ROWS exchanges (the longest,
 * in time order) with a note saying so. Findings carry at most EV_MAX evidence indexes.
 */
#define WF_ROWS 2000
#define EV_MAX	20

/* clang-format off */
static const char page_head[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<meta name=\"generator\" content=\"agentprof-view\">\n"
	"<title>agentprof report</title>\n"
	"<style>\n"
	"body{font:14px/1.4 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}\n"
	"header{background:#1d2330;color:#fff;padding:14px 24px}\n"
	"header h1{margin:0;font-size:20px}\n"
	"header .sub{color:#b8c0cc;font-size:13px}\n"
	"main{padding:8px 24px 40px}\n"
	"section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;margin:16px 0;padding:12px 16px}\n"
	"section h2{font-size:16px;margin:0 0 8px}\n"
	".kpis{display:flex;flex-wrap:wrap;gap:10px}\n"
	".kpi{border:1px solid #e1e4e8;border-radius:6px;padding:6px 12px;min-width:110px}\n"
	".kpi b{display:block;font-size:18px}\n"
	".kpi span{color:#586069;font-size:12px}\n"
	"table{border-collapse:collapse;width:100%;font-size:13px}\n"
	"th,td{text-align:right;padding:3px 8px;border-bottom:1px solid #eef0f2;white-space:nowrap}\n"
	"th{background:#f6f8fa;position:sticky;top:0}\n"
	"td.l,th.l{text-align:left;white-space:normal;word-break:break-all}\n"
	".note{color:#586069;font-size:12px;margin:4px 0}\n"
	".controls{display:flex;gap:8px;align-items:center;margin-bottom:6px;flex-wrap:wrap}\n"
	".controls input{padding:3px 6px;width:220px}\n"
	"#flame svg{display:block;width:100%}\n"
	"#flame .frame rect{stroke:#fff;stroke-width:.5;cursor:pointer}\n"
	"#flame .frame text{font:11px monospace;pointer-events:none;fill:#1d2330}\n"
	"#flame .frame.match rect{fill:#d63af9 !important}\n"
	"#flame .frame.dim{opacity:.35}\n"
	"#tip{position:fixed;pointer-events:none;background:#1d2330;color:#fff;padding:6px 8px;border-radius:4px;font-size:12px;display:none;max-width:520px;z-index:9;word-break:break-all}\n"
	"#wf{overflow:auto;max-height:640px;border:1px solid #eef0f2}\n"
	"#wf svg text{font:11px monospace;fill:#1d2330}\n"
	".bar-llm{fill:#4c78a8}.bar-tool{fill:#f58518}.bar-memory{fill:#54a24b}.bar-process{fill:#b279a2}.bar-other{fill:#9d9d9d}\n"
	".ph{fill:#000;opacity:.18}\n"
	".finding{border-left:4px solid #f58518;padding:4px 10px;margin:8px 0;background:#fffaf3}\n"
	".finding .t{font-weight:600}\n"
	".finding .s{color:#444;white-space:pre-wrap}\n"
	".tag{display:inline-block;background:#eef0f2;border-radius:3px;padding:0 5px;font-size:11px;margin-right:6px}\n"
	"</style>\n"
	"</head>\n"
	"<body>\n"
	"<header><h1>agentprof report</h1><div class=\"sub\" id=\"sub\"></div></header>\n"
	"<main>\n"
	"<section id=\"overview\"><h2>Overview</h2><div class=\"kpis\" id=\"kpis\"></div><div class=\"note\" id=\"notes\"></div></section>\n"
	"<section id=\"flame-sec\"><h2>Flame graph: code paths to each endpoint</h2>\n"
	"<div class=\"controls\"><label>weight <select id=\"fw\"><option value=\"0\">time</option><option value=\"1\">calls</option><option value=\"2\">tokens</option><option value=\"3\">cost</option></select></label>\n"
	"<input id=\"fsearch\" type=\"search\" placeholder=\"search frames (regex)\"><button id=\"freset\" type=\"button\">reset zoom</button><span class=\"note\" id=\"fstatus\"></span></div>\n"
	"<div id=\"flame\"></div><div class=\"note\">Click a frame to zoom in, click the top frame or \"reset zoom\" to go back; hover for details.</div></section>\n"
	"<section id=\"findings-sec\"><h2>Bottlenecks</h2><div id=\"findings\"></div></section>\n"
	"<section id=\"breakdown-sec\"><h2>Where the wall time went</h2><table id=\"breakdown\"></table></section>\n"
	"<section id=\"models-sec\"><h2>LLM calls by model: latency percentiles, tokens and cost</h2><table id=\"models\"></table></section>\n"
	"<section id=\"endpoints-sec\"><h2>Endpoints: latency percentiles</h2><table id=\"endpoints\"></table></section>\n"
	"<section id=\"tokens-sec\"><h2>Tokens and cost</h2><table id=\"tokens\"></table></section>\n"
	"<section id=\"waterfall-sec\"><h2>Waterfall</h2><div class=\"note\" id=\"wfnote\"></div><div id=\"wf\"></div></section>\n"
	"</main>\n"
	"<div id=\"tip\"></div>\n";

/* The application: plain ES5 + SVG, no library, no network. */
static const char page_js[] =
	"(function () {\n"
	"\"use strict\";\n"
	"var D = JSON.parse(document.getElementById(\"agentprof-data\").textContent);\n"
	"var $ = function (id) { return document.getElementById(id); };\n"
	"var SVGNS = \"http://www.w3.org/2000/svg\";\n"
	"function el(tag, attrs, text) {\n"
	"  var e = tag.indexOf(\"svg:\") === 0 ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);\n"
	"  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);\n"
	"  if (text !== undefined && text !== null) e.textContent = text;\n"
	"  return e;\n"
	"}\n"
	"function fmtNs(ns) {\n"
	"  if (ns === null || ns === undefined || ns < 0 || isNaN(ns)) return \"-\";\n"
	"  if (ns < 1e3) return Math.round(ns) + \" ns\";\n"
	"  if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 1 : 0) + \" us\";\n"
	"  if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 1 : 0) + \" ms\";\n"
	"  if (ns < 120e9) return (ns / 1e9).toFixed(2) + \" s\";\n"
	"  var m = Math.floor(ns / 60e9); return m + \"m\" + String(Math.round((ns - m * 60e9) / 1e9)).padStart(2, \"0\") + \"s\";\n"
	"}\n"
	"function fmtN(v) {\n"
	"  if (v === null || v === undefined || isNaN(v)) return \"-\";\n"
	"  if (Math.abs(v) < 1e5) return String(Math.round(v * 100) / 100);\n"
	"  if (Math.abs(v) < 1e8) return (v / 1e3).toFixed(1) + \"k\";\n"
	"  return (v / 1e6).toFixed(1) + \"M\";\n"
	"}\n"
	"function fmtUsd(v) { return v === null || v === undefined || isNaN(v) ? \"-\" : \"$\" + (v < 1 ? v.toFixed(4) : v.toFixed(2)); }\n"
	"function pct(f) { return (f * 100).toFixed(1) + \"%\"; }\n"
	"var tip = $(\"tip\");\n"
	"function showTip(ev, html) { tip.innerHTML = html; tip.style.display = \"block\"; tip.style.left = Math.min(ev.clientX + 12, innerWidth - 540) + \"px\"; tip.style.top = (ev.clientY + 14) + \"px\"; }\n"
	"function hideTip() { tip.style.display = \"none\"; }\n"
	"function esc(s) { return String(s).replace(/[&<>\"]/g, function (c) { return {\"&\": \"&amp;\", \"<\": \"&lt;\", \">\": \"&gt;\", '\"': \"&quot;\"}[c]; }); }\n"
	"\n"
	"/* ---- overview ------------------------------------------------------------------------------ */\n"
	"var M = D.meta;\n"
	"$(\"sub\").textContent = (M.paths || []).join(\" \") + \" \\u2014 \" + (M.started || \"\") + \" \\u2014 generated by agentprof-view\";\n"
	"[[\"wall time\", fmtNs(M.wall_ns)], [\"processes\", M.processes], [\"exchanges\", fmtN(M.exchanges)],\n"
	" [\"LLM calls\", fmtN(M.llm_calls)], [\"input tokens\", fmtN(D.totals.input_tokens)],\n"
	" [\"output tokens\", fmtN(D.totals.output_tokens)], [\"cost\", fmtUsd(D.totals.cost_usd)]].forEach(function (k) {\n"
	"  var d = el(\"div\", {\"class\": \"kpi\"}); d.appendChild(el(\"b\", null, String(k[1]))); d.appendChild(el(\"span\", null, k[0])); $(\"kpis\").appendChild(d);\n"
	"});\n"
	"$(\"notes\").textContent = (M.notes || []).join(\" \");\n"
	"\n"
	"/* ---- tables --------------------------------------------------------------------------------- */\n"
	"function table(t, head, rows) {\n"
	"  var tr = el(\"tr\");\n"
	"  head.forEach(function (h, i) { tr.appendChild(el(\"th\", i === 0 ? {\"class\": \"l\"} : null, h)); });\n"
	"  t.appendChild(tr);\n"
	"  rows.forEach(function (r) {\n"
	"    var row = el(\"tr\");\n"
	"    r.forEach(function (c, i) { row.appendChild(el(\"td\", i === 0 ? {\"class\": \"l\"} : null, c)); });\n"
	"    t.appendChild(row);\n"
	"  });\n"
	"  if (!rows.length) { var e = el(\"tr\"); e.appendChild(el(\"td\", {\"class\": \"l\", colspan: head.length}, \"none\")); t.appendChild(e); }\n"
	"}\n"
	"function d(g, k, f) { var x = g[k]; return x ? fmtNs(x[f]) : \"-\"; }\n"
	"table($(\"breakdown\"), [\"category\", \"wall time\", \"share of run\", \"calls\", \"summed call time\"],\n"
	"  D.breakdown.map(function (b) { return [b.category, fmtNs(b.wall_ns), pct(b.share), b.category === \"internal\" ? \"\" : fmtN(b.calls), b.category === \"internal\" ? \"\" : fmtNs(b.sum_ns)]; }));\n"
	"table($(\"models\"), [\"provider model\", \"calls\", \"errors\", \"total\", \"p50\", \"p90\", \"p95\", \"p99\", \"max\", \"ttfb p50\", \"ttfb p95\", \"input tok\", \"output tok\", \"cost\"],\n"
	"  D.models.map(function (g) { return [(g.provider || \"?\") + \" \" + (g.model || \"?\"), fmtN(g.calls), g.errors, fmtNs(g.total_ns), d(g, \"duration_ns\", \"p50\"), d(g, \"duration_ns\", \"p90\"), d(g, \"duration_ns\", \"p95\"), d(g, \"duration_ns\", \"p99\"), d(g, \"duration_ns\", \"max\"), d(g, \"ttfb_ns\", \"p50\"), d(g, \"ttfb_ns\", \"p95\"), fmtN(g.tokens.input), fmtN(g.tokens.output), fmtUsd(g.cost_usd)]; }));\n"
	"table($(\"endpoints\"), [\"endpoint\", \"category\", \"calls\", \"errors\", \"total\", \"p50\", \"p95\", \"p99\", \"max\", \"ttfb p95\"],\n"
	"  D.endpoints.map(function (g) { return [(g.method || \"\") + \" \" + (g.host || \"?\") + (g.port && g.port !== 443 && g.port !== 80 ? \":\" + g.port : \"\") + (g.path || \"\"), g.category || \"?\", fmtN(g.calls), g.errors, fmtNs(g.total_ns), d(g, \"duration_ns\", \"p50\"), d(g, \"duration_ns\", \"p95\"), d(g, \"duration_ns\", \"p99\"), d(g, \"duration_ns\", \"max\"), d(g, \"ttfb_ns\", \"p95\")]; }));\n"
	"table($(\"tokens\"), [\"provider model\", \"calls\", \"input\", \"output\", \"cache read\", \"cache write\", \"reasoning\", \"cost\", \"calls without cost\"],\n"
	"  D.models.map(function (g) { var t = g.tokens; return [(g.provider || \"?\") + \" \" + (g.model || \"?\"), fmtN(g.calls), fmtN(t.input), fmtN(t.output), fmtN(t.cache_read), fmtN(t.cache_write), fmtN(t.reasoning), fmtUsd(g.cost_usd), g.cost_unknown_calls]; })\n"
	"  .concat([[\"total\", fmtN(M.llm_calls), fmtN(D.totals.input_tokens), fmtN(D.totals.output_tokens), fmtN(D.totals.cache_read_tokens), fmtN(D.totals.cache_write_tokens), fmtN(D.totals.reasoning_tokens), fmtUsd(D.totals.cost_usd), \"\"]]));\n"
	"(function () {\n"
	"  var box = $(\"findings\");\n"
	"  if (!D.findings.length) { box.appendChild(el(\"div\", {\"class\": \"note\"}, \"No bottleneck findings with the current thresholds.\")); return; }\n"
	"  D.findings.forEach(function (f) {\n"
	"    var div = el(\"div\", {\"class\": \"finding\", \"data-kind\": f.kind});\n"
	"    var t = el(\"div\", {\"class\": \"t\"}); t.appendChild(el(\"span\", {\"class\": \"tag\"}, f.kind));\n"
	"    t.appendChild(document.createTextNode(f.title + (f.saving_ns > 0 ? \" \\u2014 could save \" + fmtNs(f.saving_ns) : \"\") + (f.saving_usd > 0 ? \" / \" + fmtUsd(f.saving_usd) : \"\")));\n"
	"    div.appendChild(t); div.appendChild(el(\"div\", {\"class\": \"s\"}, f.suggestion)); box.appendChild(div);\n"
	"  });\n"
	"  if (D.findings_total > D.findings.length)\n"
	"    box.appendChild(el(\"div\", {\"class\": \"note\"}, \"Showing the first \" + D.findings.length + \" of \" + D.findings_total + \" findings (largest saving first); agentprof-view bottlenecks --limit 0 lists all.\"));\n"
	"})();\n"
	"\n"
	"/* ---- flame graph -------------------------------------------------------------------------- */\n"
	"var F = D.flame, UNITS = [\"time\", \"calls\", \"tokens\", \"cost\"];\n"
	"function node(n) { return {n: n, v: [0, 0, 0, 0], c: [], m: {}}; }\n"
	"var root = node(-1);\n"
	"F.stacks.forEach(function (s) {\n"
	"  var cur = root, k;\n"
	"  for (k = 0; k < 4; k++) root.v[k] += s[k + 1];\n"
	"  s[0].forEach(function (f) {\n"
	"    var ch = cur.m[f];\n"
	"    if (!ch) { ch = node(f); ch.p = cur; cur.m[f] = ch; cur.c.push(ch); }\n"
	"    for (k = 0; k < 4; k++) ch.v[k] += s[k + 1];\n"
	"    cur = ch;\n"
	"  });\n"
	"});\n"
	"function nameOf(n) { return n.n < 0 ? \"all\" : F.names[n.n]; }\n"
	"function fmtW(v, w) { return w === 0 ? fmtNs(v * 1e3) : w === 3 ? fmtUsd(v / 1e6) : fmtN(v) + \" \" + UNITS[w]; }\n"
	"function color(name) {\n"
	"  var m = /^\\[(llm|tool|memory|process)\\]/.exec(name);\n"
	"  if (m) return {llm: \"#4c78a8\", tool: \"#f58518\", memory: \"#54a24b\", process: \"#b279a2\"}[m[1]];\n"
	"  if (/^(dns|connect|tls|send request|wait for first byte|receive)$/.test(name)) return \"#bbbbbb\";\n"
	"  var h = 0; for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;\n"
	"  if (/\\+0x[0-9a-f]+$|^0x/.test(name)) return \"hsl(40,10%,\" + (72 + h % 10) + \"%)\";\n"
	"  return \"hsl(\" + (10 + h % 40) + \",\" + (70 + h % 20) + \"%,\" + (55 + (h >> 8) % 15) + \"%)\";\n"
	"}\n"
	"var focus = root, weight = 0, search = null, ROW = 18, MAXN = 6000;\n"
	"function depthOf(n) { var k = 0; for (; n.p; n = n.p) k++; return k; }\n"
	"function renderFlame() {\n"
	"  var box = $(\"flame\"), W = Math.max(box.clientWidth || 1000, 400), rows = [], drawn = 0, matched = 0;\n"
	"  box.textContent = \"\";\n"
	"  var total = focus.v[weight];\n"
	"  if (!(root.v[weight] > 0)) { box.appendChild(el(\"div\", {\"class\": \"note\"}, \"No \" + UNITS[weight] + \" recorded for the selected exchanges.\")); return; }\n"
	"  var anc = []; for (var a = focus; a; a = a.p) anc.unshift(a);\n"
	"  anc.forEach(function (n, i) { rows.push({n: n, x: 0, w: W, d: i}); });\n"
	"  (function lay(n, x, d) {\n"
	"    var cx = x;\n"
	"    n.c.slice().sort(function (p, q) { return nameOf(p) < nameOf(q) ? -1 : 1; }).forEach(function (c) {\n"
	"      var w = total > 0 ? c.v[weight] / total * W : 0;\n"
	"      if (w >= 0.5 && drawn < MAXN) { rows.push({n: c, x: cx, w: w, d: d}); drawn++; lay(c, cx, d + 1); }\n"
	"      cx += w;\n"
	"    });\n"
	"  })(focus, 0, anc.length);\n"
	"  var maxd = 0; rows.forEach(function (r) { if (r.d > maxd) maxd = r.d; });\n"
	"  var svg = el(\"svg:svg\", {width: W, height: (maxd + 1) * ROW, viewBox: \"0 0 \" + W + \" \" + (maxd + 1) * ROW, role: \"img\", \"aria-label\": \"flame graph\"});\n"
	"  var re = null; try { re = search ? new RegExp(search, \"i\") : null; } catch (e) { re = null; }\n"
	"  rows.forEach(function (r) {\n"
	"    var name = nameOf(r.n), g = el(\"svg:g\", {\"class\": \"frame\", \"data-name\": name, \"data-depth\": r.d, transform: \"translate(\" + r.x.toFixed(2) + \",\" + r.d * ROW + \")\"});\n"
	"    if (re && re.test(name)) { g.setAttribute(\"class\", \"frame match\"); matched += r.n.v[weight]; }\n"
	"    g.appendChild(el(\"svg:rect\", {width: Math.max(r.w - 0.5, 0.5).toFixed(2), height: ROW - 1, fill: color(name)}));\n"
	"    if (r.w > 30) {\n"
	"      var chars = Math.floor((r.w - 6) / 6.6), label = name.length > chars ? name.slice(0, Math.max(chars - 2, 0)) + \"..\" : name;\n"
	"      g.appendChild(el(\"svg:text\", {x: 3, y: ROW - 5}, label));\n"
	"    }\n"
	"    g.addEventListener(\"click\", function () { focus = r.n === focus && focus.p ? focus.p : r.n; renderFlame(); });\n"
	"    g.addEventListener(\"mousemove\", function (ev) {\n"
	"      var v = r.n.v[weight], parent = r.n.p ? r.n.p.v[weight] : v;\n"
	"      showTip(ev, \"<b>\" + esc(name) + \"</b><br>\" + fmtW(v, weight) + \" \\u2014 \" + pct(root.v[weight] ? v / root.v[weight] : 0) + \" of all, \" + pct(parent ? v / parent : 0) + \" of parent<br>calls \" + fmtN(r.n.v[1]) + \", tokens \" + fmtN(r.n.v[2]) + \", cost \" + fmtUsd(r.n.v[3] / 1e6));\n"
	"    });\n"
	"    g.addEventListener(\"mouseleave\", hideTip);\n"
	"    svg.appendChild(g);\n"
	"  });\n"
	"  box.appendChild(svg);\n"
	"  box.setAttribute(\"data-focus\", nameOf(focus));\n"
	"  box.setAttribute(\"data-frames\", rows.length);\n"
	"  $(\"fstatus\").textContent = (focus !== root ? \"zoomed on \" + nameOf(focus) + \". \" : \"\") + (re ? \"matched \" + pct(root.v[weight] ? matched / root.v[weight] : 0) + \" of \" + UNITS[weight] + \". \" : \"\") + (drawn >= MAXN ? \"Only the \" + MAXN + \" widest frames are drawn. \" : \"\") + (F.with_stack < F.exchanges ? (F.exchanges - F.with_stack) + \" of \" + F.exchanges + \" exchanges have no recorded stack. \" : \"\");\n"
	"}\n"
	"$(\"fw\").addEventListener(\"change\", function () { weight = +this.value; renderFlame(); });\n"
	"$(\"fsearch\").addEventListener(\"input\", function () { search = this.value || null; renderFlame(); });\n"
	"$(\"freset\").addEventListener(\"click\", function () { focus = root; renderFlame(); });\n"
	"window.addEventListener(\"resize\", renderFlame);\n"
	"renderFlame();\n"
	"\n"
	"/* ---- waterfall --------------------------------------------------------------------------- */\n"
	"(function () {\n"
	"  var WF = D.waterfall, box = $(\"wf\"), LW = 300, RH = 14, W = Math.max((box.clientWidth || 1100) - 20, 600);\n"
	"  $(\"wfnote\").textContent = WF.shown < WF.total ? \"Showing the \" + WF.shown + \" longest of \" + WF.total + \" exchanges (in time order); the Chrome/Perfetto export has all of them.\" : WF.total + \" exchanges in time order.\";\n"
	"  if (!WF.rows.length) return;\n"
	"  var span = Math.max(WF.end_ns - WF.start_ns, 1), PW = W - LW - 10;\n"
	"  var svg = el(\"svg:svg\", {width: W, height: WF.rows.length * RH + 24, \"aria-label\": \"waterfall\"});\n"
	"  for (var t = 0; t <= 10; t++) {\n"
	"    var x = LW + PW * t / 10;\n"
	"    svg.appendChild(el(\"svg:line\", {x1: x, x2: x, y1: 0, y2: WF.rows.length * RH + 12, stroke: \"#eef0f2\"}));\n"
	"    svg.appendChild(el(\"svg:text\", {x: x + 2, y: WF.rows.length * RH + 22}, fmtNs(span * t / 10)));\n"
	"  }\n"
	"  WF.rows.forEach(function (r, i) {\n"
	"    var y = i * RH, x0 = LW + PW * (r[0] / span), w = Math.max(PW * (r[1] - r[0]) / span, 1);\n"
	"    var g = el(\"svg:g\", {\"class\": \"wrow\", \"data-title\": r[3]});\n"
	"    var label = r[3] + \" (\" + r[4] + \"/\" + r[5] + \")\";\n"
	"    g.appendChild(el(\"svg:text\", {x: 2, y: y + RH - 3}, label.length > 46 ? label.slice(0, 44) + \"..\" : label));\n"
	"    g.appendChild(el(\"svg:rect\", {x: x0.toFixed(2), y: y + 2, width: w.toFixed(2), height: RH - 4, \"class\": \"bar-\" + r[2]}));\n"
	"    (r[6] || []).forEach(function (p) {\n"
	"      if (p[0] !== \"wait for first byte\") return;\n"
	"      g.appendChild(el(\"svg:rect\", {x: (LW + PW * p[1] / span).toFixed(2), y: y + 2, width: Math.max(PW * (p[2] - p[1]) / span, 0.5).toFixed(2), height: RH - 4, \"class\": \"ph\"}));\n"
	"    });\n"
	"    g.addEventListener(\"mousemove\", function (ev) {\n"
	"      showTip(ev, \"<b>\" + esc(r[3]) + \"</b><br>pid \" + r[4] + \" tid \" + r[5] + (r[7] >= 0 ? \", status \" + r[7] : \"\") + \"<br>\" + fmtNs(r[1] - r[0]) + \" at +\" + fmtNs(r[0]) + \"<br>\" + (r[6] || []).map(function (p) { return esc(p[0]) + \" \" + fmtNs(p[2] - p[1]); }).join(\", \"));\n"
	"    });\n"
	"    g.addEventListener(\"mouseleave\", hideTip);\n"
	"    svg.appendChild(g);\n"
	"  });\n"
	"  box.appendChild(svg);\n"
	"})();\n"
	"document.body.setAttribute(\"data-ready\", \"1\");\n"
	"})();\n";

/* -- end of template -- */
/* clang-format on */

static void meta(struct jw *w, struct view *v, const struct totals *t, const struct folded *f)
{
	const struct run *run = &v->a.run;
	size_t procs = 0, xs = 0, llm = 0;
	double rate = run_sample_rate(&v->a);
	struct tbuf tb;
	char note[300];

	for (size_t i = 0; i < run->n_procs; i++)
		procs += v->a.psel[i];
	for (size_t i = 0; i < run->n_xs; i++) {
		xs += v->a.xsel[i];
		llm += v->a.xsel[i] && run->xs[i].cat == AP_CAT_LLM;
	}
	jw_key(w, "meta");
	jw_obj(w);
	jw_kint(w, "start_ns", v->a.start);
	jw_kint(w, "wall_ns", t->bd.wall);
	jw_kstr(w, "started", v->a.start != UNK ? fmt_epoch(&tb, v->a.start) : "");
	jw_kuint(w, "processes", procs);
	jw_kuint(w, "exchanges", xs);
	jw_kuint(w, "llm_calls", llm);
	jw_key(w, "paths");
	jw_arr(w);
	for (int i = 0; i < v->o.npaths; i++)
		jw_str(w, v->o.paths[i]);
	if (!v->o.npaths)
		jw_str(w, ".");
	jw_arr_end(w);
	jw_key(w, "notes");
	jw_arr(w);
	if (rate < 1) {
		snprintf(note, sizeof(note),
			 "Sampled run: %.1f%% of exchanges recorded in detail; counts are scaled.",
			 rate * 100);
		jw_str(w, note);
	}
	if (f->exchanges && !f->with_stack)
		jw_str(w,
		       "No call stacks were recorded (AGENTPROF_STACKS=0?): the flame graph shows "
		       "endpoints only.");
	if (v->prices) {
		snprintf(note, sizeof(note), "Costs from %s.", prices_source(v->prices));
		jw_str(w, note);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void totals_json(struct jw *w, const struct totals *t)
{
	static const char *const keys[T_MAX] = {"input_tokens", "output_tokens",
						"cache_read_tokens", "cache_write_tokens",
						"reasoning_tokens"};

	jw_key(w, "totals");
	jw_obj(w);
	for (int k = 0; k < T_MAX; k++) {
		if (t->tok.calls && t->tok.unknown[k] == t->tok.calls)
			jw_knull(w, keys[k]);
		else
			jw_kdouble(w, keys[k], round(t->tok.v[k]));
	}
	jw_kdouble(w, "cost_usd", t->cost_unknown == t->tok.calls && t->tok.calls ? NAN : t->cost);
	jw_obj_end(w);
}

static void breakdown_json(struct jw *w, const struct breakdown *bd)
{
	jw_key(w, "breakdown");
	jw_arr(w);
	for (int c = 1; c <= AP_CAT_MAX; c++) {
		const struct catstat *cs = &bd->cat[c];

		if (c < AP_CAT_MAX && !cs->n)
			continue;
		jw_obj(w);
		jw_kstr(w, "category", c == CAT_INTERNAL ? "internal" : ap_category_name(c));
		jw_kint(w, "wall_ns", cs->wall);
		jw_kdouble(w, "share", share(cs->wall, bd->wall));
		jw_kdouble(w, "calls", round(cs->calls));
		jw_kint(w, "sum_ns", cs->sum);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void groups_json(struct jw *w, struct view *v, const char *key, enum group_kind kind)
{
	struct group *g = NULL;
	size_t n = groups_build(&v->a, kind, NULL, &g);

	if (v->o.limit > 0 && n > (size_t)v->o.limit)
		n = (size_t)v->o.limit;
	jw_groups(w, key, &v->a.run, kind, g, n);
	free(g);
}

static void findings_json(struct jw *w, struct view *v)
{
	struct findings fs = {0};

	findings_detect(v, &v->a, &fs);
	jw_kuint(w, "findings_total", fs.n);
	jw_key(w, "findings");
	jw_arr(w);
	for (size_t i = 0; i < fs.n && (v->o.limit <= 0 || i < (size_t)v->o.limit); i++) {
		const struct finding *f = &fs.f[i];

		jw_obj(w);
		jw_kstr(w, "kind", finding_kind_name(f->kind));
		jw_kstr(w, "title", f->title);
		jw_kstr(w, "suggestion", f->suggestion);
		jw_kint(w, "saving_ns", f->saving_ns);
		jw_kdouble(w, "saving_usd", f->saving_usd);
		jw_key(w, "exchanges");
		jw_arr(w);
		for (size_t k = 0; k < f->nev && k < EV_MAX; k++)
			jw_uint(w, f->ev[k]);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	findings_free(&fs);
}

static void flame_json(struct jw *w, const struct folded *f)
{
	jw_key(w, "flame");
	jw_obj(w);
	jw_kuint(w, "exchanges", f->exchanges);
	jw_kuint(w, "with_stack", f->with_stack);
	jw_key(w, "names");
	jw_arr(w);
	for (size_t i = 0; i < f->n_names; i++)
		jw_str(w, f->names[i]);
	jw_arr_end(w);
	jw_key(w, "stacks");
	jw_arr(w);
	for (size_t i = 0; i < f->n_st; i++) {
		const struct fstack *s = &f->st[i];

		jw_arr(w);
		jw_arr(w);
		for (uint32_t k = 0; k < s->n; k++)
			jw_uint(w, s->fr[k]);
		jw_arr_end(w);
		for (int k = 0; k < FW_N; k++)
			jw_double(w, round(s->w[k] * 1000) / 1000);
		jw_arr_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

struct wfx {
	size_t i;
	int64_t key;
};

static int cmp_wfx(const void *a, const void *b)
{
	const struct wfx *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void waterfall_json(struct jw *w, struct view *v)
{
	const struct run *run = &v->a.run;
	struct wfx *sel = xcalloc(run->n_xs + 1, sizeof(*sel));
	size_t n = 0, total;
	int64_t t0 = v->a.start, t1 = v->a.end;
	char title[400];

	for (size_t i = 0; i < run->n_xs; i++)
		if (v->a.xsel[i] && run->xs[i].t0 != UNK)
			sel[n++] = (struct wfx){i, -(run->xs[i].t1 - run->xs[i].t0)};
	total = n;
	if (n > WF_ROWS) { /* keep the longest */
		qsort(sel, n, sizeof(*sel), cmp_wfx);
		n = WF_ROWS;
	}
	for (size_t k = 0; k < n; k++)
		sel[k].key = run->xs[sel[k].i].t0;
	qsort(sel, n, sizeof(*sel), cmp_wfx);
	jw_key(w, "waterfall");
	jw_obj(w);
	jw_kuint(w, "total", total);
	jw_kuint(w, "shown", n);
	jw_kint(w, "start_ns", 0);
	jw_kint(w, "end_ns", t1 != UNK && t0 != UNK ? t1 - t0 : 0);
	jw_key(w, "rows");
	jw_arr(w);
	for (size_t k = 0; k < n; k++) {
		const struct vxch *x = &run->xs[sel[k].i];
		struct xphase ph[XPHASE_MAX];
		size_t np = x_phases(x, ph);

		x_title(run, x, title, sizeof(title));
		jw_arr(w);
		jw_int(w, x->t0 - t0);
		jw_int(w, x->t1 - t0);
		jw_str(w, x->cat ? ap_category_name(x->cat) : "other");
		jw_str(w, title);
		jw_int(w, run->procs[x->proc].pid);
		jw_uint(w, x->tid);
		jw_arr(w);
		for (size_t p = 0; p < np; p++) {
			jw_arr(w);
			jw_str(w, ph[p].name);
			jw_int(w, ph[p].a - t0);
			jw_int(w, ph[p].b - t0);
			jw_arr_end(w);
		}
		jw_arr_end(w);
		jw_int(w, x->status);
		jw_arr_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	free(sel);
}

/* JSON inside <script type="application/json">: '<' as \u003c, so "</script>" cannot occur. */
static void put_json(FILE *out, const char *s, size_t n)
{
	size_t a = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '<')
			continue;
		fwrite(s + a, 1, i - a, out);
		fputs("\\u003c", out);
		a = i + 1;
	}
	fwrite(s + a, 1, n - a, out);
}

int cmd_html(struct view *v)
{
	struct symbolizer *sym = sym_open(&v->a.run, v->err);
	struct totals t;
	struct folded f;
	struct jw w;
	char *json = NULL;
	size_t n = 0;
	FILE *mf, *out = v->out;
	int rc = 0;

	folded_build(v, sym, FR_NONE, &f);
	totals_compute(&v->a, &t);
	mf = open_memstream(&json, &n);
	if (!mf) {
		perror("agentprof-view: open_memstream");
		rc = 2;
		goto out;
	}
	jw_init(&w, mf, 0);
	jw_obj(&w);
	meta(&w, v, &t, &f);
	totals_json(&w, &t);
	breakdown_json(&w, &t.bd);
	groups_json(&w, v, "models", G_MODEL);
	groups_json(&w, v, "endpoints", G_ENDPOINT);
	findings_json(&w, v);
	flame_json(&w, &f);
	waterfall_json(&w, v);
	jw_obj_end(&w);
	jw_end(&w);
	fclose(mf);
	if (v->o.output) {
		out = fopen(v->o.output, "w");
		if (!out) {
			fprintf(v->err, "agentprof-view html: %s: %s\n", v->o.output,
				strerror(errno));
			rc = 2;
			goto out;
		}
	}
	if (v->o.json) { /* the data the page embeds */
		fwrite(json, 1, n, out);
		goto close;
	}
	fputs(page_head, out);
	fputs("<script type=\"application/json\" id=\"agentprof-data\">", out);
	put_json(out, json, n);
	fputs("</script>\n<script>\n", out);
	fputs(page_js, out);
	fputs("</script>\n</body>\n</html>\n", out);
close:
	if (out != v->out && fclose(out) != 0) {
		fprintf(v->err, "agentprof-view html: %s: %s\n", v->o.output, strerror(errno));
		rc = 2;
	}
out:
	free(json);
	folded_free(&f);
	sym_close(sym);
	return rc;
}
