// Microphone: getUserMedia -> AudioWorklet (resampled to 24 kHz mono Int16 inside the worklet)
// -> 20-100 ms chunks as binary buffers to the kernel, with ack-based flow control.

/**
 * The synced state (microphone.py); `streaming`, `dropped_ms` and `context_rate` are set here.
 * @typedef {object} MicModel
 * @property {"hands-free" | "push-to-talk"} mode
 * @property {boolean} echo_cancellation
 * @property {boolean} noise_suppression
 * @property {boolean} auto_gain_control
 * @property {number} chunk_ms
 * @property {boolean} streaming
 * @property {number} dropped_ms
 * @property {number} context_rate
 * @property {string} capture_key which capture (one per model) a view shows
 */
/** The kernel's messages: acks of the chunks, start, stop, a clock ping. @typedef {{ type: "ack", seq: number } | { type: "start" } | { type: "stop" } | { type: "ping", id: number }} KernelMsg */
/** @typedef {import("@anywidget/types").AnyModel<MicModel>} Model */
/** @typedef {ReturnType<typeof makeCapture>} Capture */

/**
 * Band-limited streaming resampler (windowed-sinc, Blackman, `taps` long), for any ratio.
 * Output sample k corresponds to input time k * from / to; state is kept across chunks.
 * @param {number} from @param {number} to @param {number} [taps]
 */
export function makeDownsampler(from, to, taps = 64) {
  const step = from / to;
  const cutoff = Math.min(1, to / from) * 0.9; // of the input Nyquist: keeps the output alias-free
  const half = taps / 2;
  let buf = new Float32Array(half); // zero history, so output 0 is input 0
  let pos = half;
  const sinc = (/** @type {number} */ x) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  const blackman = (/** @type {number} */ x) => {
    const t = (x + half) / taps; // 0..1 across the window
    return t <= 0 || t >= 1 ? 0 : 0.42 - 0.5 * Math.cos(2 * Math.PI * t) + 0.08 * Math.cos(4 * Math.PI * t);
  };
  /** @param {Float32Array} input @returns {Float32Array} */
  return function process(input) {
    const merged = new Float32Array(buf.length + input.length);
    merged.set(buf);
    merged.set(input, buf.length);
    const count = Math.max(0, Math.ceil((merged.length - half - pos) / step));
    const out = new Float32Array(count); // sized up front: no per-sample array pushes
    let n = 0;
    while (pos + half < merged.length && n < count) {
      const center = Math.floor(pos);
      const frac = pos - center;
      let acc = 0;
      let norm = 0;
      for (let k = -half + 1; k <= half; k++) {
        const x = k - frac;
        const wgt = sinc(x * cutoff) * blackman(x);
        acc += merged[center + k] * wgt;
        norm += wgt;
      }
      out[n++] = acc / norm;
      pos += step;
    }
    const keep = Math.max(0, Math.floor(pos) - half);
    buf = merged.slice(keep);
    pos -= keep;
    return n === count ? out : out.subarray(0, n);
  };
}

/** @param {Float32Array} x @returns {Int16Array} (clipped; NaN -> 0, as the kernel's rule) */
export function floatToInt16(x) {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Number.isNaN(x[i]) ? 0 : Math.max(-1, Math.min(1, x[i]));
    out[i] = Math.round(v * 32767);
  }
  return out;
}

/**
 * A preallocated ring of float samples: the worklet queues resampled audio here and takes
 * whole chunks out, with no per-sample array pushes or splices. When more arrives than it
 * holds, the oldest samples are overwritten (and counted in `overwritten`).
 * @param {number} capacity
 */
export function makeSampleRing(capacity) {
  return {
    buf: new Float32Array(capacity), capacity, start: 0, length: 0, overwritten: 0,
    /** @param {Float32Array} x */
    push(x) {
      let from = 0;
      if (x.length > this.capacity) { from = x.length - this.capacity; this.overwritten += from; }
      const n = x.length - from;
      const excess = this.length + n - this.capacity;
      if (excess > 0) { this.start = (this.start + excess) % this.capacity; this.length -= excess; this.overwritten += excess; }
      let end = (this.start + this.length) % this.capacity;
      const head = Math.min(n, this.capacity - end);
      this.buf.set(x.subarray(from, from + head), end);
      if (head < n) this.buf.set(x.subarray(from + head), 0);
      this.length += n;
    },
    /** Move the oldest `out.length` samples into `out`; false (nothing moved) if fewer are held. @param {Float32Array} out */
    take(out) {
      if (out.length > this.length) return false;
      const head = Math.min(out.length, this.capacity - this.start);
      out.set(this.buf.subarray(this.start, this.start + head));
      if (head < out.length) out.set(this.buf.subarray(0, out.length - head), head);
      this.start = (this.start + out.length) % this.capacity;
      this.length -= out.length;
      return true;
    },
  };
}

/** Flow control: how many chunks may be unacknowledged before new ones are dropped. @param {number} maxUnacked */
export function makeFlow(maxUnacked) {
  return { sent: 0, acked: 0, droppedChunks: 0, maxUnacked,
    canSend() { return this.sent - this.acked < this.maxUnacked; },
    onSend() { this.sent += 1; return this.sent; },
    onDrop() { this.droppedChunks += 1; },
    onAck(/** @type {number} */ seq) { this.acked = Math.max(this.acked, seq); } };
}

/** The capture worklet's module source (runs in the AudioWorkletGlobalScope; not type-checked). */
const WORKLET = (/** @type {number} */ chunkMs) => `
${makeDownsampler.toString()}
${floatToInt16.toString()}
${makeSampleRing.toString()}
class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.down = makeDownsampler(sampleRate, 24000);
    this.chunk = Math.round(24000 * ${chunkMs} / 1000);
    this.pending = makeSampleRing(this.chunk * 8);
    this.on = true;
    this.port.onmessage = (e) => { this.on = e.data.on; };
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch || !this.on) return true;
    this.pending.push(this.down(ch));
    while (this.pending.length >= this.chunk) {
      const part = new Float32Array(this.chunk); // transferred to the page with its PCM
      this.pending.take(part);
      let sum = 0;
      for (let i = 0; i < part.length; i++) sum += part[i] * part[i];
      const pcm = floatToInt16(part);
      this.port.postMessage({ pcm: pcm.buffer, level: Math.sqrt(sum / part.length) }, [pcm.buffer]);
    }
    return true;
  }
}
registerProcessor("rw-mic-capture", MicCapture);
`;

const SVG_NS = "http://www.w3.org/2000/svg";
/** A microphone drawn as SVG (no emoji font needed); red while capturing. @param {boolean} live */
function micIcon(live) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  svg.style.cssText = "margin-right:4px;vertical-align:-2px";
  const body = document.createElementNS(SVG_NS, "rect");
  for (const [k, v] of [["x", "5.5"], ["y", "1"], ["width", "5"], ["height", "9"], ["rx", "2.5"]]) body.setAttribute(k, v);
  body.setAttribute("fill", live ? "#c0392b" : "currentColor");
  const stand = document.createElementNS(SVG_NS, "path");
  stand.setAttribute("d", "M3 7.5a5 5 0 0 0 10 0M8 12.5V15M5.5 15h5");
  stand.setAttribute("fill", "none");
  stand.setAttribute("stroke", "currentColor");
  stand.setAttribute("stroke-width", "1.4");
  svg.append(body, stand);
  return svg;
}

/** @type {Map<string, Capture>} one capture per Microphone model */
const CAPTURES = new Map();

/**
 * The Microphone's capture, one per widget model however many times it is displayed: the media
 * stream, the AudioContext and the worklet, and the kernel's messages handled once (so a start
 * from the kernel opens one stream, and every chunk is sent once).
 * @param {Model} model the model proxy of `initialize`
 */
function makeCapture(model) {
  /** @type {AudioContext | null} */
  let ctx = null;
  /** @type {AudioWorkletNode | null} */
  let node = null;
  /** @type {MediaStream | null} */
  let stream = null;
  /** @type {Promise<void> | null} */
  let starting = null;
  let pttDown = false;
  let level = 0;
  let error = "";
  const flow = makeFlow(Math.ceil(2000 / model.get("chunk_ms"))); // at most 2 s in flight
  const chunkMs = () => model.get("chunk_ms");
  /** @type {Set<() => void>} the views' redraws */
  const views = new Set();
  const changed = () => { for (const redraw of views) redraw(); };

  async function open() {
    error = "";
    const media = await navigator.mediaDevices.getUserMedia({ audio: {
      echoCancellation: model.get("echo_cancellation"),
      noiseSuppression: model.get("noise_suppression"),
      autoGainControl: model.get("auto_gain_control"),
      channelCount: 1 } });
    stream = media;
    const context = (ctx = new AudioContext()); // never ask for 24 kHz: the worklet resamples
    const url = URL.createObjectURL(new Blob([WORKLET(chunkMs())], { type: "application/javascript" }));
    await context.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    if (ctx !== context) return; // stopped while opening
    const source = context.createMediaStreamSource(media);
    node = new AudioWorkletNode(context, "rw-mic-capture");
    node.port.postMessage({ on: model.get("mode") !== "push-to-talk" });
    node.port.onmessage = (e) => {
      level = Math.min(1, e.data.level * 4);
      if (!flow.canSend()) {
        flow.onDrop();
        model.set("dropped_ms", model.get("dropped_ms") + chunkMs());
        model.save_changes();
        changed();
        return;
      }
      // t: when the chunk's last sample reached the page (the toolkit-latency probe's stamp)
      model.send({ type: "audio", seq: flow.onSend(), rate: 24000, t: performance.now() }, undefined, [e.data.pcm]);
      changed();
    };
    source.connect(node);
    model.set("streaming", true);
    model.set("context_rate", context.sampleRate);
    model.save_changes();
    changed();
  }

  function start() {
    if (node || starting) return starting || Promise.resolve();
    starting = open().catch((err) => { error = `microphone unavailable: ${err.message}`; close(); })
      .finally(() => { starting = null; changed(); });
    return starting;
  }

  /** Stop capturing: the tracks stop (the browser's recording light goes off), the context closes. */
  function close() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    const context = ctx;
    ctx = null; node = null; stream = null; pttDown = false; level = 0;
    if (context) context.close().catch(() => {});
    if (model.get("streaming")) { model.set("streaming", false); model.save_changes(); }
    changed();
  }

  /** @param {boolean} down */
  function ptt(down) {
    if (model.get("mode") !== "push-to-talk" || !node || pttDown === down) return;
    pttDown = down;
    node.port.postMessage({ on: down });
    model.send({ type: "ptt", down });
    changed();
  }

  const onCustom = (/** @type {KernelMsg} */ msg) => {
    if (msg.type === "ack") flow.onAck(msg.seq);
    else if (msg.type === "start") start();
    else if (msg.type === "stop") close();
    else if (msg.type === "ping") model.send({ type: "pong", id: msg.id, t: performance.now() }); // clock offset
  };
  const onMode = () => { node && node.port.postMessage({ on: model.get("mode") !== "push-to-talk" }); changed(); };
  const onDropped = () => changed();
  model.on("msg:custom", onCustom);
  model.on("change:mode", onMode);
  model.on("change:dropped_ms", onDropped);

  return {
    start, close, ptt,
    get live() { return !!node; },
    get pttDown() { return pttDown; },
    get level() { return level; },
    get error() { return error; },
    /** A view's redraw; returns its detach (the last view to go stops the capture). @param {() => void} redraw */
    attach(redraw) { views.add(redraw); return () => { views.delete(redraw); if (!views.size) close(); }; },
    dispose() { views.clear(); close(); model.off("msg:custom", onCustom); model.off("change:mode", onMode); model.off("change:dropped_ms", onDropped); },
  };
}

/** @param {import("@anywidget/types").InitializeProps<MicModel>} props */
function initialize({ model }) {
  const key = model.get("capture_key");
  const capture = makeCapture(model);
  CAPTURES.set(key, capture);
  return () => { capture.dispose(); if (CAPTURES.get(key) === capture) CAPTURES.delete(key); };
}

/** @param {import("@anywidget/types").RenderProps<MicModel>} props */
function render({ model, el }) {
  const bar = document.createElement("div");
  bar.className = "rw-microphone";
  bar.style.cssText = "display:flex;gap:8px;align-items:center;font:12px system-ui";
  const button = document.createElement("button");
  button.style.cssText = "display:inline-flex;align-items:center;white-space:nowrap";
  const meter = document.createElement("meter");
  meter.min = 0; meter.max = 1; meter.value = 0;
  meter.style.width = "60px";
  const status = document.createElement("span");
  bar.append(button, meter, status);
  el.appendChild(bar);
  const capture = CAPTURES.get(model.get("capture_key"));
  if (!capture) { status.textContent = "microphone: not initialised (anywidget >= 0.9 needed)"; return () => bar.remove(); }

  const label = () => {
    const ptt = model.get("mode") === "push-to-talk";
    const live = capture.live;
    const text = !live ? "Start microphone" : ptt ? (capture.pttDown ? "Release to send" : "Hold to talk") : "Stop microphone";
    if (button.dataset.text !== text) {
      button.dataset.text = text;
      button.replaceChildren(micIcon(live), document.createTextNode(text));
    }
    meter.value = capture.level;
    const dropped = model.get("dropped_ms");
    status.textContent = capture.error || (dropped > 0 ? `kernel busy, ${Math.round(dropped)} ms dropped` : live ? "listening" : "");
  };

  const onClick = () => {
    if (model.get("mode") === "push-to-talk" && capture.live) return;
    capture.live ? capture.close() : capture.start();
  };
  const down = () => capture.ptt(true);
  const up = () => capture.ptt(false);
  button.addEventListener("click", onClick);
  button.addEventListener("pointerdown", down);
  button.addEventListener("pointerup", up);
  button.addEventListener("pointerleave", up);
  const detach = capture.attach(label);
  label();
  return () => {
    button.removeEventListener("click", onClick);
    button.removeEventListener("pointerdown", down);
    button.removeEventListener("pointerup", up);
    button.removeEventListener("pointerleave", up);
    detach();
    bar.remove();
  };
}

export default { initialize, render };
