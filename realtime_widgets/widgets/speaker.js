// Speaker: 24 kHz PCM16 chunks in, gapless playback through an AudioWorklet ring buffer.
// Pure helpers are named exports (node --test); only render() touches the DOM and Web Audio.

/**
 * The synced state (speaker.py): `volume` and `player_key` come from the kernel, the rest is
 * what the page reports.
 * @typedef {object} SpeakerModel
 * @property {number} volume
 * @property {number} underruns
 * @property {number} queued_ms
 * @property {number} prebuffer_ms
 * @property {number} jitter_ms
 * @property {number} arrival_jitter_ms
 * @property {number} clock_burst_ms
 * @property {string} player_key which player (one per model) a view shows
 * @property {boolean} continuous a stream that pauses with no end event (a translation)
 */
/** The kernel's messages: an item's audio (one PCM16 buffer), its end, a flush, a clock ping. @typedef {{ type: "audio", item_id: string } | { type: "end", item_id: string } | { type: "flush" } | { type: "ping", id: number }} KernelMsg */
/**
 * The worklet's messages: what has played (samples at the context's rate), a flush's answer,
 * and the frame at which an item's first sample rendered (the toolkit-latency probe's stamp).
 * @typedef {{ type: "played", items: Record<string, number>, queued: number, underruns: number, prebuffer: number, jitter_ms: number }} PlayedMsg
 * @typedef {{ type: "flushed", item_id: string | null, played: number }} FlushedMsg
 * @typedef {{ type: "started", item_id: string, frame: number }} StartedMsg
 */
/** An item's span of the ring (`start`..`end` in written samples) and its arrival bookkeeping. @typedef {{ id: string, start: number, end: number, arrival0: number, media: number }} RingItem */
/** @typedef {ReturnType<typeof makeJitter>} Jitter */
/** @typedef {import("@anywidget/types").AnyModel<SpeakerModel>} Model */

/**
 * Linear-interpolating resampler with state across chunks (24 kHz -> the context's rate).
 * @param {number} from @param {number} to
 */
export function makeUpsampler(from, to) {
  const step = from / to;
  let pos = 0; // position in the input stream, relative to the start of the next chunk
  let last = 0; // the previous chunk's last sample
  /** @param {Float32Array} input @returns {Float32Array} */
  return function process(input) {
    const out = [];
    // pos may be in [-1, 0): between `last` and input[0]
    while (pos < input.length - 1 + (input.length ? 0 : 0)) {
      const i = Math.floor(pos);
      const frac = pos - i;
      const a = i < 0 ? last : input[i];
      const b = input[i + 1];
      out.push(a + (b - a) * frac);
      pos += step;
    }
    if (input.length) last = input[input.length - 1];
    pos -= input.length;
    return Float32Array.from(out);
  };
}

/** @param {ArrayBuffer | DataView} buf @returns {Float32Array} */
export function int16ToFloat(buf) {
  const bytes = buf instanceof DataView ? buf : new DataView(buf);
  const n = bytes.byteLength >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes.getInt16(i * 2, true) / 32768;
  return out;
}

/**
 * Arrival jitter of the audio stream, for the prebuffer: each chunk's lateness is how much later
 * it arrived than the item's first chunk plus the audio before it (so a stream sent exactly in
 * real time has lateness 0 and only the network, the kernel and the page add to it). The
 * prebuffer that would have covered every chunk of the last `window` chunks is the largest
 * lateness; `target()` adds a margin and clamps it. All times in samples of the player's clock.
 * A stream that runs ahead of real time (OpenAI's, and the local server's with its lead) does
 * not wait: once the audio received is ahead by the target, that is the prebuffer (see priming).
 * @param {number} rate samples per second of the clock
 * @param {{ initialMs?: number, minMs?: number, maxMs?: number, marginMs?: number, window?: number, trust?: number }} [opts]
 */
export function makeJitter(rate, opts = {}) {
  const { initialMs = 300, minMs = 40, maxMs = 500, marginMs = 20, window = 128, trust = 8 } = opts;
  const ms = (/** @type {number} */ n) => (n * 1000) / rate;
  return {
    late: new Float64Array(window), count: 0, next: 0,
    /** @param {number} lateness samples */
    add(lateness) { this.late[this.next] = lateness; this.next = (this.next + 1) % window; this.count = Math.min(window, this.count + 1); },
    /** Largest lateness seen in the window, in ms (0 before any chunk). */
    peakMs() {
      let peak = 0;
      for (let i = 0; i < this.count; i++) peak = Math.max(peak, this.late[i]);
      return ms(peak);
    },
    /** Whether `trust` chunks were measured: the prebuffer is sized from them, not guessed. */
    trusted() { return this.count >= trust; },
    /** The prebuffer to hold before playing, in samples: `initialMs` until `trust` chunks were
     * measured (a stream faster than real time brings them in a burst, so it starts soon). */
    target() {
      const wanted = this.count < trust ? initialMs : this.peakMs() + marginMs;
      return Math.round((Math.min(maxMs, Math.max(minMs, wanted)) * rate) / 1000);
    },
  };
}

/**
 * The player's ring buffer: items queued back to back, played in order; silence (never a stop)
 * on underrun; per-item played counts; a flush fades out over `fadeSamples` and drops the rest,
 * including audio of the flushed items that is still on its way.
 * With `jitter` (see makeJitter) it holds a prebuffer: when audio arrives at an empty queue it
 * waits until the clock passes that arrival + jitter.target() (re-read as more chunks are
 * measured; or until the item is complete) before playing, so a stream that arrives in real
 * time with jitter plays without gaps, and one that arrives faster starts almost at once. An item
 * marked complete by `end(id)` that runs out is a finished reply, not an underrun.
 * @param {number} size @param {number} fadeSamples @param {{ jitter?: Jitter }} [opts]
 */
export function makeRing(size, fadeSamples, opts = {}) {
  return {
    ring: new Float32Array(size), size, fadeSamples,
    /** @type {RingItem[]} */
    items: [],
    read: 0, write: 0, underruns: 0, fade: 0, flushing: false,
    /** @type {string | boolean} the item last played from, false once the queue ran dry */
    wasPlaying: false,
    volume: 1,
    /** @type {Record<string, number>} samples played per item */
    played: {},
    jitter: opts.jitter || null, clock: 0, primeFrom: -1, lastLate: 0,
    /** @type {Set<string>} items whose audio is complete */
    ended: new Set(),
    /** @type {Set<string>} flushed items: the rest of their audio is dropped */
    dropped: new Set(),
    /** a stream that pauses with no end (a translation): running dry is a pause, not an underrun */
    continuous: false,
    /** @param {string} itemId @param {Float32Array} samples @param {number} [arrival] clock time it arrived */
    push(itemId, samples, arrival) {
      if (arrival === undefined) arrival = this.clock;
      if (this.dropped.has(itemId)) return; // the rest of a flushed (interrupted) item never plays
      const idle = this.read >= this.write;
      let item = this.items.length ? this.items[this.items.length - 1] : null;
      if (!item || item.id !== itemId) {
        item = { id: itemId, start: this.write, end: this.write, arrival0: arrival, media: 0 };
        this.items.push(item);
      }
      this.lastLate = arrival - item.arrival0 - item.media; // < 0: ahead of real time
      if (this.jitter) this.jitter.add(this.lastLate);
      item.media += samples.length;
      for (let i = 0; i < samples.length; i++) this.ring[(this.write + i) % this.size] = samples[i];
      this.write += samples.length;
      item.end = this.write;
      if (idle && this.jitter && !this.flushing) this.primeFrom = arrival;
    },
    /** The item's audio is complete: play what is queued without waiting for more. */
    end(/** @type {string} */ itemId) { this.ended.add(itemId); if (this.ended.size > 64) this.ended.delete(/** @type {string} */ (this.ended.values().next().value)); },
    current() { return this.items.find((it) => this.read >= it.start && this.read < it.end) || null; },
    flush() {
      this.fade = this.fadeSamples; this.flushing = true; this.primeFrom = -1;
      for (const it of this.items) if (it.end > this.read) this.dropped.add(it.id);
      if (this.dropped.size > 64) this.dropped.delete(/** @type {string} */ (this.dropped.values().next().value));
    },
    queued() { return this.write - this.read; },
    priming() {
      if (this.primeFrom < 0 || this.flushing || !this.jitter) return false; // (primeFrom is set only with a jitter)
      if (this.clock >= this.primeFrom + this.jitter.target()) return false;
      // Audio that already runs ahead of real time by the target is as safe as waiting that long
      // (nothing plays while priming): a reply sent ahead, as OpenAI sends it, starts at once.
      if (-this.lastLate >= this.jitter.target()) return false;
      const last = this.items.length ? this.items[this.items.length - 1] : null;
      return !(last && this.ended.has(last.id)); // a complete reply plays at once
    },
    /** Fill `out` (one render quantum); returns events ({type: "flushed", item_id, played}). */
    fill(/** @type {Float32Array} */ out) {
      /** @type {{ type: "flushed", item_id: string | null, played: number }[]} */
      const events = [];
      for (let i = 0; i < out.length; i++, this.clock++) {
        if (this.read < this.write && !this.priming()) {
          this.primeFrom = -1;
          let gain = this.volume;
          if (this.flushing) { gain *= this.fade / this.fadeSamples; this.fade--; }
          const item = this.current();
          if (item) this.played[item.id] = (this.played[item.id] || 0) + 1;
          out[i] = this.ring[this.read % this.size] * gain;
          this.read++;
          this.wasPlaying = item ? item.id : true;
          if (this.flushing && this.fade <= 0) {
            events.push({ type: "flushed", item_id: item ? item.id : null, played: item ? this.played[item.id] : 0 });
            this.read = this.write; this.items = []; this.flushing = false; this.wasPlaying = false;
          }
        } else {
          out[i] = 0; // underrun or prebuffering: keep running, play silence
          if (this.wasPlaying && this.read >= this.write) {
            // ran dry: a finished reply, or an underrun (then prebuffer again on the next chunk)
            const finished = this.wasPlaying !== true && this.ended.has(this.wasPlaying);
            if (!finished && !this.continuous) this.underruns++;
            this.wasPlaying = false;
          }
          if (this.flushing && this.read >= this.write) { this.flushing = false; events.push({ type: "flushed", item_id: null, played: 0 }); }
        }
      }
      return events;
    },
  };
}

const WORKLET = `
${makeJitter.toString()}
${makeRing.toString()}
class RingPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.r = makeRing(sampleRate * 60, Math.round(sampleRate * 0.01), { jitter: makeJitter(sampleRate) });
    this.lastReport = 0;
    this.lastSig = "";
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === "audio") this.r.push(m.item_id, m.samples);
      else if (m.type === "end") this.r.end(m.item_id);
      else if (m.type === "flush") this.r.flush();
      else if (m.type === "volume") this.r.volume = m.value;
      else if (m.type === "continuous") this.r.continuous = m.value;
    };
  }
  process(inputs, outputs) {
    const before = this.r.read;
    for (const event of this.r.fill(outputs[0][0])) this.port.postMessage(event);
    // An item's first sample went out in this quantum: report its frame (toolkit latency).
    for (const item of this.r.items) {
      if (!item.started && item.start < this.r.read && item.start >= before) {
        item.started = true;
        this.port.postMessage({ type: "started", item_id: item.id, frame: currentFrame + item.start - before });
      }
    }
    if (currentTime - this.lastReport > 0.1) {
      this.lastReport = currentTime;
      // Report only what changed: an idle speaker sends nothing (each message costs the
      // kernel a round of busy/idle status on IOPub).
      const played = Object.values(this.r.played).reduce((a, b) => a + b, 0);
      const target = this.r.jitter.target();
      const sig = played + "/" + this.r.queued() + "/" + this.r.underruns + "/" + target;
      if (sig !== this.lastSig) {
        this.lastSig = sig;
        this.port.postMessage({ type: "played", items: this.r.played, queued: this.r.queued(), underruns: this.r.underruns,
          prebuffer: target, jitter_ms: this.r.jitter.peakMs() });
      }
    }
    return true;
  }
}
registerProcessor("rw-ring-player", RingPlayer);
`;


/** The speaker's status: one short line (it shares a row with the microphone and the WAV
 * upload: ~150 px with JupyterLab's file browser open), the full detail in its tooltip.
 * @param {string} state the AudioContext's state @param {number} queuedMs audio waiting to play
 * @param {number} underruns mid-item starvations @param {number} prebufferMs the jitter prebuffer
 * @param {number} jitterMs the latest chunks' lateness
 * @returns {{ text: string, title: string }} */
export function statusLine(state, queuedMs, underruns, prebufferMs, jitterMs) {
  const plural = underruns === 1 ? "" : "s";
  // (in seconds: "speaker: 300 ms queued" is 149 px in 12px system-ui, "0.3 s" fits)
  const text = state !== "running"
    ? `sound ${state}: click`
    : underruns
      ? `speaker: ${underruns} underrun${plural}`
      : `speaker: ${(queuedMs / 1000).toFixed(1)} s queued`;
  const title = `speaker ${state} \u00b7 ${queuedMs} ms queued \u00b7 ${underruns} underrun${plural}`
    + ` \u00b7 jitter prebuffer ${prebufferMs} ms (latest chunks up to ${jitterMs} ms late)`
    + (state === "running" ? "" : " \u00b7 click to enable sound if your browser blocks it");
  return { text, title };
}

/**
 * performance.now() at which the sample rendered at context `frame` reaches the output:
 * through getOutputTimestamp() (the hardware's clock), else from currentTime plus the
 * reported output latency.
 * @param {AudioContext} ctx @param {number} frame
 */
export function outputTime(ctx, frame) {
  const at = frame / ctx.sampleRate;
  const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
  // (both stamps are optional in the spec: with either missing, estimate as below, never NaN)
  if (ts && ts.performanceTime !== undefined && ts.contextTime !== undefined && ts.performanceTime > 0) {
    return ts.performanceTime + (at - ts.contextTime) * 1000;
  }
  const latency = (ctx.baseLatency || 0) + (ctx.outputLatency || 0);
  return performance.now() + (at - ctx.currentTime + latency) * 1000;
}

/** @typedef {ReturnType<typeof makePlayer>} Player */
/** @type {Map<string, Player>} one player per Speaker model */
const PLAYERS = new Map();

/**
 * The Speaker's player, one per widget model however many times it is displayed: it owns the
 * AudioContext (open while at least one view is shown), handles the kernel's messages once, so
 * the audio plays once and a flush is answered (and truncated) once.
 * @param {Model} model the model proxy of `initialize` (its handlers live as long as the model)
 */
function makePlayer(model) {
  /** @type {AudioContext | null} */
  let ctx = null;
  /** @type {AudioWorkletNode | null} */
  let node = null;
  /** @type {Promise<void> | null} */
  let ready = null;
  /** @type {{ item_id: string, samples?: Float32Array }[]} audio (or an item's end) before the worklet is ready */
  const pending = [];
  /** @type {((input: Float32Array) => Float32Array) | null} */
  let upsample = null;
  /** @type {string | null} */
  let lastItem = null;
  /** @type {Set<HTMLElement>} status lines of the views shown */
  const views = new Set();
  let text = "speaker: waiting";
  let title = "speaker: waiting for audio \u00b7 click to enable sound if your browser blocks it";
  /** @param {string} t @param {string} [tip] */
  const show = (t, tip = title) => {
    if (t === text && tip === title) return; // ten reports a second: touch the DOM on change only
    text = t; title = tip;
    for (const v of views) { v.textContent = t; v.title = tip; }
  };
  /** @type {Map<string, number>} item id -> performance.now() of its first chunk */
  const arrivals = new Map();

  function start() {
    if (ready) return ready;
    const context = (ctx = new AudioContext());
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
    ready = context.audioWorklet.addModule(url).then(() => {
      URL.revokeObjectURL(url);
      if (ctx !== context) return; // closed while loading
      node = new AudioWorkletNode(context, "rw-ring-player", { outputChannelCount: [1] });
      node.connect(context.destination);
      node.port.onmessage = (e) => onWorklet(e.data, context);
      node.port.postMessage({ type: "volume", value: model.get("volume") });
      node.port.postMessage({ type: "continuous", value: model.get("continuous") });
      upsample = makeUpsampler(24000, context.sampleRate);
      lastItem = null;
      for (const p of pending.splice(0)) {
        if (p.samples) push(p.item_id, p.samples);
        else node.port.postMessage({ type: "end", item_id: p.item_id });
      }
    });
    return ready;
  }

  // Diagnostics that tell the network/kernel from the page's audio clock: how late chunks
  // reach the page by the wall clock, and how far the audio clock ran ahead of the wall clock
  // between two reports (a stalled clock catching up plays buffered audio in a burst).
  const wallJitter = makeJitter(1000);
  /** @type {string | null} */
  let wallItem = null;
  let wall0 = 0; let wallMedia = 0; let burst = 0; let lastSync = 0;
  /** @type {[number, number] | null} wall and audio clock (ms) at the last report */
  let lastStamp = null;
  /** @param {string} item_id @param {number} ms audio received */
  function arrivedWall(item_id, ms) {
    const now = performance.now();
    if (item_id !== wallItem) { wallItem = item_id; wall0 = now; wallMedia = 0; }
    wallJitter.add(now - wall0 - wallMedia);
    wallMedia += ms;
  }

  /** @param {PlayedMsg | FlushedMsg | StartedMsg} m @param {AudioContext} context */
  function onWorklet(m, context) {
    const toKernel = (/** @type {number} */ n) => Math.round((n * 24000) / context.sampleRate);
    if (m.type === "played") {
      /** @type {[number, number]} */
      const stamp = [performance.now(), context.currentTime * 1000];
      if (lastStamp) burst = Math.max(burst, (stamp[1] - lastStamp[1]) - (stamp[0] - lastStamp[0]));
      lastStamp = stamp;
      /** @type {Record<string, number>} */
      const items = {};
      for (const [id, n] of Object.entries(m.items)) items[id] = toKernel(n);
      model.send({ type: "played", items });
      const queued = Math.round((m.queued / context.sampleRate) * 100) * 10; // 10 ms steps
      const prebuffer = Math.round((m.prebuffer / context.sampleRate) * 1000);
      const jitter = Math.round(m.jitter_ms);
      const wall = Math.round(wallJitter.peakMs());
      const ahead = Math.round(burst);
      // The figures go to the kernel at most once a second (each sync costs the kernel's main
      // thread, which also takes the microphone's chunks), at once when an underrun happens.
      const now = performance.now();
      const changed = queued !== model.get("queued_ms") || prebuffer !== model.get("prebuffer_ms")
          || jitter !== model.get("jitter_ms") || wall !== model.get("arrival_jitter_ms")
          || ahead !== model.get("clock_burst_ms");
      if (m.underruns !== model.get("underruns") || (changed && now - lastSync >= 1000)) {
        lastSync = now;
        model.set("queued_ms", queued);
        model.set("underruns", m.underruns);
        model.set("prebuffer_ms", prebuffer);
        model.set("jitter_ms", jitter);
        model.set("arrival_jitter_ms", wall);
        model.set("clock_burst_ms", ahead);
        model.save_changes();
      }
      const line = statusLine(context.state, Math.round((m.queued / context.sampleRate) * 1000), m.underruns, prebuffer, jitter);
      show(line.text, line.title);
    } else if (m.type === "started") {
      // The toolkit-latency probe: when the item's first chunk reached the page, and when its
      // first sample reaches the output.
      model.send({ type: "started", item_id: m.item_id, arrived: arrivals.get(m.item_id), played: outputTime(context, m.frame) });
      arrivals.delete(m.item_id);
    } else if (m.type === "flushed") {
      model.send({ type: "flushed", item_id: m.item_id, samples: toKernel(m.played) });
    }
  }

  /** Upsample an item's audio to the context's rate and queue it in the worklet. @param {string} item_id @param {Float32Array} samples */
  function push(item_id, samples) {
    if (!ctx || !node) return; // (only called with the worklet ready)
    if (item_id !== lastItem || !upsample) { upsample = makeUpsampler(24000, ctx.sampleRate); lastItem = item_id; }
    node.port.postMessage({ type: "audio", item_id, samples: upsample(samples) });
  }

  function stop() {
    const context = ctx;
    ctx = null; node = null; ready = null; pending.length = 0;
    if (context) context.close().catch(() => {});
  }

  /** @param {KernelMsg} msg @param {(ArrayBuffer | DataView)[]} buffers */
  const onCustom = (msg, buffers) => {
    if (msg.type === "audio") {
      if (!views.size) return; // not shown anywhere: nothing plays
      if (!arrivals.has(msg.item_id) && arrivals.size < 64) arrivals.set(msg.item_id, performance.now());
      const samples = int16ToFloat(buffers[0]);
      arrivedWall(msg.item_id, samples.length / 24);
      if (node) push(msg.item_id, samples);
      else { pending.push({ item_id: msg.item_id, samples }); start(); }
    } else if (msg.type === "end") {
      if (node) node.port.postMessage({ type: "end", item_id: msg.item_id });
      else if (ready) pending.push({ item_id: msg.item_id });
    } else if (msg.type === "ping") {
      model.send({ type: "pong", id: msg.id, t: performance.now() }); // clock offset
    } else if (msg.type === "flush") {
      if (node) node.port.postMessage({ type: "flush" });
      else { pending.length = 0; model.send({ type: "flushed", item_id: null, samples: 0 }); }
    }
  };
  const onVolume = () => node && node.port.postMessage({ type: "volume", value: model.get("volume") });
  model.on("msg:custom", onCustom);
  model.on("change:volume", onVolume);

  return {
    /** A view shows `status`; the first view opens the AudioContext. Returns its detach. */
    attach(/** @type {HTMLElement} */ status) {
      views.add(status);
      status.textContent = text;
      status.title = title;
      start();
      return () => { views.delete(status); if (!views.size) stop(); };
    },
    resume() { start(); if (ctx) ctx.resume(); },
    get context() { return ctx; },
    close() { views.clear(); stop(); model.off("msg:custom", onCustom); model.off("change:volume", onVolume); },
  };
}

/** @param {import("@anywidget/types").InitializeProps<SpeakerModel>} props */
function initialize({ model }) {
  const key = model.get("player_key");
  const player = makePlayer(model);
  PLAYERS.set(key, player);
  return () => { player.close(); if (PLAYERS.get(key) === player) PLAYERS.delete(key); };
}

/** @param {import("@anywidget/types").RenderProps<SpeakerModel>} props */
function render({ model, el }) {
  const status = document.createElement("div");
  status.className = "rw-speaker";
  // One line whatever the width: the tooltip has the detail (statusLine).
  status.style.cssText = "font:12px system-ui;white-space:nowrap;overflow:hidden;text-overflow:ellipsis";
  el.appendChild(status);
  const player = PLAYERS.get(model.get("player_key"));
  if (!player) { status.textContent = "speaker: not initialised (anywidget >= 0.9 needed)"; return () => status.remove(); }
  const detach = player.attach(status);
  const onClick = () => player.resume();
  el.addEventListener("click", onClick);
  return () => { el.removeEventListener("click", onClick); detach(); status.remove(); };
}

export default { initialize, render };
