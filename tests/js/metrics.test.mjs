import { test } from "node:test";
import assert from "node:assert/strict";
import { SEGMENTS, UNKNOWN, barMs, countdown, estimateNote, niceScale, segments, tickLabel, turnLabel, turnParts, turnTotal } from "../../realtime_widgets/widgets/metrics.js";

/** A VAD turn measured end to end (client/latency.py, stop_to_sound). */
const MEASURED = {
  n: 2,
  status: "completed",
  first_delta: 300,
  stop_to_sound: {
    start: "speech_stopped",
    segments: { vad_wait: 500, mic: 28.4, uplink: 60, server: 400, to_browser: 12, playout: 45 },
    total_ms: 1045.4,
    known_ms: 1045.4,
  },
};

test("countdown formats m:ss and stops at zero", () => {
  assert.equal(countdown(1000, 1000 * 1000 - 125000), "2:05");
  assert.equal(countdown(1000, 2000 * 1000), "0:00");
  assert.equal(countdown(null, 0), "");
});

test("the axis is round, starts at 0 and covers the longest bar", () => {
  assert.deepEqual(niceScale(1045.4), { scale: 1500, ticks: [0, 500, 1000, 1500] });
  assert.deepEqual(niceScale(1000), { scale: 1000, ticks: [0, 250, 500, 750, 1000] });
  assert.deepEqual(niceScale(0), { scale: 100, ticks: [0, 25, 50, 75, 100] });
  assert.deepEqual(niceScale(5200), { scale: 6000, ticks: [0, 2000, 4000, 6000] });
  for (const max of [1, 99, 333, 2049, 17_000]) {
    const { scale, ticks } = niceScale(max);
    assert.ok(scale >= max && ticks.length >= 3 && ticks.length <= 6, `${max}: ${ticks}`);
    assert.equal(ticks[ticks.length - 1], scale);
  }
});

test("axis labels are ms, or seconds once the axis reaches 10 s", () => {
  assert.deepEqual([0, 500, 1500].map((ms) => tickLabel(ms, 1500)), ["0", "500", "1500"]);
  assert.deepEqual([0, 2500, 10000].map((ms) => tickLabel(ms, 10000)), ["0", "2.5", "10"]);
});

test("segments are laid end to end on the shared scale, in percent, skipping unknown ones", () => {
  const stop = { start: "speech_stopped", segments: { vad_wait: 500, mic: null, uplink: -5, server: 250 }, total_ms: null, known_ms: 745 };
  const segs = segments(/** @type {any} */ (stop), 1000);
  assert.deepEqual(segs.map((s) => [s.key, s.left, s.width]), [["vad_wait", 0, 50], ["uplink", 50, 0], ["server", 50, 25]]);
  assert.equal(segments(null, 1000).length, 0);
  assert.equal(barMs(MEASURED), 1045.4);
  assert.equal(barMs({ stop_to_sound: /** @type {any} */ (stop) }), 750); // a negative part draws as 0
});

test("every segment has a legend name and a colour of its own", () => {
  assert.deepEqual(SEGMENTS.map(([key]) => key), ["vad_wait", "mic", "uplink", "server", "to_browser", "playout"]);
  assert.equal(new Set(SEGMENTS.map(([, , , color]) => color)).size, SEGMENTS.length);
  assert.ok(SEGMENTS.every(([, name, short, , what]) => name && short && what));
});

test("a measured turn reads you stopped -> first sound, then its parts", () => {
  assert.equal(turnTotal(MEASURED), "you stopped → first sound 1045 ms");
  assert.equal(turnParts(MEASURED), "VAD 500 + mic 28 + network 60 + server 400 + to page 12 + playout 45 ms");
  assert.equal(turnLabel(MEASURED), `${turnTotal(MEASURED)} (${turnParts(MEASURED)})`);
});

test("a turn not fully measured gives a lower bound and names what is missing", () => {
  const partial = { stop_to_sound: { start: "speech_stopped", segments: { vad_wait: 500, mic: null, uplink: null, server: 400, to_browser: null, playout: null }, total_ms: null, known_ms: 900 } };
  assert.equal(turnTotal(/** @type {any} */ (partial)), "you stopped → first sound ≥ 900 ms");
  assert.equal(turnParts(/** @type {any} */ (partial)), "VAD 500 + server 400 ms; not measured: mic, network, to page, playout");
  const semantic = { stop_to_sound: { start: "speech_stopped", segments: { vad_wait: null, server: 400 }, total_ms: null, known_ms: 400 } };
  assert.match(turnParts(/** @type {any} */ (semantic)), /not measured: VAD wait \(semantic VAD does not report it\)/);
  const commit = { stop_to_sound: { start: "commit", segments: { vad_wait: 0, uplink: 30, server: 320, to_browser: 10, playout: 40 }, total_ms: 400, known_ms: 400 } };
  assert.equal(turnParts(/** @type {any} */ (commit)), "VAD 0 + network 30 + server 320 + to page 10 + playout 40 ms");
});

test("a negative segment reads as unknown: no row ever prints a negative time", () => {
  // An old turn whose append time was misread: network -19960 ms (clamped to 0 in the bar).
  const bogus = { start: "speech_stopped", segments: { vad_wait: 500, mic: -2, uplink: -19960, server: 400, to_browser: 12, playout: 45 }, total_ms: null, known_ms: -19005 };
  const turn = /** @type {any} */ ({ n: 1, status: "completed", stop_to_sound: bogus });
  assert.equal(turnTotal(turn), "you stopped → first sound ≥ 957 ms");
  assert.equal(turnParts(turn), `VAD 500 + server 400 + to page 12 + playout 45 ms; ${UNKNOWN}: mic, network`);
  const titles = segments(bogus, 1000).map((s) => s.text);
  assert.deepEqual(titles.slice(1, 3), [`mic → sent: ${UNKNOWN}`, `network + VAD decision: ${UNKNOWN}`]);
  assert.equal(titles[3], "server → first audio: 400 ms");
  const whole = { ...bogus, segments: { ...bogus.segments, mic: null }, total_ms: -19003 };
  const rows = [turn, { status: "completed", stop_to_sound: whole }, { stop_to_sound: null, first_delta: 320, toolkit_out: -3 }];
  for (const t of rows) {
    const text = [turnLabel(/** @type {any} */ (t)), ...segments(t.stop_to_sound, 1000).map((s) => s.text)].join(" | ");
    assert.doesNotMatch(text, /-\s*\d|−/, text);
  }
  assert.equal(turnTotal(/** @type {any} */ (rows[1])), "you stopped → first sound ≥ 957 ms");
  assert.equal(turnLabel(/** @type {any} */ (rows[2])), "typed turn: reply began 320 ms after response.created");
  // within rounding of 0 it is 0, not unknown
  const jitter = { ...bogus, segments: { ...bogus.segments, mic: -0.4, uplink: 60 } };
  assert.equal(turnParts(/** @type {any} */ ({ status: "completed", stop_to_sound: jitter })), "VAD 500 + mic 0 + network 60 + server 400 + to page 12 + playout 45 ms");
});

test("a reply that ended with no audio says so, not that its parts are unmeasured", () => {
  const stop = { start: "speech_stopped", segments: { vad_wait: 500, mic: 77, uplink: 4, server: null, to_browser: null, playout: null }, total_ms: null, known_ms: 581 };
  const cancelled = /** @type {any} */ ({ status: "cancelled", stop_to_sound: stop });
  assert.equal(turnTotal(cancelled), "you stopped → no reply audio (reply cancelled)");
  assert.equal(turnParts(cancelled), "VAD 500 + mic 77 + network 4 ms");
  const waiting = /** @type {any} */ ({ status: null, stop_to_sound: stop });
  assert.equal(turnTotal(waiting), "you stopped → first sound ≥ 581 ms");
  assert.match(turnParts(waiting), /not measured: server, to page, playout$/);
});

test("a typed turn and a turn cut by a lost connection say so", () => {
  assert.equal(turnTotal({ status: "interrupted", stop_to_sound: MEASURED.stop_to_sound }), "reply interrupted by a lost connection");
  assert.equal(turnParts({ status: "interrupted", stop_to_sound: MEASURED.stop_to_sound }), "");
  assert.equal(turnLabel({ stop_to_sound: null, first_delta: 320 }), "typed turn: reply began 320 ms after response.created");
  assert.equal(turnLabel({ stop_to_sound: null, first_delta: 320, toolkit_out: 48 }), "typed turn: reply began 320 ms after response.created + playback 48 ms");
  assert.equal(turnLabel({ stop_to_sound: null, first_delta: null }), "typed turn");
});

test("the local server's usage is labelled an estimate, and only then", () => {
  const note = "Usage and cost are the local server's estimates (rule), not OpenAI's counts.";
  assert.equal(estimateNote({ estimate: true, estimate_note: note }), note);
  assert.match(estimateNote({ estimate: true }), /local server's estimates/);
  assert.equal(estimateNote({ estimate: false, estimate_note: note }), "");
  assert.equal(estimateNote({}), "");
});
