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

import { makeSampleRing } from "../../realtime_widgets/widgets/microphone.js";

test("the sample ring hands out whole chunks in order across its wrap-around", () => {
  const ring = makeSampleRing(10);
  const seen = [];
  let next = 0;
  for (const size of [3, 4, 2, 5, 1, 4]) {
    ring.push(Float32Array.from({ length: size }, () => next++));
    const chunk = new Float32Array(4);
    while (ring.take(chunk)) seen.push(...chunk);
  }
  assert.deepEqual(seen, Array.from({ length: 16 }, (_, i) => i)); // 19 pushed, 16 taken in order
  assert.equal(ring.length, 3);
  assert.equal(ring.overwritten, 0);
  assert.equal(ring.take(new Float32Array(4)), false); // fewer than a chunk: nothing moves
  assert.equal(ring.length, 3);
});

test("the sample ring keeps the newest samples when overfilled, and counts what it overwrote", () => {
  const ring = makeSampleRing(5);
  ring.push(Float32Array.from([1, 2, 3]));
  ring.push(Float32Array.from([4, 5, 6, 7]));
  assert.equal(ring.overwritten, 2);
  const out = new Float32Array(5);
  assert.ok(ring.take(out));
  assert.deepEqual(Array.from(out), [3, 4, 5, 6, 7]);
  ring.push(Float32Array.from({ length: 12 }, (_, i) => i));
  assert.equal(ring.overwritten, 9);
  assert.ok(ring.take(out));
  assert.deepEqual(Array.from(out), [7, 8, 9, 10, 11]);
});

test("the worklet's capture loop keeps no per-sample array pushes or splices", async () => {
  const { readFile } = await import("node:fs/promises");
  const source = await readFile(new URL("../../realtime_widgets/widgets/microphone.js", import.meta.url), "utf8");
  const worklet = source.slice(source.indexOf("class MicCapture"), source.indexOf("registerProcessor("));
  assert.ok(worklet.includes("makeSampleRing"));
  assert.ok(!/\.splice\(|pending\.push\(y\[/.test(worklet), worklet);
  const down = source.slice(source.indexOf("export function makeDownsampler"), source.indexOf("export function floatToInt16"));
  assert.ok(!/out\.push\(/.test(down));
});

import { audioConstraints, deviceOptions, appliedText, isTalkKey } from "../../realtime_widgets/widgets/microphone.js";

test("the capture asks for the chosen device and the three processing toggles", () => {
  const base = { device_id: "", echo_cancellation: false, noise_suppression: true, auto_gain_control: false };
  assert.deepEqual(audioConstraints(base),
    { echoCancellation: false, noiseSuppression: true, autoGainControl: false, channelCount: 1 });
  assert.deepEqual(audioConstraints({ ...base, device_id: "abc" }).deviceId, { exact: "abc" });
});

test("the device picker lists audio inputs after the default, numbered until labels are allowed", () => {
  const devices = [
    { kind: "audioinput", deviceId: "default", label: "Default" },
    { kind: "audioinput", deviceId: "a1", label: "" },
    { kind: "videoinput", deviceId: "v1", label: "Camera" },
    { kind: "audiooutput", deviceId: "o1", label: "Speakers" },
    { kind: "audioinput", deviceId: "a2", label: "USB headset" },
  ];
  assert.deepEqual(deviceOptions(devices), [
    ["", "Default microphone"],
    ["a1", "microphone 1 (names appear once it is allowed)"],
    ["a2", "USB headset"],
  ]);
});

test("what the browser applied is said in words", () => {
  assert.equal(appliedText(null), "not capturing: the settings apply at the next start");
  assert.equal(appliedText({ echoCancellation: false, noiseSuppression: true, autoGainControl: true }, "USB headset"),
    "in use: USB headset · echo cancellation off · noise suppression on · auto gain on");
});

test("Space is the push-to-talk key, other keys are left alone", () => {
  assert.ok(isTalkKey({ key: " ", code: "Space" }));
  assert.ok(!isTalkKey({ key: "Enter", code: "Enter" }));
  assert.ok(!isTalkKey({ key: "a", code: "KeyA" }));
});
