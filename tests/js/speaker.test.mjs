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
