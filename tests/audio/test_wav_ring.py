"""WAV files of every supported kind, with clear errors; the ring buffer and the chunker;
wire format conversion."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from realtime_widgets import AudioFormatError
from realtime_widgets.audio import (
    AudioRing,
    Chunker,
    InputEncoder,
    bytes_per_ms,
    decode,
    encode,
    read_wav,
    wire_rate,
    write_wav,
)

SIGNAL = (np.sin(np.arange(2400) * 2 * np.pi * 440 / 24000) * 20000).astype(np.int16)


def _pcm_wav(frames: np.ndarray, rate: int, width: int, channels: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return out.getvalue()


def _riff(
    tag: int, channels: int, rate: int, bits: int, data: bytes, extensible: bool = False
) -> bytes:
    block = channels * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * block, block, bits)
        fmt += (
            struct.pack("<HHI", 22, bits, 0)
            + struct.pack("<H", tag)
            + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        )
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _stereo(x: np.ndarray) -> np.ndarray:
    return np.stack([x, x], axis=1).reshape(-1)


@pytest.mark.parametrize("channels", [1, 2])
def test_16_bit(channels: int) -> None:
    frames = SIGNAL if channels == 1 else _stereo(SIGNAL)
    samples, info = read_wav(_pcm_wav(frames, 24000, 2, channels))
    np.testing.assert_array_equal(samples, SIGNAL)
    assert (info.rate, info.channels, info.bits, info.frames) == (24000, channels, 16, 2400)


def test_8_24_and_32_bit_integer() -> None:
    u8 = (SIGNAL.astype(np.int32) // 256 + 128).astype(np.uint8)
    s8, _ = read_wav(_pcm_wav(u8, 24000, 1, 1))
    assert np.abs(s8.astype(int) - SIGNAL).max() <= 256
    i32 = SIGNAL.astype(np.int32) << 16
    s32, info32 = read_wav(_pcm_wav(i32.astype("<i4"), 24000, 4, 1))
    assert info32.bits == 32
    assert np.abs(s32.astype(int) - SIGNAL).max() <= 1
    v = SIGNAL.astype(np.int32) << 8
    b24 = np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    s24, info24 = read_wav(_riff(1, 1, 24000, 24, b24))
    assert info24.bits == 24
    assert np.abs(s24.astype(int) - SIGNAL).max() <= 1


def test_float_and_extensible_files_that_stdlib_wave_refuses() -> None:
    f32 = (SIGNAL / 32768).astype("<f4")
    s, info = read_wav(_riff(3, 1, 24000, 32, f32.tobytes()))
    assert info.encoding == "float"
    assert np.abs(s.astype(int) - SIGNAL).max() <= 1
    stereo = _stereo(f32).astype("<f4")
    s2, info2 = read_wav(_riff(3, 2, 24000, 32, stereo.tobytes(), extensible=True))
    assert info2.channels == 2
    assert np.abs(s2.astype(int) - SIGNAL).max() <= 1


def test_stereo_is_downmixed_not_interleaved() -> None:
    left = SIGNAL
    right = np.zeros_like(SIGNAL)
    s, _ = read_wav(_pcm_wav(np.stack([left, right], 1).reshape(-1), 24000, 2, 2))
    assert len(s) == 2400
    assert np.abs(s.astype(int) - SIGNAL // 2).max() <= 1


def test_resampled_on_request(tmp_path: Path) -> None:
    x48 = (np.sin(np.arange(48000) * 2 * np.pi * 440 / 48000) * 20000).astype(np.int16)
    path = tmp_path / "in.wav"
    write_wav(path, x48, 48000)
    s, info = read_wav(path, rate=24000)
    assert info.rate == 48000
    assert abs(len(s) - 24000) <= 1


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    write_wav(path, SIGNAL / 32768.0, 24000)  # float input follows the clip rule
    s, info = read_wav(path)
    assert (info.rate, info.bits, info.channels) == (24000, 16, 1)
    assert np.abs(s.astype(int) - SIGNAL).max() <= 1


def test_write_stereo_frames() -> None:
    """(n, 2) frames are written as two channels (the conversation WAV: user left, agent right)."""
    frames = np.stack([SIGNAL, -SIGNAL], 1)
    buffer = io.BytesIO()
    write_wav(buffer, frames, 24000)
    with wave.open(io.BytesIO(buffer.getvalue())) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getnframes()) == (2, 2, len(SIGNAL))
        back = np.frombuffer(w.readframes(len(SIGNAL)), "<i2").reshape(-1, 2)
    assert (back == frames).all()
    with pytest.raises(AudioFormatError, match="shape"):
        write_wav(io.BytesIO(), np.zeros((2, 2, 2), np.int16))


def test_clear_errors(tmp_path: Path) -> None:
    good = _pcm_wav(SIGNAL, 24000, 2, 1)
    with pytest.raises(AudioFormatError, match="truncated"):
        read_wav(good[: len(good) // 2])
    with pytest.raises(AudioFormatError, match="not a WAV file"):
        read_wav(b"ID3\x03 this is an mp3")
    with pytest.raises(AudioFormatError, match="unsupported WAV encoding"):
        read_wav(_riff(2, 1, 24000, 4, b"\x00" * 100))  # ADPCM
    with pytest.raises(AudioFormatError, match="cannot read WAV file"):
        read_wav(tmp_path / "missing.wav")


def test_ring_keeps_the_newest_samples_with_absolute_indices() -> None:
    ring = AudioRing(capacity=10)
    assert ring.append(np.arange(6, dtype=np.int16)) == 0
    assert ring.append(np.arange(6, 14, dtype=np.int16)) == 6
    assert (ring.start, ring.end, len(ring)) == (4, 14, 10)
    np.testing.assert_array_equal(ring.read(8, 12), [8, 9, 10, 11])
    np.testing.assert_array_equal(ring.last(3), [11, 12, 13])
    with pytest.raises(AudioFormatError, match="not held"):
        ring.read(2, 5)
    ring.append(np.arange(100, 125, dtype=np.int16))  # longer than the ring
    assert ring.end == 39
    np.testing.assert_array_equal(ring.last(10), np.arange(115, 125))
    assert ring.ms_to_index(2300) == 55200
    assert ring.index_to_ms(48) == 2.0


@pytest.mark.parametrize("frame_ms", [20, 40, 100])
def test_chunker_yields_exact_frames(frame_ms: int) -> None:
    c = Chunker(frame_ms, 24000)
    x = np.arange(10007, dtype=np.int64).astype(np.int16)
    frames = []
    for i in range(0, len(x), 333):
        frames += c.feed(x[i : i + 333])
    assert all(len(f) == 24 * frame_ms for f in frames)
    rest = c.flush(pad=True)
    assert rest is not None
    assert len(rest) == 24 * frame_ms
    joined = np.concatenate([*frames, rest])
    np.testing.assert_array_equal(joined[: len(x)], x)
    assert not joined[len(x) :].any()
    assert c.flush() is None


def test_wire_formats() -> None:
    assert (bytes_per_ms("audio/pcm"), bytes_per_ms("audio/pcmu")) == (48.0, 8.0)
    np.testing.assert_array_equal(decode(encode(SIGNAL, "audio/pcm"), "audio/pcm"), SIGNAL)
    assert len(encode(SIGNAL[:800], "audio/pcma")) == 800
    enc = InputEncoder("audio/pcmu", from_rate=48000)
    x48 = (np.sin(np.arange(4800) * 2 * np.pi * 440 / 48000) * 20000).astype(np.int16)
    out = b"".join(enc.encode(x48[i : i + 960]) for i in range(0, 4800, 960)) + enc.flush()
    assert abs(len(out) - 800) <= 1  # 100 ms at 8 kHz, one byte per sample
    back = decode(out, "audio/pcmu")
    assert np.sqrt(np.mean(back[100:-100].astype(float) ** 2)) == pytest.approx(
        20000 / np.sqrt(2), rel=0.05
    )
    with pytest.raises(AudioFormatError, match="audio/pcm, audio/pcmu, audio/pcma"):
        encode(SIGNAL, "audio/opus")


def test_pcm_is_sent_at_16_or_24_khz_and_g711_at_8() -> None:
    """GPT-Live's PCM takes a rate (16000 or 24000); Realtime's is 24 kHz only."""
    assert wire_rate("audio/pcm") == 24_000
    assert wire_rate("audio/pcm", 16_000) == 16_000
    assert wire_rate("audio/pcmu", 8000) == 8000
    with pytest.raises(AudioFormatError, match="audio/pcm is sent at 16000 or 24000 Hz, got 8000"):
        wire_rate("audio/pcm", 8000)
    with pytest.raises(AudioFormatError, match="audio/pcma is sent at 8000 Hz, got 16000"):
        wire_rate("audio/pcma", 16_000)
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(4800) / 48_000)).astype(np.int16)
    enc = InputEncoder("audio/pcm", 48_000, 16_000)
    out = enc.encode(tone[:2400]) + enc.encode(tone[2400:]) + enc.flush()
    assert len(out) == 2 * 1600  # 100 ms at 16 kHz, chunk borders and the tail included
    x = decode(out, "audio/pcm").astype(np.float64)
    expected = 8000 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16_000)
    assert np.max(np.abs(x[100:-100] - expected[100:-100])) < 400  # the same tone
