// t47_html_report.js: checks of tests/integration/t47_html_report.sh, fed on stdin there.
// cdp.js PORT FRAME SHOT: drive the report in a running headless Chromium over the DevTools
// protocol: wait for the page, click FRAME in the flame graph, search, screenshot to SHOT.
// Prints one JSON object with what it saw. Needs node >= 20 (--experimental-websocket) or 22.
const [port, frame, shot] = process.argv.slice(2);
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
  const out = {};
  for (let i = 0; i < 100; i++) {
    if ((await ev('document.body && document.body.getAttribute("data-ready")')) === "1") break;
    await sleep(100);
  }
  out.ready = await ev('document.body.getAttribute("data-ready")');
  await send("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
  out.frames_before = await ev("document.querySelectorAll('#flame g.frame').length");
  const sel = `[...document.querySelectorAll('#flame g.frame')].find((g) => g.dataset.name === ${JSON.stringify(frame)})`;
  const r = await ev(`(() => { const g = ${sel}; if (!g) return null; g.scrollIntoView({block: "center"});
    const b = g.querySelector("rect").getBoundingClientRect(); return {x: b.x + b.width / 2, y: b.y + b.height / 2, w: b.width}; })()`);
  out.target_width_before = r ? r.w : null;
  if (r) {
    await send("Input.dispatchMouseEvent", { type: "mouseMoved", x: r.x, y: r.y });
    out.tooltip = await ev("document.getElementById('tip').style.display === 'block' ? document.getElementById('tip').textContent : ''");
    await send("Input.dispatchMouseEvent", { type: "mousePressed", x: r.x, y: r.y, button: "left", clickCount: 1 });
    await send("Input.dispatchMouseEvent", { type: "mouseReleased", x: r.x, y: r.y, button: "left", clickCount: 1 });
    await sleep(200);
    out.focus = await ev("document.getElementById('flame').dataset.focus");
    out.target_width_after = await ev(`(() => { const g = ${sel}; return g ? g.querySelector("rect").getBoundingClientRect().width : null; })()`);
    out.svg_width = await ev("document.querySelector('#flame svg').getBoundingClientRect().width");
    out.names_after = await ev("[...new Set([...document.querySelectorAll('#flame g.frame')].map((g) => g.dataset.name))]");
    await ev("document.getElementById('freset').click()");
    out.focus_after_reset = await ev("document.getElementById('flame').dataset.focus");
  }
  await ev(`(() => { const i = document.getElementById("fsearch"); i.value = ${JSON.stringify(frame)}; i.dispatchEvent(new Event("input")); })()`);
  out.matches = await ev("document.querySelectorAll('#flame g.frame.match').length");
  out.status = await ev("document.getElementById('fstatus').textContent");
  await ev(`(() => { const s = document.getElementById("fw"); s.value = "1"; s.dispatchEvent(new Event("change")); })()`);
  out.frames_calls = await ev("document.querySelectorAll('#flame g.frame').length");
  const shotr = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: false });
  require("fs").writeFileSync(shot, Buffer.from(shotr.result.data, "base64"));
  console.log(JSON.stringify(out));
  ws.close();
  process.exit(0);
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
