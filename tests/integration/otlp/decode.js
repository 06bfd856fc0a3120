// decode.js: decodes OTLP/JSON bodies with the real OpenTelemetry protobuf definitions (the
// generated root of @opentelemetry/otlp-transformer) and prints a summary as JSON.
// node decode.js NODE_MODULES traces|metrics BODY...
// Every body must convert to the message (hex ids to bytes as the OTLP/JSON mapping says), pass
// verify(), survive an encode/decode round trip, and lose no key in the conversion (a key the
// definitions do not know would be dropped: reported as unknown).
'use strict';
const path = require('path');
const fs = require('fs');
const [nm, signal, ...files] = process.argv.slice(2);
const root = require(path.join(nm, '@opentelemetry/otlp-transformer/build/src/generated/root.js'));
const pb = root.opentelemetry.proto;
const T = signal === 'metrics' ? pb.collector.metrics.v1.ExportMetricsServiceRequest
	: pb.collector.trace.v1.ExportTraceServiceRequest;
const HEXKEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
function hexToB64(o) {
	if (Array.isArray(o)) return o.map(hexToB64);
	if (o && typeof o === 'object') {
		const r = {};
		for (const [k, v] of Object.entries(o)) {
			if (HEXKEYS.has(k) && typeof v === 'string') {
				if (!/^[0-9a-f]*$/.test(v) || (v.length !== 32 && v.length !== 16))
					throw new Error(`${k} is not lowercase hex of 8/16 bytes: ${v}`);
				r[k] = Buffer.from(v, 'hex').toString('base64');
			} else r[k] = hexToB64(v);
		}
		return r;
	}
	return o;
}
function lost(a, b, p, out) { // keys of a missing in b
	if (Array.isArray(a)) { a.forEach((x, i) => lost(x, b && b[i], p, out)); return; }
	if (a && typeof a === 'object') {
		for (const k of Object.keys(a)) {
			if (!b || !(k in b)) out.add(p + '/' + k);
			else lost(a[k], b[k], p + '/' + k, out);
		}
	}
}
const sum = { bodies: 0, spans: 0, ids: [], client: 0, kinds: {}, services: {}, resAttrs: {}, unknown: [],
	errors: [], maxSpans: 0, metrics: [], points: 0, traces: {} };
for (const f of files) {
	let j;
	try { j = JSON.parse(fs.readFileSync(f, 'utf8')); } catch (e) { sum.errors.push(`${f}: JSON: ${e.message}`); continue; }
	let msg;
	try {
		const obj = hexToB64(j);
		msg = T.fromObject(obj);
		const v = T.verify(msg);
		if (v) throw new Error('verify: ' + v);
		const back = T.toObject(msg, { longs: String, enums: Number, bytes: String, defaults: false, arrays: true, objects: true });
		const u = new Set(); lost(obj, back, '', u);
		for (const k of u) if (sum.unknown.length < 20) sum.unknown.push(k);
		msg = T.decode(T.encode(msg).finish());
	} catch (e) { sum.errors.push(`${path.basename(f)}: ${e.message}`); continue; }
	sum.bodies++;
	if (signal === 'metrics') {
		for (const rm of msg.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) {
			const d = m.histogram || m.sum || m.gauge;
			sum.metrics.push(m.name);
			sum.points += d ? d.dataPoints.length : 0;
		}
		continue;
	}
	let n = 0;
	for (const rs of msg.resourceSpans) {
		const ra = {};
		for (const kv of rs.resource.attributes) ra[kv.key] = kv.value.stringValue ?? String(kv.value.intValue ?? '');
		for (const ss of rs.scopeSpans) for (const s of ss.spans) {
			n++;
			sum.spans++;
			sum.ids.push(Buffer.from(s.spanId).toString('hex'));
			sum.traces[Buffer.from(s.traceId).toString('hex')] = 1;
			sum.kinds[s.kind] = (sum.kinds[s.kind] || 0) + 1;
			if (s.kind === 3) sum.client++;
			sum.services[ra['service.name']] = 1;
		}
		for (const [k, v] of Object.entries(ra)) sum.resAttrs[k] = v;
	}
	sum.maxSpans = Math.max(sum.maxSpans, n);
}
const uniq = new Set(sum.ids);
sum.unique = uniq.size;
delete sum.ids;
sum.traces = Object.keys(sum.traces).length;
process.stdout.write(JSON.stringify(sum) + '\n');
