// html_zoom_cdp.js PORT: drive the report's waterfall in a running headless Chromium over the
// DevTools protocol: drag across the time axis, wheel-zoom, double-click back, open a finding
// group. Prints one JSON object with what it saw. Needs node >= 20 (--experimental-websocket).
const [port] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  let page;
  for (let i = 0; i < 100 && !page; i++) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
      page = list.find((t) => t.type === "page" && t.url.startsWith("file:"));
    } catch (e) {}
    if (!page) await sleep(100);
  }
  if (!page) throw new Error("no page target");
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  const pending = new Map();
  let id = 0;
  ws.onmessage = (m) => {
    const d = JSON.parse(m.data);
    if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); }
  };
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  const send = (method, params = {}) => new Promise((r) => {
    const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params }));
  });
  const ev = async (expression) => {
    const r = await send("Runtime.evaluate", { expression, returnByValue: true });
    if (r.result.exceptionDetails) throw new Error(JSON.stringify(r.result.exceptionDetails));
    return r.result.result.value;
  };
  const state = () => ev(`(() => { const b = document.getElementById("wf");
    return {v0: +b.dataset.v0, v1: +b.dataset.v1, visible: +b.dataset.visible,
            status: document.getElementById("wfstatus").textContent}; })()`);
  const mouse = (type, x, y, extra = {}) => send("Input.dispatchMouseEvent", { type, x, y, button: "left", ...extra });
  const out = {};
  for (let i = 0; i < 100; i++) {
    if ((await ev('document.body && document.body.getAttribute("data-ready")')) === "1") break;
    await sleep(100);
  }
  out.ready = await ev('document.body.getAttribute("data-ready")');
  await send("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
  out.labels = await ev("[...document.querySelectorAll('#wf g.wrow text')].slice(0, 6).map((t) => t.textContent)");
  out.groups = await ev("document.querySelectorAll('#wf g.wgrp').length");
  out.before = await state();
  // drag across the middle fifth of the time axis (the plot starts 360 px into the svg)
  const r = await ev(`(() => { const s = document.querySelector("#wf svg"); s.scrollIntoView({block: "start"});
    const b = s.getBoundingClientRect(); return {x: b.left, y: b.top, w: b.width}; })()`);
  const plotX = (f) => r.x + 360 + (r.w - 360 - 10) * f, y = r.y + 40;
  await mouse("mousePressed", plotX(0.4), y, { clickCount: 1 });
  await mouse("mouseMoved", plotX(0.5), y);
  await mouse("mouseMoved", plotX(0.6), y);
  await mouse("mouseReleased", plotX(0.6), y, { clickCount: 1 });
  await sleep(200);
  out.dragged = await state();
  await send("Input.dispatchMouseEvent", { type: "mouseWheel", x: plotX(0.5), y, deltaX: 0, deltaY: -300 });
  await sleep(200);
  out.wheeled = await state();
  await mouse("mousePressed", plotX(0.5), y, { clickCount: 1 });
  await mouse("mouseReleased", plotX(0.5), y, { clickCount: 1 });
  await mouse("mousePressed", plotX(0.5), y, { clickCount: 2 });
  await mouse("mouseReleased", plotX(0.5), y, { clickCount: 2 });
  await sleep(200);
  out.reset = await state();
  out.finding_groups = await ev("[...document.querySelectorAll('#findings details.finding')].map((d) => [d.dataset.kind, +d.dataset.count, d.open])");
  await ev("document.querySelector('#findings details.finding').open = true");
  out.opened_items = await ev("document.querySelector('#findings details.finding').querySelectorAll('li').length");
  console.log(JSON.stringify(out));
  ws.close();
  process.exit(0);
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
