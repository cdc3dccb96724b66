import { test } from "node:test";
import assert from "node:assert/strict";
import { makeUpsampler, int16ToFloat, statusLine } from "../../realtime_widgets/widgets/speaker.js";

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

import { makeJitter } from "../../realtime_widgets/widgets/speaker.js";

/**
 * Play a stream of `chunks` chunks of `chunk` samples, sent in real time with the given lateness
 * (samples) per chunk, through a ring; returns the ring after the last sample was due.
 */
function stream(ring, chunk, lateness, quantum = 128) {
  // one socket: chunks arrive in order, a late chunk holds back the ones behind it
  const arrivals = [];
  lateness.forEach((late, k) => arrivals.push({ at: Math.max(k * chunk + late, k ? arrivals[k - 1].at : 0), k }));
  const total = chunk * lateness.length + 48000;
  let next = 0;
  const out = new Float32Array(quantum);
  for (let clock = 0; clock < total; clock += quantum) {
    while (next < arrivals.length && arrivals[next].at <= clock) {
      ring.push("item", new Float32Array(chunk).fill(0.5), arrivals[next].at);
      next++;
      if (next === arrivals.length) ring.end("item");
    }
    ring.fill(out);
  }
  return ring;
}

// A 24 kHz clock; 100 ms chunks sent in real time (the local server's pace), arriving up to 60 ms late.
const LATE = [0, 1440, 240, 960, 0, 1200, 480, 1440, 0, 720, 1200, 240, 960, 1440, 0, 600];

test("with no prebuffer, a real-time stream with jitter underruns (the headless report's cause)", () => {
  const ring = stream(makeRing(48000 * 4, 240), 2400, LATE);
  assert.ok(ring.underruns >= 2, `underruns ${ring.underruns}`);
});

test("the jitter prebuffer, sized from measured arrival, plays the same stream without a gap", () => {
  const jitter = makeJitter(24000);
  const ring = stream(makeRing(48000 * 4, 240, { jitter }), 2400, LATE);
  assert.equal(ring.underruns, 0);
  assert.equal(ring.played.item, 2400 * LATE.length); // every sample played, the end not an underrun
  assert.ok(Math.abs(jitter.peakMs() - 60) < 1, `measured ${jitter.peakMs()} ms`);
  const target = (jitter.target() / 24000) * 1000;
  assert.ok(target >= 60 && target <= 100, `prebuffer ${target} ms`);
});

test("the prebuffer adapts: an underrun re-primes with the larger lateness, then plays on", () => {
  const jitter = makeJitter(24000, { initialMs: 40, minMs: 40 });
  const late = Array.from({ length: 30 }, (_, k) => (k === 12 ? 4800 : 0)); // one chunk 200 ms late
  const ring = stream(makeRing(48000 * 4, 240, { jitter }), 2400, late);
  assert.equal(ring.underruns, 1);
  assert.equal(ring.played.item, 2400 * late.length);
  assert.ok((jitter.target() / 24000) * 1000 >= 200);
});

test("a complete short reply plays at once instead of waiting for the prebuffer", () => {
  const ring = makeRing(48000, 240, { jitter: makeJitter(24000, { initialMs: 500 }) });
  ring.push("a", new Float32Array(240).fill(1), 0);
  ring.end("a");
  const out = new Float32Array(256);
  ring.fill(out);
  assert.equal(out[0], 1);
  assert.equal(ring.played.a, 240);
  assert.equal(ring.underruns, 0);
});

test("a continuous stream (a translation) that runs dry pauses: no underrun, and the prebuffer is held again", () => {
  const ring = makeRing(48000, 240, { jitter: makeJitter(24000, { initialMs: 100 }) });
  ring.continuous = true;
  ring.push("translation", new Float32Array(480).fill(1), 0);
  ring.fill(new Float32Array(48000)); // the prebuffer, the audio, then a long pause
  assert.equal(ring.played.translation, 480);
  assert.equal(ring.underruns, 0);
  // audio comes again after the pause: it waits for the prebuffer as the first did
  ring.push("translation", new Float32Array(480).fill(1), ring.clock);
  const out = new Float32Array(256);
  ring.fill(out);
  assert.equal(out[0], 0);
  assert.equal(ring.played.translation, 480);
  ring.fill(new Float32Array(24000));
  assert.equal(ring.played.translation, 960);
  assert.equal(ring.underruns, 0);
  // the same stream without `continuous` counts each pause as an underrun
  const plain = makeRing(48000, 240, { jitter: makeJitter(24000, { initialMs: 100 }) });
  plain.push("translation", new Float32Array(480).fill(1), 0);
  plain.fill(new Float32Array(48000));
  assert.equal(plain.underruns, 1);
});

test("a reply that arrives faster than real time starts once it runs ahead by the prebuffer, not after the initial guess", () => {
  const ring = makeRing(48000 * 4, 240, { jitter: makeJitter(24000) }); // initial 300 ms, min 40 ms
  for (let k = 0; k < 10; k++) ring.push("a", new Float32Array(2400).fill(0.5), k * 24); // 1 s in 10 ms
  const out = new Float32Array(128);
  let started = -1;
  for (let clock = 0; clock < 24000 && started < 0; clock += 128) {
    ring.fill(out);
    if (out.some((v) => v !== 0)) started = clock;
  }
  const ms = (started / 24000) * 1000;
  assert.ok(ms <= 10, `started after ${ms} ms`); // the 4th chunk (1 ms in) is 300 ms ahead
});

test("a first reply sent 500 ms ahead of real time starts at once, then plays in real time without a gap", () => {
  // The local server's default lead (and OpenAI's faster-than-real-time audio): 5 chunks at once,
  // fewer than the 8 that make the measured prebuffer trusted, then one chunk per 100 ms.
  const jitter = makeJitter(24000); // initial 300 ms
  const ring = makeRing(48000 * 4, 240, { jitter });
  const arrival = (k) => Math.max(0, k * 2400 - 12000);
  const out = new Float32Array(128);
  let started = -1;
  let next = 0;
  for (let clock = 0; clock < 24000 * 3; clock += 128) {
    while (next < 20 && arrival(next) <= clock) ring.push("a", new Float32Array(2400).fill(0.5), arrival(next++));
    if (next === 20) ring.end("a");
    ring.fill(out);
    if (started < 0 && out.some((v) => v !== 0)) started = clock;
  }
  assert.equal(started, 0); // not the 300 ms guess: 500 ms were already queued
  assert.equal(ring.underruns, 0);
  assert.equal(ring.played.a, 2400 * 20);
});

test("before the stream is measured, one real-time chunk still waits for the initial prebuffer", () => {
  const ring = makeRing(48000 * 4, 240, { jitter: makeJitter(24000) }); // initial 300 ms
  ring.push("a", new Float32Array(2400).fill(0.5), 0); // 100 ms queued < 300 ms
  const out = new Float32Array(128);
  ring.fill(out);
  assert.equal(out[0], 0);
  assert.ok(ring.priming());
});

test("after a flush, audio of the interrupted item still arriving is dropped, the next item plays", () => {
  const r = makeRing(1000, 4);
  r.push("a", new Float32Array(100).fill(1));
  r.fill(new Float32Array(10));
  r.flush();
  r.fill(new Float32Array(10));
  r.push("a", new Float32Array(50).fill(1)); // in flight when the user barged in
  assert.equal(r.queued(), 0);
  r.push("b", new Float32Array(5).fill(0.5));
  const out = new Float32Array(5);
  r.fill(out);
  assert.deepEqual(Array.from(out), [0.5, 0.5, 0.5, 0.5, 0.5]);
  assert.equal(r.played.a, 14);
});

test("a rendered frame maps to the page clock through the output timestamp", async () => {
  const { outputTime } = await import("../../realtime_widgets/widgets/speaker.js");
  const ctx = { sampleRate: 48000, currentTime: 2, baseLatency: 0.01, outputLatency: 0.02,
    getOutputTimestamp: () => ({ contextTime: 1.9, performanceTime: 5000 }) };
  assert.equal(outputTime(ctx, 48000 * 2), 5100); // 0.1 s after the sample being heard now
  const noClock = { ...ctx, getOutputTimestamp: () => ({ contextTime: 0, performanceTime: 0 }) };
  // half a second ahead plus 30 ms of latency, from the moment of the call
  const before = performance.now();
  const t = outputTime(noClock, 48000 * 2.5);
  const after = performance.now();
  assert.ok(before + 530 - 1e-6 <= t && t <= after + 530 + 1e-6, `${t} not in [${before + 530}, ${after + 530}]`);
});

test("a strictly real-time stream keeps the 40 ms floor when it arrives on time", () => {
  const jitter = makeJitter(24000);
  for (let k = 0; k < 10; k++) jitter.add(0);
  assert.equal(jitter.trusted(), true);
  assert.equal((jitter.target() / 24000) * 1000, 40);
});

test("the speaker's status is one short line; the tooltip has every figure", () => {
  const quiet = statusLine("running", 120, 0, 300, 40);
  assert.equal(quiet.text, "speaker: 0.1 s queued");
  assert.equal(
    quiet.title,
    "speaker running \u00b7 120 ms queued \u00b7 0 underruns \u00b7 jitter prebuffer 300 ms (latest chunks up to 40 ms late)",
  );
  assert.equal(statusLine("running", 80, 1, 300, 0).text, "speaker: 1 underrun");
  assert.equal(statusLine("running", 80, 3, 300, 0).text, "speaker: 3 underruns");
  const suspended = statusLine("suspended", 0, 0, 300, 0);
  assert.equal(suspended.text, "sound suspended: click");
  assert.match(suspended.title, /click to enable sound/);
  // The old line was 44 characters and wrapped to three lines beside the microphone; ~22
  // characters fit its ~147 px with the file browser open.
  for (const line of [quiet, statusLine("running", 1234, 12, 500, 480), suspended])
    assert.ok(line.text.length <= 22, line.text);
});
