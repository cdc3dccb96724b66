import { test } from "node:test";
import assert from "node:assert/strict";
import { makeTrack, putBins, columnsOf } from "../../realtime_widgets/widgets/waveform.js";

test("bins land at their absolute index and the track grows", () => {
  const t = makeTrack();
  putBins(t, 5000, Int16Array.from([-3, 4, -7, 9]));
  assert.equal(t.length, 5002);
  assert.equal(t.min[5001], -7);
  assert.equal(t.max[5001], 9);
  assert.equal(t.max[10], 0);
});

test("pixel columns take the min and max of the bins under them", () => {
  const t = makeTrack();
  putBins(t, 0, Int16Array.from([-1, 1, -5, 2, -2, 8, 0, 0]));
  const cols = columnsOf(t, 0, 4, 2);
  assert.deepEqual(Array.from(cols.min), [-5, -2]);
  assert.deepEqual(Array.from(cols.max), [2, 8]);
  const zoomed = columnsOf(t, 0, 2, 4); // more pixels than bins: each bin repeats
  assert.deepEqual(Array.from(zoomed.max), [1, 1, 2, 2]);
});

import { layoutLabels } from "../../realtime_widgets/widgets/waveform.js";

const intersects = (a, b) => a.row === b.row && a.left < b.left + b.width && b.left < a.left + a.width;

test("marker labels at a barge-in never overlap, whatever order the markers came in", () => {
  // speech, cancelled and a time label within a few pixels, arriving out of time order
  const labels = [
    { x: 300, width: 60 }, { x: 296, width: 48 }, { x: 302, width: 70 }, { x: 120, width: 40 }, { x: 299, width: 30 },
  ];
  const placed = layoutLabels(labels, 800, 3);
  const boxes = placed.map((p, i) => ({ ...p, width: labels[i].width })).filter((b) => b.row >= 0);
  assert.ok(boxes.length >= 4, `most labels shown: ${JSON.stringify(placed)}`);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) assert.ok(!intersects(boxes[i], boxes[j]), JSON.stringify([boxes[i], boxes[j]]));
  }
  assert.equal(placed[3].row, 0); // an isolated label takes the first row
});

test("a label at the right edge flips left of its line and stays inside the drawing", () => {
  const [p] = layoutLabels([{ x: 790, width: 50 }], 800, 3);
  assert.equal(p.row, 0);
  assert.ok(p.left >= 0 && p.left + 50 <= 790, JSON.stringify(p));
});

test("labels that fit in no row are hidden rather than drawn on top of others", () => {
  const labels = Array.from({ length: 6 }, () => ({ x: 100, width: 40 }));
  const placed = layoutLabels(labels, 800, 3);
  assert.equal(placed.filter((p) => p.row >= 0).length, 3);
  assert.deepEqual(new Set(placed.filter((p) => p.row >= 0).map((p) => p.row)), new Set([0, 1, 2]));
});

import { applyItems } from "../../realtime_widgets/widgets/waveform.js";

const bins = (...v) => new DataView(Int16Array.from(v).buffer);

test("a view draws live batches at once, and a snapshot that overlaps them fills in the rest once", () => {
  const tracks = { in: makeTrack(), out: makeTrack() };
  const markers = [];
  const seen = new Set();
  // live, before the history came: bins 2-3 and the second marker
  applyItems(tracks, markers, seen, [{ type: "env", track: "in", start: 2 }, { type: "marker", id: 2, kind: "speech_stopped", ms: 30, label: "end" }], [bins(-5, 5, -6, 6)]);
  assert.equal(tracks.in.length, 4);
  assert.equal(tracks.in.max[0], 0); // bins 0-1 not known yet
  // the snapshot: bins 0-3 as one run (overlapping the live ones), both markers
  applyItems(tracks, markers, seen, [
    { type: "env", track: "in", start: 0 },
    { type: "marker", id: 1, kind: "speech_started", ms: 10, label: "speech" },
    { type: "marker", id: 2, kind: "speech_stopped", ms: 30, label: "end" },
  ], [bins(-1, 1, -2, 2, -5, 5, -6, 6)]);
  assert.deepEqual(Array.from(tracks.in.max.slice(0, 4)), [1, 2, 5, 6]);
  assert.deepEqual(markers.map((m) => m.id), [1, 2]); // each once, in time order
  // later live batches continue as before
  applyItems(tracks, markers, seen, [{ type: "marker", id: 3, kind: "committed", ms: 40, label: "commit" }], []);
  assert.deepEqual(markers.map((m) => m.id), [1, 2, 3]);
});
