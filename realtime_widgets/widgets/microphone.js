// Microphone: getUserMedia -> AudioWorklet (resampled to 24 kHz mono Int16 inside the worklet)
// -> 20-100 ms chunks as binary buffers to the kernel, with ack-based flow control.

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
  const sinc = (x) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  const blackman = (x) => {
    const t = (x + half) / taps; // 0..1 across the window
    return t <= 0 || t >= 1 ? 0 : 0.42 - 0.5 * Math.cos(2 * Math.PI * t) + 0.08 * Math.cos(4 * Math.PI * t);
  };
  /** @param {Float32Array} input @returns {Float32Array} */
  return function process(input) {
    const merged = new Float32Array(buf.length + input.length);
    merged.set(buf);
    merged.set(input, buf.length);
    const out = [];
    while (pos + half < merged.length) {
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
      out.push(acc / norm);
      pos += step;
    }
    const keep = Math.max(0, Math.floor(pos) - half);
    buf = merged.slice(keep);
    pos -= keep;
    return Float32Array.from(out);
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

/** Flow control: how many chunks may be unacknowledged before new ones are dropped. */
export function makeFlow(maxUnacked) {
  return { sent: 0, acked: 0, droppedChunks: 0, maxUnacked,
    canSend() { return this.sent - this.acked < this.maxUnacked; },
    onSend() { this.sent += 1; return this.sent; },
    onDrop() { this.droppedChunks += 1; },
    onAck(seq) { this.acked = Math.max(this.acked, seq); } };
}

const WORKLET = (chunkMs) => `
${makeDownsampler.toString()}
${floatToInt16.toString()}
class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.down = makeDownsampler(sampleRate, 24000);
    this.chunk = Math.round(24000 * ${chunkMs} / 1000);
    this.pending = [];
    this.count = 0;
    this.on = true;
    this.port.onmessage = (e) => { this.on = e.data.on; };
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch || !this.on) return true;
    const y = this.down(ch);
    for (let i = 0; i < y.length; i++) this.pending.push(y[i]);
    while (this.pending.length >= this.chunk) {
      const part = Float32Array.from(this.pending.splice(0, this.chunk));
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

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const bar = document.createElement("div");
  bar.style.cssText = "display:flex;gap:8px;align-items:center;font:12px system-ui";
  const button = document.createElement("button");
  const meter = document.createElement("meter");
  meter.min = 0; meter.max = 1; meter.value = 0;
  const status = document.createElement("span");
  bar.append(button, meter, status);
  el.appendChild(bar);

  let ctx = null; let node = null; let stream = null; let pttDown = false;
  const flow = makeFlow(Math.ceil(2000 / model.get("chunk_ms"))); // at most 2 s in flight
  const chunkMs = () => model.get("chunk_ms");

  function label() {
    const ptt = model.get("mode") === "push-to-talk";
    button.textContent = !node ? "\u{1F3A4} Start microphone" : ptt ? (pttDown ? "Release to send" : "Hold to talk") : "Stop microphone";
    const dropped = model.get("dropped_ms");
    status.textContent = dropped > 0 ? `kernel busy, ${Math.round(dropped)} ms dropped` : node ? "listening" : "";
  }

  async function start() {
    stream = await navigator.mediaDevices.getUserMedia({ audio: {
      echoCancellation: model.get("echo_cancellation"),
      noiseSuppression: model.get("noise_suppression"),
      autoGainControl: model.get("auto_gain_control"),
      channelCount: 1 } });
    ctx = new AudioContext(); // never ask for 24 kHz: the worklet resamples
    const url = URL.createObjectURL(new Blob([WORKLET(chunkMs())], { type: "application/javascript" }));
    await ctx.audioWorklet.addModule(url);
    const source = ctx.createMediaStreamSource(stream);
    node = new AudioWorkletNode(ctx, "rw-mic-capture");
    node.port.postMessage({ on: model.get("mode") !== "push-to-talk" });
    node.port.onmessage = (e) => {
      meter.value = Math.min(1, e.data.level * 4);
      if (!flow.canSend()) {
        flow.onDrop();
        model.set("dropped_ms", model.get("dropped_ms") + chunkMs());
        model.save_changes();
        label();
        return;
      }
      // t: when the chunk's last sample reached the page (the toolkit-latency probe's stamp)
      model.send({ type: "audio", seq: flow.onSend(), rate: 24000, t: performance.now() }, undefined, [e.data.pcm]);
    };
    source.connect(node);
    model.set("streaming", true);
    model.set("context_rate", ctx.sampleRate);
    model.save_changes();
    label();
  }

  async function stop() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (ctx) await ctx.close();
    ctx = null; node = null; stream = null;
    model.set("streaming", false);
    model.save_changes();
    label();
  }

  button.addEventListener("click", () => {
    if (model.get("mode") === "push-to-talk" && node) return;
    (node ? stop() : start()).catch((err) => { status.textContent = `microphone unavailable: ${err.message}`; });
  });
  const ptt = (down) => {
    if (model.get("mode") !== "push-to-talk" || !node || pttDown === down) return;
    pttDown = down;
    node.port.postMessage({ on: down });
    model.send({ type: "ptt", down });
    label();
  };
  button.addEventListener("pointerdown", () => ptt(true));
  button.addEventListener("pointerup", () => ptt(false));
  button.addEventListener("pointerleave", () => ptt(false));
  model.on("msg:custom", (msg) => {
    if (msg.type === "ack") flow.onAck(msg.seq);
    else if (msg.type === "start") start().catch((err) => { status.textContent = `microphone unavailable: ${err.message}`; });
    else if (msg.type === "stop") stop();
    else if (msg.type === "ping") model.send({ type: "pong", id: msg.id, t: performance.now() }); // clock offset
  });
  model.on("change:mode", () => { node && node.port.postMessage({ on: model.get("mode") !== "push-to-talk" }); label(); });
  label();
}

export default { render };
