// Microphone: getUserMedia -> AudioWorklet (resampled to 24 kHz mono Int16 inside the worklet)
// -> 20-100 ms chunks as binary buffers to the kernel, with ack-based flow control.

/**
 * The synced state (microphone.py); `streaming`, `dropped_ms` and `context_rate` are set here.
 * @typedef {object} MicModel
 * @property {"hands-free" | "push-to-talk"} mode (with a session: its turn detection's)
 * @property {boolean} echo_cancellation
 * @property {boolean} noise_suppression
 * @property {boolean} auto_gain_control
 * @property {string} device_id the input device ("": the browser's default)
 * @property {string} status the kernel's word on the last push-to-talk hold
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
    if (!ch) return true;
    this.pending.push(this.down(ch));
    while (this.pending.length >= this.chunk) {
      const part = new Float32Array(this.chunk); // transferred to the page with its PCM
      this.pending.take(part);
      let sum = 0;
      for (let i = 0; i < part.length; i++) sum += part[i] * part[i];
      const level = Math.sqrt(sum / part.length);
      if (!this.on) { this.port.postMessage({ level }); continue; } // the meter only: not sent
      const pcm = floatToInt16(part);
      this.port.postMessage({ pcm: pcm.buffer, level }, [pcm.buffer]);
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

/**
 * The constraints getUserMedia is asked for, from the synced settings.
 * @param {{ device_id: string, echo_cancellation: boolean, noise_suppression: boolean, auto_gain_control: boolean }} m
 * @returns {MediaTrackConstraints}
 */
export function audioConstraints(m) {
  /** @type {MediaTrackConstraints} */
  const c = { echoCancellation: m.echo_cancellation, noiseSuppression: m.noise_suppression,
    autoGainControl: m.auto_gain_control, channelCount: 1 };
  if (m.device_id) c.deviceId = { exact: m.device_id };
  return c;
}

/**
 * The input devices as the picker lists them: the browser's default first, then each audio
 * input by its label (before permission labels are empty: numbered instead).
 * @param {{ kind: string, deviceId: string, label: string }[]} devices enumerateDevices()
 * @returns {[string, string][]} [deviceId ("" = default), label]
 */
export function deviceOptions(devices) {
  /** @type {[string, string][]} */
  const out = [["", "Default microphone"]];
  let n = 0;
  for (const d of devices) {
    if (d.kind !== "audioinput" || !d.deviceId || d.deviceId === "default") continue;
    n += 1;
    out.push([d.deviceId, d.label || `microphone ${n} (names appear once it is allowed)`]);
  }
  return out;
}

/**
 * What the browser applied, in words (from the track's getSettings()).
 * @param {MediaTrackSettings | null} s @param {string} [label]
 */
export function appliedText(s, label = "") {
  if (!s) return "not capturing: the settings apply at the next start";
  const on = (/** @type {boolean | undefined} */ v) => (v === undefined ? "?" : v ? "on" : "off");
  return `in use: ${label || "default"} · echo cancellation ${on(s.echoCancellation)} · `
    + `noise suppression ${on(s.noiseSuppression)} · auto gain ${on(s.autoGainControl)}`;
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
  /** @type {MediaTrackSettings | null} what the browser applied to the running capture */
  let applied = null;
  /** @type {[string, string][]} the input devices (see deviceOptions) */
  let devices = deviceOptions([]);
  const flow = makeFlow(Math.ceil(2000 / model.get("chunk_ms"))); // at most 2 s in flight
  const chunkMs = () => model.get("chunk_ms");
  const ptt = () => model.get("mode") === "push-to-talk";
  /** @type {Set<() => void>} the views' redraws */
  const views = new Set();
  const changed = () => { for (const redraw of views) redraw(); };

  async function listDevices() {
    try {
      devices = deviceOptions(await navigator.mediaDevices.enumerateDevices());
    } catch { devices = deviceOptions([]); }
    changed();
  }

  async function open() {
    error = "";
    const media = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints({
      device_id: model.get("device_id"),
      echo_cancellation: model.get("echo_cancellation"),
      noise_suppression: model.get("noise_suppression"),
      auto_gain_control: model.get("auto_gain_control") }) });
    stream = media;
    const context = (ctx = new AudioContext()); // never ask for 24 kHz: the worklet resamples
    const url = URL.createObjectURL(new Blob([WORKLET(chunkMs())], { type: "application/javascript" }));
    await context.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    if (ctx !== context) return; // stopped while opening
    const source = context.createMediaStreamSource(media);
    const worklet = (node = new AudioWorkletNode(context, "rw-mic-capture"));
    worklet.port.postMessage({ on: !ptt() || pttDown });
    worklet.port.onmessage = (e) => {
      if (node !== worklet) return; // a message from a capture already stopped: not sent, not shown
      level = Math.min(1, e.data.level * 4);
      if (!e.data.pcm || (ptt() && !pttDown)) { changed(); return; } // the meter only
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
    source.connect(worklet);
    const track = media.getAudioTracks()[0];
    applied = track ? track.getSettings() : null;
    model.set("streaming", true);
    model.set("context_rate", context.sampleRate);
    model.save_changes();
    listDevices(); // labels are known now that the microphone is allowed
    changed();
  }

  function start() {
    if (node || starting) return starting || Promise.resolve();
    starting = open().catch((err) => { error = `microphone unavailable: ${err.message}`; close(); })
      .finally(() => { starting = null; changed(); });
    return starting;
  }

  /** Stop capturing: the tracks stop (the browser's recording light goes off), the context
   * closes, and the meter reads 0 (messages the worklet had already posted are ignored). */
  function close() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    const context = ctx;
    if (node) { node.port.onmessage = null; node.disconnect(); }
    if (pttDown) model.send({ type: "ptt", down: false });
    ctx = null; node = null; stream = null; pttDown = false; level = 0; applied = null;
    if (context) context.close().catch(() => {});
    if (model.get("streaming")) { model.set("streaming", false); model.save_changes(); }
    changed();
  }

  /** A setting changed: a running capture restarts with it (once for several changes). */
  let restartQueued = false;
  function restart() {
    if (restartQueued) return;
    restartQueued = true;
    queueMicrotask(async () => {
      restartQueued = false;
      if (starting) await starting;
      if (!node) { changed(); return; }
      close();
      start();
    });
  }

  /** Push-to-talk: pressed (audio flows to the kernel; the capture starts if it was not
   * running) or released (the kernel commits and asks for a reply). @param {boolean} down */
  function hold(down) {
    if (!ptt() || pttDown === down) return;
    pttDown = down;
    if (node) node.port.postMessage({ on: down });
    model.send({ type: "ptt", down });
    if (down && !node) start();
    changed();
  }

  const onCustom = (/** @type {KernelMsg} */ msg) => {
    if (msg.type === "ack") flow.onAck(msg.seq);
    else if (msg.type === "start") start();
    else if (msg.type === "stop") close();
    else if (msg.type === "ping") model.send({ type: "pong", id: msg.id, t: performance.now() }); // clock offset
  };
  const onMode = () => {
    if (!ptt()) pttDown = false; // hands-free again: no hold
    if (node) node.port.postMessage({ on: !ptt() || pttDown });
    changed();
  };
  const onChanged = () => changed();
  const settings = ["device_id", "echo_cancellation", "noise_suppression", "auto_gain_control"];
  const onDeviceChange = () => { listDevices(); };
  model.on("msg:custom", onCustom);
  model.on("change:mode", onMode);
  model.on("change:dropped_ms", onChanged);
  model.on("change:status", onChanged);
  for (const name of settings) model.on(`change:${name}`, restart);
  const media = navigator.mediaDevices;
  if (media && media.addEventListener) media.addEventListener("devicechange", onDeviceChange);

  return {
    start, close, hold, listDevices,
    get live() { return !!node; },
    get pttDown() { return pttDown; },
    get level() { return level; },
    get error() { return error; },
    get applied() { return applied; },
    get devices() { return devices; },
    /** A view's redraw; returns its detach (the last view to go stops the capture). @param {() => void} redraw */
    attach(redraw) { views.add(redraw); return () => { views.delete(redraw); if (!views.size) close(); }; },
    dispose() {
      views.clear(); close();
      model.off("msg:custom", onCustom); model.off("change:mode", onMode);
      model.off("change:dropped_ms", onChanged); model.off("change:status", onChanged);
      for (const name of settings) model.off(`change:${name}`, restart);
      if (media && media.removeEventListener) media.removeEventListener("devicechange", onDeviceChange);
    },
  };
}

/** @param {import("@anywidget/types").InitializeProps<MicModel>} props */
function initialize({ model }) {
  const key = model.get("capture_key");
  const capture = makeCapture(model);
  CAPTURES.set(key, capture);
  return () => { capture.dispose(); if (CAPTURES.get(key) === capture) CAPTURES.delete(key); };
}

/** A gear drawn as SVG: the capture settings' disclosure. */
function gearIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", "M8 5.2a2.8 2.8 0 1 0 0 5.6 2.8 2.8 0 0 0 0-5.6zM6.9 1h2.2l.4 1.9 1.3.6 1.7-1 1.5 1.5-1 1.7.6 1.3 1.9.4v2.2l-1.9.4-.6 1.3 1 1.7-1.5 1.5-1.7-1-1.3.6-.4 1.9H6.9l-.4-1.9-1.3-.6-1.7 1-1.5-1.5 1-1.7-.6-1.3L.5 9.1V6.9l1.9-.4.6-1.3-1-1.7 1.5-1.5 1.7 1 1.3-.6z");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.1");
  svg.append(path);
  return svg;
}

/** The push-to-talk key (Space while the hold button has the focus). @param {{ key: string, code?: string }} e */
export function isTalkKey(e) {
  return e.key === " " || e.code === "Space";
}

const TOGGLES = /** @type {const} */ ([
  ["echo_cancellation", "echo cancellation"],
  ["noise_suppression", "noise suppression"],
  ["auto_gain_control", "auto gain"],
]);

/** @param {import("@anywidget/types").RenderProps<MicModel>} props */
function render({ model, el }) {
  const bar = document.createElement("div");
  bar.className = "rw-microphone";
  // Compact: the buttons on one line, the status under them, the settings (when opened) under
  // that; never wider than the buttons need, so the audio row beside it keeps its room.
  bar.style.cssText = "display:flex;gap:6px;align-items:center;font:12px system-ui;flex-wrap:wrap;"
    + "row-gap:3px;max-width:300px";
  // Keys pressed on the microphone's controls are theirs, not JupyterLab's shortcuts.
  bar.setAttribute("data-lm-suppress-shortcuts", "true");
  const button = document.createElement("button");
  button.className = "rw-mic-toggle";
  button.style.cssText = "display:inline-flex;align-items:center;white-space:nowrap";
  const talk = document.createElement("button");
  talk.className = "rw-mic-hold";
  talk.textContent = "Hold to talk";
  talk.title = "push-to-talk (turn detection is off): hold it (mouse, touch, or Space while it has "
    + "the focus) to talk; release to commit and ask for a reply. Pressing stops a reply being played.";
  talk.style.cssText = "white-space:nowrap;touch-action:none;user-select:none;-webkit-user-select:none";
  const meter = document.createElement("meter");
  meter.className = "rw-mic-level";
  meter.min = 0; meter.max = 1; meter.value = 0;
  meter.style.width = "50px";
  const gear = document.createElement("button");
  gear.className = "rw-mic-settings-toggle";
  gear.title = "microphone settings: input device, echo cancellation, noise suppression, auto gain";
  gear.setAttribute("aria-label", "microphone settings");
  gear.setAttribute("aria-expanded", "false");
  gear.style.cssText = "display:inline-flex;align-items:center;padding:1px 4px";
  gear.append(gearIcon());
  const status = document.createElement("span");
  status.className = "rw-mic-status";
  status.style.cssText = "flex-basis:100%;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap";

  // The settings popover: over the console under the gear (fixed, so the boxes around the
  // microphone neither clip it nor grow with it; placed again when the page scrolls).
  const panel = document.createElement("div");
  panel.className = "rw-mic-settings";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "microphone settings");
  panel.style.cssText = "display:none;position:fixed;z-index:1000;width:320px;box-sizing:border-box;"
    + "gap:2px 8px;align-items:center;flex-wrap:wrap;padding:4px 6px;border:1px solid #bbb;"
    + "border-radius:3px;background:#fafafa;box-shadow:0 2px 8px rgba(0,0,0,.25)";
  const select = document.createElement("select");
  select.className = "rw-mic-device";
  select.setAttribute("aria-label", "input device");
  select.title = "the microphone to capture (a change restarts a running capture)";
  select.style.cssText = "flex-basis:100%;min-width:0;font:inherit";
  panel.append(select);
  /** @type {Map<string, HTMLInputElement>} */
  const boxes = new Map();
  for (const [name, text] of TOGGLES) {
    const label = document.createElement("label");
    label.style.cssText = "display:inline-flex;gap:3px;align-items:center;white-space:nowrap";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = `rw-mic-${name}`;
    box.dataset.setting = name;
    label.title = "the browser's processing; applies at the next start (a running capture restarts)";
    label.append(box, document.createTextNode(text));
    boxes.set(name, box);
    panel.append(label);
  }
  const applied = document.createElement("span");
  applied.className = "rw-mic-applied";
  applied.style.cssText = "flex-basis:100%;color:#555;font-size:11px";
  panel.append(applied);

  bar.append(button, talk, meter, gear, status, panel);
  el.appendChild(bar);
  const capture = CAPTURES.get(model.get("capture_key"));
  if (!capture) { status.textContent = "microphone: not initialised (anywidget >= 0.9 needed)"; return () => bar.remove(); }

  const drawSettings = () => {
    const options = capture.devices;
    const key = options.map(([id, text]) => `${id}\u0000${text}`).join("\u0001");
    if (select.dataset.key !== key) {
      select.dataset.key = key;
      select.replaceChildren(...options.map(([id, text]) => {
        const o = document.createElement("option");
        o.value = id; o.textContent = text;
        return o;
      }));
    }
    const chosen = model.get("device_id");
    if (!options.some(([id]) => id === chosen)) {
      const o = document.createElement("option"); // a saved choice this page does not list
      o.value = chosen; o.textContent = "(chosen device, not found)";
      select.append(o);
      select.dataset.key = "";
    }
    select.value = chosen;
    for (const [name, box] of boxes) box.checked = !!model.get(/** @type {"echo_cancellation"} */ (name));
    const s = capture.applied;
    const device = s && s.deviceId ? (options.find(([id]) => id === s.deviceId) || [])[1] : "";
    const text = appliedText(s, device);
    if (applied.textContent !== text) applied.textContent = text;
    applied.dataset.settings = s ? JSON.stringify(s) : "";
  };

  const label = () => {
    const ptt = model.get("mode") === "push-to-talk";
    const live = capture.live;
    const text = live ? "Stop microphone" : "Start microphone";
    if (button.dataset.text !== text || button.dataset.ptt !== String(ptt)) {
      button.dataset.text = text;
      button.title = text;
      // beside "Hold to talk" the short form keeps the line compact (the name stays whole)
      button.setAttribute("aria-label", text);
      button.replaceChildren(micIcon(live), document.createTextNode(ptt ? (live ? "Stop" : "Start") : text));
      button.dataset.ptt = String(ptt);
    }
    talk.style.display = ptt ? "" : "none";
    const held = capture.pttDown;
    const hold = held ? "Release to send" : "Hold to talk";
    if (talk.textContent !== hold) talk.textContent = hold;
    talk.setAttribute("aria-pressed", String(held));
    talk.style.background = held ? "#c0392b" : "";
    talk.style.color = held ? "#fff" : "";
    meter.value = capture.level;
    const dropped = model.get("dropped_ms");
    // push-to-talk: the kernel's word on the last hold (e.g. why nothing was sent) comes first
    const said = capture.error || (ptt && model.get("status") ? model.get("status")
      : dropped > 0 ? `kernel busy, ${Math.round(dropped)} ms dropped`
      : live ? (ptt ? "push-to-talk: hold to talk" : "listening") : "");
    if (status.textContent !== said) { // runs per chunk: touch the DOM only on change
      status.textContent = said; status.title = said; status.style.display = said ? "" : "none";
    }
    // the settings when shown, and what was applied whenever a capture starts or stops
    if (panel.style.display !== "none" || lastLive !== live) drawSettings();
    lastLive = live;
  };
  let lastLive = false;

  const onClick = () => { capture.live ? capture.close() : capture.start(); };
  /** @param {PointerEvent} e */
  const down = (e) => {
    if (e.button !== 0) return;
    e.preventDefault(); // no text selection, no focus theft on touch
    try { talk.setPointerCapture(e.pointerId); } catch { /* not capturable: pointerup still ends it */ }
    talk.focus();
    capture.hold(true);
  };
  const up = () => capture.hold(false);
  /** @param {KeyboardEvent} e */
  const keyDown = (e) => {
    if (!isTalkKey(e)) return;
    e.preventDefault(); e.stopPropagation();
    if (!e.repeat) capture.hold(true);
  };
  /** @param {KeyboardEvent} e */
  const keyUp = (e) => { if (isTalkKey(e)) { e.preventDefault(); e.stopPropagation(); capture.hold(false); } };
  /** Put the popover under the gear, within the window. Its containing block may not be the
   * window (an ancestor with a transform or containment): one correction by what was measured. */
  const place = () => {
    if (panel.style.display === "none") return;
    const g = gear.getBoundingClientRect();
    const left = Math.max(4, Math.min(g.left, window.innerWidth - panel.offsetWidth - 4));
    const top = g.bottom + 4;
    panel.style.left = `${left}px`; panel.style.top = `${top}px`;
    const r = panel.getBoundingClientRect();
    if (Math.abs(r.left - left) > 0.5 || Math.abs(r.top - top) > 0.5) {
      panel.style.left = `${2 * left - r.left}px`; panel.style.top = `${2 * top - r.top}px`;
    }
  };
  /** @param {boolean} open */
  const show = (open) => {
    panel.style.display = open ? "flex" : "none";
    gear.setAttribute("aria-expanded", String(open));
    if (open) { capture.listDevices(); drawSettings(); place(); }
  };
  const onGear = () => show(panel.style.display === "none");
  /** A press outside the popover (and its gear) closes it. @param {PointerEvent} e */
  const onOutside = (e) => {
    const t = e.target;
    if (panel.style.display !== "none" && t instanceof Node && !panel.contains(t) && !gear.contains(t)) show(false);
  };
  /** @param {KeyboardEvent} e */
  const onEscape = (e) => { if (e.key === "Escape" && panel.style.display !== "none") { show(false); gear.focus(); } };
  const onScroll = () => place();
  const onSelect = () => { model.set("device_id", select.value); model.save_changes(); };
  /** @param {Event} e */
  const onBox = (e) => {
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.setting) return;
    model.set(/** @type {"echo_cancellation"} */ (box.dataset.setting), box.checked);
    model.save_changes();
  };
  /** @type {[EventTarget, string, (e: any) => void, boolean][]} every listener, added and removed */
  const listeners = [
    [button, "click", onClick, false],
    // hold to talk: released by pointer up or cancel, a lost capture, Space up, or focus leaving
    [talk, "pointerdown", down, false],
    [talk, "pointerup", up, false],
    [talk, "pointercancel", up, false],
    [talk, "lostpointercapture", up, false],
    [talk, "keydown", keyDown, false],
    [talk, "keyup", keyUp, false],
    [talk, "blur", up, false],
    [gear, "click", onGear, false],
    [select, "change", onSelect, false],
    [panel, "change", onBox, false],
    [panel, "keydown", onEscape, false],
    [document, "pointerdown", onOutside, true],
    [document, "scroll", onScroll, true],
    [window, "resize", onScroll, false],
  ];
  for (const [target, type, fn, inCapture] of listeners) target.addEventListener(type, fn, inCapture);
  const detach = capture.attach(label);
  label();
  return () => {
    for (const [target, type, fn, inCapture] of listeners) target.removeEventListener(type, fn, inCapture);
    detach();
    bar.remove();
  };
}

export default { initialize, render };
