// Speaker: 24 kHz PCM16 chunks in, gapless playback through an AudioWorklet ring buffer.
// Pure helpers are named exports (node --test); only render() touches the DOM and Web Audio.

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
 * The player's ring buffer: items queued back to back, played in order; silence (never a stop)
 * on underrun; per-item played counts; a flush fades out over `fadeSamples` and drops the rest.
 * @param {number} size @param {number} fadeSamples
 */
export function makeRing(size, fadeSamples) {
  return {
    ring: new Float32Array(size), size, fadeSamples, items: [], read: 0, write: 0,
    underruns: 0, fade: 0, flushing: false, wasPlaying: false, volume: 1, played: {}, events: [],
    push(itemId, samples) {
      let item = this.items.length ? this.items[this.items.length - 1] : null;
      if (!item || item.id !== itemId) { item = { id: itemId, start: this.write, end: this.write }; this.items.push(item); }
      for (let i = 0; i < samples.length; i++) this.ring[(this.write + i) % this.size] = samples[i];
      this.write += samples.length;
      item.end = this.write;
    },
    current() { return this.items.find((it) => this.read >= it.start && this.read < it.end) || null; },
    flush() { this.fade = this.fadeSamples; this.flushing = true; },
    queued() { return this.write - this.read; },
    /** Fill `out` (one render quantum); returns events ({type: "flushed", item_id, played}). */
    fill(out) {
      const events = [];
      for (let i = 0; i < out.length; i++) {
        if (this.read < this.write) {
          let gain = this.volume;
          if (this.flushing) { gain *= this.fade / this.fadeSamples; this.fade--; }
          const item = this.current();
          if (item) this.played[item.id] = (this.played[item.id] || 0) + 1;
          out[i] = this.ring[this.read % this.size] * gain;
          this.read++;
          this.wasPlaying = true;
          if (this.flushing && this.fade <= 0) {
            events.push({ type: "flushed", item_id: item ? item.id : null, played: item ? this.played[item.id] : 0 });
            this.read = this.write; this.items = []; this.flushing = false;
          }
        } else {
          out[i] = 0; // underrun: keep running, play silence
          if (this.wasPlaying) { this.underruns++; this.wasPlaying = false; }
          if (this.flushing) { this.flushing = false; events.push({ type: "flushed", item_id: null, played: 0 }); }
        }
      }
      return events;
    },
  };
}

const WORKLET = `
${makeRing.toString()}
class RingPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.r = makeRing(sampleRate * 60, Math.round(sampleRate * 0.01));
    this.lastReport = 0;
    this.lastSig = "";
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === "audio") this.r.push(m.item_id, m.samples);
      else if (m.type === "flush") this.r.flush();
      else if (m.type === "volume") this.r.volume = m.value;
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
      const sig = played + "/" + this.r.queued() + "/" + this.r.underruns;
      if (sig !== this.lastSig) {
        this.lastSig = sig;
        this.port.postMessage({ type: "played", items: this.r.played, queued: this.r.queued(), underruns: this.r.underruns });
      }
    }
    return true;
  }
}
registerProcessor("rw-ring-player", RingPlayer);
`;

/**
 * performance.now() at which the sample rendered at context `frame` reaches the output:
 * through getOutputTimestamp() (the hardware's clock), else from currentTime plus the
 * reported output latency.
 * @param {AudioContext} ctx @param {number} frame
 */
export function outputTime(ctx, frame) {
  const at = frame / ctx.sampleRate;
  const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
  if (ts && ts.performanceTime > 0) return ts.performanceTime + (at - ts.contextTime) * 1000;
  const latency = (ctx.baseLatency || 0) + (ctx.outputLatency || 0);
  return performance.now() + (at - ctx.currentTime + latency) * 1000;
}

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const status = document.createElement("div");
  status.style.font = "12px system-ui";
  status.textContent = "speaker: waiting for audio (click to enable sound if your browser blocks it)";
  el.appendChild(status);
  /** @type {AudioContext | null} */
  let ctx = null;
  /** @type {AudioWorkletNode | null} */
  let node = null;
  /** @type {Promise<void> | null} */
  let ready = null;
  const pending = [];
  let upsample = null;
  let lastItem = null;
  const arrivals = new Map(); // item id -> performance.now() of its first chunk

  function start() {
    if (ready) return ready;
    ctx = new AudioContext();
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
    ready = ctx.audioWorklet.addModule(url).then(() => {
      node = new AudioWorkletNode(ctx, "rw-ring-player", { outputChannelCount: [1] });
      node.connect(ctx.destination);
      node.port.onmessage = (e) => {
        const m = e.data;
        const toKernel = (n) => Math.round((n * 24000) / ctx.sampleRate);
        if (m.type === "played") {
          const items = {};
          for (const [id, n] of Object.entries(m.items)) items[id] = toKernel(n);
          model.send({ type: "played", items });
          const queued = Math.round((m.queued / ctx.sampleRate) * 100) * 10; // 10 ms steps
          if (queued !== model.get("queued_ms") || m.underruns !== model.get("underruns")) {
            model.set("queued_ms", queued);
            model.set("underruns", m.underruns);
            model.save_changes();
          }
          status.textContent = `speaker: ${ctx.state}, queued ${Math.round((m.queued / ctx.sampleRate) * 1000)} ms, underruns ${m.underruns}`;
        } else if (m.type === "started") {
          model.send({ type: "started", item_id: m.item_id, arrived: arrivals.get(m.item_id), played: outputTime(ctx, m.frame) });
          arrivals.delete(m.item_id);
        } else if (m.type === "flushed") {
          model.send({ type: "flushed", item_id: m.item_id, samples: toKernel(m.played) });
        }
      };
      node.port.postMessage({ type: "volume", value: model.get("volume") });
      upsample = makeUpsampler(24000, ctx.sampleRate);
      for (const p of pending.splice(0)) push(p.item_id, p.samples);
    });
    return ready;
  }

  function push(item_id, samples) {
    if (item_id !== lastItem) { upsample = makeUpsampler(24000, ctx.sampleRate); lastItem = item_id; }
    node.port.postMessage({ type: "audio", item_id, samples: upsample(samples) });
  }

  el.addEventListener("click", () => { start(); ctx && ctx.resume(); });
  model.on("change:volume", () => node && node.port.postMessage({ type: "volume", value: model.get("volume") }));
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "audio") {
      if (!arrivals.has(msg.item_id) && arrivals.size < 64) arrivals.set(msg.item_id, performance.now());
      const samples = int16ToFloat(buffers[0]);
      if (node) push(msg.item_id, samples);
      else { pending.push({ item_id: msg.item_id, samples }); start(); }
    } else if (msg.type === "ping") {
      model.send({ type: "pong", id: msg.id, t: performance.now() }); // clock offset
    } else if (msg.type === "flush") {
      if (node) node.port.postMessage({ type: "flush" });
      else { pending.length = 0; model.send({ type: "flushed", item_id: null, samples: 0 }); }
    }
  });
  start();
}

export default { render };
