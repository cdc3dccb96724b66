import { test } from "node:test";
import assert from "node:assert/strict";
import { makeDownsampler, floatToInt16, makeFlow } from "../../realtime_widgets/widgets/microphone.js";

function tone(freq, rate, seconds, amp = 0.5) {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.sin((2 * Math.PI * freq * i) / rate) * amp);
}
function rms(x, skip) {
  let s = 0; let n = 0;
  for (let i = skip; i < x.length - skip; i++) { s += x[i] * x[i]; n++; }
  return Math.sqrt(s / n);
}
function chunked(down, x, size) {
  const out = [];
  for (let i = 0; i < x.length; i += size) out.push(...down(x.subarray(i, i + size)));
  return Float32Array.from(out);
}

for (const rate of [48000, 44100]) {
  test(`${rate} -> 24000: passband flat, length right, chunk borders clean`, () => {
    const y = chunked(makeDownsampler(rate, 24000), tone(1000, rate, 1), 128);
    assert.ok(Math.abs(y.length - 24000) <= 40, `length ${y.length}`);
    const db = 20 * Math.log10(rms(y, 200) / (0.5 / Math.SQRT2));
    assert.ok(Math.abs(db) < 0.1, `1 kHz gain ${db.toFixed(3)} dB`);
    const y4 = chunked(makeDownsampler(rate, 24000), tone(4000, rate, 1), 128);
    assert.ok(Math.abs(20 * Math.log10(rms(y4, 200) / (0.5 / Math.SQRT2))) < 0.2);
  });
  test(`${rate} -> 24000: what 24 kHz cannot hold is removed, not folded back`, () => {
    const y = chunked(makeDownsampler(rate, 24000), tone(15000, rate, 1), 128);
    const db = 20 * Math.log10(rms(y, 200) / (0.5 / Math.SQRT2));
    assert.ok(db < -60, `15 kHz attenuation ${db.toFixed(1)} dB`);
  });
}

test("float to int16 clips and maps NaN to silence", () => {
  assert.deepEqual(Array.from(floatToInt16(Float32Array.from([0, 0.5, -1.5, 2, NaN]))), [0, 16384, -32767, 32767, 0]);
});

test("flow control keeps at most maxUnacked chunks in flight", () => {
  const flow = makeFlow(3);
  for (let i = 0; i < 3; i++) { assert.ok(flow.canSend()); flow.onSend(); }
  assert.equal(flow.canSend(), false);
  flow.onDrop();
  flow.onAck(2);
  assert.ok(flow.canSend());
  assert.equal(flow.droppedChunks, 1);
});
