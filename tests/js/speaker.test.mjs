import { test } from "node:test";
import assert from "node:assert/strict";
import { makeUpsampler, int16ToFloat } from "../../realtime_widgets/widgets/speaker.js";

function tone(freq, rate, seconds) {
  const n = Math.round(rate * seconds);
  return Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * freq * i) / rate) * 0.5);
}

test("24 kHz -> 48 kHz keeps length and a continuous waveform across chunk borders", () => {
  const up = makeUpsampler(24000, 48000);
  const x = tone(440, 24000, 0.5);
  const parts = [];
  for (let i = 0; i < x.length; i += 480) parts.push(up(x.subarray(i, i + 480)));
  const y = Float32Array.from(parts.flatMap((p) => Array.from(p)));
  assert.ok(Math.abs(y.length - 24000) <= 2, `length ${y.length}`);
  let maxJump = 0;
  for (let i = 1; i < y.length; i++) maxJump = Math.max(maxJump, Math.abs(y[i] - y[i - 1]));
  const ideal = 0.5 * 2 * Math.PI * 440 / 48000;
  assert.ok(maxJump <= ideal * 1.05, `no click: max jump ${maxJump} vs ${ideal}`);
});

test("24 kHz -> 44.1 kHz keeps the tone's frequency", () => {
  const up = makeUpsampler(24000, 44100);
  const y = up(tone(1000, 24000, 1.0));
  let crossings = 0;
  for (let i = 1; i < y.length; i++) if (y[i - 1] < 0 && y[i] >= 0) crossings++;
  assert.ok(Math.abs(crossings - 1000) <= 2, `crossings ${crossings}`);
  assert.ok(Math.abs(y.length - 44100) <= 2);
});

test("int16 little-endian to float", () => {
  const buf = new ArrayBuffer(6);
  const v = new DataView(buf);
  v.setInt16(0, 16384, true); v.setInt16(2, -32768, true); v.setInt16(4, 0, true);
  assert.deepEqual(Array.from(int16ToFloat(buf)), [0.5, -1, 0]);
});

import { makeRing } from "../../realtime_widgets/widgets/speaker.js";

test("the ring plays items in order, counts what each played, and never stops on underrun", () => {
  const r = makeRing(1000, 4);
  r.push("a", Float32Array.from([0.1, 0.2, 0.3]));
  r.push("b", Float32Array.from([0.4, 0.5]));
  const out = new Float32Array(8);
  assert.deepEqual(r.fill(out), []);
  assert.deepEqual(Array.from(out).map((v) => Math.round(v * 10) / 10), [0.1, 0.2, 0.3, 0.4, 0.5, 0, 0, 0]);
  assert.deepEqual(r.played, { a: 3, b: 2 });
  assert.equal(r.underruns, 1); // one underrun episode, silence played through it
  r.push("c", Float32Array.from([0.6]));
  r.fill(new Float32Array(2));
  assert.equal(r.played.c, 1);
});

test("a flush fades out, reports the played offset, and drops the rest", () => {
  const r = makeRing(1000, 4);
  r.push("a", new Float32Array(100).fill(1));
  r.fill(new Float32Array(10));
  r.flush();
  const out = new Float32Array(10);
  const events = r.fill(out);
  assert.deepEqual(Array.from(out.slice(0, 4)), [1, 0.75, 0.5, 0.25]);
  assert.deepEqual(events, [{ type: "flushed", item_id: "a", played: 14 }]);
  assert.equal(r.queued(), 0);
  assert.deepEqual(Array.from(out.slice(4)), [0, 0, 0, 0, 0, 0]);
});

test("a rendered frame maps to the page clock through the output timestamp", async () => {
  const { outputTime } = await import("../../realtime_widgets/widgets/speaker.js");
  const ctx = { sampleRate: 48000, currentTime: 2, baseLatency: 0.01, outputLatency: 0.02,
    getOutputTimestamp: () => ({ contextTime: 1.9, performanceTime: 5000 }) };
  assert.equal(outputTime(ctx, 48000 * 2), 5100); // 0.1 s after the sample being heard now
  const noClock = { ...ctx, getOutputTimestamp: () => ({ contextTime: 0, performanceTime: 0 }) };
  const t = outputTime(noClock, 48000 * 2.5); // half a second ahead plus 30 ms of latency
  const expected = performance.now() + 530;
  assert.ok(Math.abs(t - expected) < 20, `${t} vs ${expected}`);
});
