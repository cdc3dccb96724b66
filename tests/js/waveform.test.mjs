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

test("in a crowded view the cut's label keeps its place: higher priority is placed first", () => {
  // five labels earlier than the cut fill the three rows around it; the cut comes last in time
  const labels = [
    ...Array.from({ length: 5 }, (_, i) => ({ x: 100 + i, width: 60 })),
    { x: 106, width: 60, priority: 2 },
  ];
  const placed = layoutLabels(labels, 800, 3);
  assert.ok(placed[5].row >= 0, `the cut is shown: ${JSON.stringify(placed)}`);
  assert.equal(placed[5].row, 0);
  // without a priority, time order alone hides it
  const plain = layoutLabels(labels.map(({ x, width }) => ({ x, width })), 800, 3);
  assert.equal(plain[5].row, -1);
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

import { droppedColumns } from "../../realtime_widgets/widgets/waveform.js";

test("a typed turn's long label gives way to its short tag where it does not fit", () => {
  const labels = [
    { x: 100, width: 30 }, { x: 105, width: 30 }, // two labels already fill rows 0-1 there
    { x: 108, width: 200, short: 40 }, // "typed: ..." cannot fit whole before the edge at 300
  ];
  const placed = layoutLabels(labels, 300, 3);
  assert.deepEqual(placed[2], { left: 111, row: 2, short: true });
  // with room, the whole label is shown
  assert.equal(layoutLabels([{ x: 10, width: 200, short: 40 }], 800, 3)[0].short, false);
});

test("labels never start in the lanes' name gutter", () => {
  const [p] = layoutLabels([{ x: 70, width: 50 }], 100, 3, 3, 62);
  assert.equal(p.row, -1); // it fits neither right (past the edge) nor left (in the gutter)
  const [q] = layoutLabels([{ x: 70, width: 20 }], 100, 3, 3, 62);
  assert.deepEqual(q, { left: 73, row: 0, short: false });
});

test("the columns of a cut reply's dropped audio are marked, the heard ones not", () => {
  // bins 0-100 over 10 columns (10 bins each, 10 ms bins): dropped from 400 ms to 700 ms
  const gone = droppedColumns([{ from_ms: 400, to_ms: 700 }], 10, 0, 100, 10);
  assert.deepEqual(Array.from(gone), [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
});

test("a dropped span grows under its id; a marker's short label comes along", () => {
  const tracks = { in: makeTrack(), out: makeTrack() };
  const markers = [];
  const spans = new Map();
  const span = (to) => ({ type: "span", id: 7, kind: "dropped", item: "a", from_ms: 100, to_ms: to });
  applyItems(tracks, markers, new Set(), [span(300), { type: "marker", id: 8, kind: "typed", ms: 50, label: "typed: hi", short: "typed" }], [], spans);
  applyItems(tracks, markers, new Set(), [span(500)], [], spans);
  applyItems(tracks, markers, new Set(), [span(300)], [], spans); // an older copy (a snapshot) does not shrink it
  assert.deepEqual([...spans.values()].map((s) => s.to_ms), [500]);
  assert.equal(markers[0].short, "typed");
});

test("a cut forgets a track's bins from its bin on, and the bins after it replace them", () => {
  const tracks = { in: makeTrack(), out: makeTrack() };
  // a burst's run drawn 3 bins ahead, then moved back: a cut from bin 1, the run again
  applyItems(tracks, [], new Set(), [{ type: "env", track: "in", start: 0 }], [bins(-1, 1, -4, 4, -4, 4, -4, 4, -4, 4)]);
  applyItems(tracks, [], new Set(), [{ type: "cut", track: "in", from: 1 }, { type: "env", track: "in", start: 1 }], [bins(-4, 4, -4, 4)]);
  assert.equal(tracks.in.length, 3);
  assert.deepEqual(Array.from(tracks.in.max.slice(0, 5)), [1, 4, 4, 0, 0]);
  applyItems(tracks, [], new Set(), [{ type: "cut", track: "out", from: 9 }], []); // nothing there
  assert.equal(tracks.out.length, 0);
});
