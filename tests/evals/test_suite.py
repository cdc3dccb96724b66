"""Suites: rows, folders, the join/overlay builders, the built-in suite of real speech."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from realtime_widgets.audio.resample import resample
from realtime_widgets.audio.wav import read_wav, write_wav
from realtime_widgets.errors import ConfigError
from realtime_widgets.evals.clip import LABELS, RATE, Clip, Span
from realtime_widgets.evals.suite import (
    Pause,
    Suite,
    Utterance,
    builtin_suite,
    default_reply,
    eot,
    hold,
    join,
    overlay,
    speech_bounds,
    with_noise,
)

CODEC2 = Path("/usr/share/codec2")


def tone(ms: float, rate: int, *, freq: float = 440.0, amp: float = 0.3) -> npt.NDArray[np.float64]:
    t = np.arange(round(ms * rate / 1000)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def burst(
    rate: int, *, lead_ms: float, tone_ms: float, tail_ms: float, freq: float = 440.0
) -> Utterance:
    """A tone burst with exact edges, as int16 at ``rate``: the truth is known to the sample."""
    x = np.concatenate(
        [
            np.zeros(round(lead_ms * rate / 1000)),
            tone(tone_ms, rate, freq=freq),
            np.zeros(round(tail_ms * rate / 1000)),
        ]
    )
    return Utterance(np.rint(x * 32767).astype(np.int16), rate)


def peak_hz(samples: npt.NDArray[np.int16]) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def db(x: npt.NDArray[np.float64]) -> float:
    return float(10 * np.log10(np.mean(x**2) + 1.0))


def span_audio(clip: Clip, span: Span) -> npt.NDArray[np.float64]:
    return clip.samples[round(span.start_ms * 24) : round(span.end_ms * 24)].astype(np.float64)


SPANS = [
    {"start_ms": 100, "end_ms": 900.5, "label": "speech", "text": "la"},
    {"start_ms": 900.5, "end_ms": 1500, "label": "eot"},
]


def test_from_rows_takes_each_audio_kind_and_resamples_to_24k(tmp_path: Path) -> None:
    wav16 = tmp_path / "a.wav"
    write_wav(wav16, tone(1500, 16000), 16000)
    rows = [
        {"id": "path", "language": "en", "audio": str(wav16), "spans": SPANS},
        {"id": "tuple", "audio": (tone(1500, 8000).astype(np.float32), 8000), "spans": SPANS},
        {
            "id": "hf",
            "audio": {"array": tone(1500, 48000), "sampling_rate": 48000, "path": None},
            "spans": SPANS,
            "words": ["la"],
        },
        {
            "id": "int16",
            "audio": ((tone(1500, RATE) * 32767).astype(np.int16), RATE),
            "spans": SPANS,
            "language": "fr",
            "meta": {"source": "x"},
        },
    ]
    suite = Suite.from_rows(rows, name="t", licence="CC0")
    assert [c.id for c in suite] == ["path", "tuple", "hf", "int16"]
    for clip in suite:
        assert clip.samples.dtype == np.int16
        assert abs(len(clip.samples) - 1500 * 24) <= 1  # 1.5 s at 24 kHz, whatever came in
        assert abs(peak_hz(clip.samples) - 440) < 2  # the same sound, not re-pitched
        assert 9000 < np.abs(clip.samples).max() < 10500  # 0.3 of full scale, kept
        assert [s.as_row() for s in clip.spans] == SPANS  # ms unchanged by resampling
    assert suite["hf"].words == ("la",)
    assert suite["int16"].language == "fr"
    assert suite["int16"].meta == {"source": "x"}
    assert suite.name == "t"
    assert suite.licence == "CC0"
    assert suite.duration_ms == pytest.approx(4 * 1500, abs=1)


def test_from_rows_names_every_bad_row_and_field(tmp_path: Path) -> None:
    good = {"id": "ok", "audio": (tone(1000, 16000), 16000), "spans": SPANS[:1]}
    rows = [
        good,
        {
            "id": "b",
            "audio": (tone(1000, 16000), 16000),
            "spans": [SPANS[0], {"start_ms": 0, "end_ms": 10, "label": "pause"}],
        },
        {"id": "", "audio": (tone(1000, 16000), 0), "spans": [{"start_ms": 5, "end_ms": 2}]},
        {"id": "d", "audio": str(tmp_path / "missing.wav"), "spans": []},
        {"id": "e", "audio": {"array": tone(100, 8000)}, "spans": [], "words": [1, 2]},
        {
            "id": "f",
            "audio": (tone(1000, 16000), 16000),
            "spans": [{"start_ms": 0, "end_ms": 5000, "label": "speech"}],
        },
    ]
    with pytest.raises(ConfigError) as caught:
        Suite.from_rows(rows)
    fields = [p.field for p in caught.value.problems]
    assert "rows[1].spans[1].label" in fields
    label = next(p for p in caught.value.problems if p.field == "rows[1].spans[1].label")
    assert "allowed: speech, hold, eot, backchannel, barge_in" in label.message
    assert "'pause'" in label.message
    assert {
        "rows[2].id",
        "rows[2].audio.rate",
        "rows[2].spans[0].label",
        "rows[3].audio",
        "rows[4].audio",
        "rows[4].words",
        "rows[5].spans[0].end_ms",
    } <= set(fields)
    assert not any(f.startswith("rows[0]") for f in fields)
    assert "missing.wav" in next(
        p.message for p in caught.value.problems if p.field == "rows[3].audio"
    )
    with pytest.raises(ConfigError) as caught:
        Suite.from_rows([{"id": "x", "spans": []}])
    assert caught.value.field == "rows[0].audio"


def test_suite_indexing_and_duplicate_ids() -> None:
    a = Clip("a", np.zeros(2400, np.int16), ())
    b = Clip("b", np.zeros(4800, np.int16), ())
    suite = Suite([a, b], name="s")
    assert len(suite) == 2
    assert suite[0] is a
    assert suite["b"] is b
    assert list(suite) == [a, b]
    assert suite.duration_ms == 300
    assert "a" in suite
    assert "z" not in suite
    assert [c.id for c in suite[1:]] == ["b"]
    with pytest.raises(KeyError, match=r"no clip 'zz' in suite 's'; its ids: a, b"):
        suite["zz"]
    with pytest.raises(ConfigError, match="duplicate clip id 'a'") as caught:
        Suite([a, b, Clip("a", np.zeros(10, np.int16), ())])
    assert caught.value.field == "clips[2].id"


def test_folder_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(-3000, 3000, 24000 * 2).astype(np.int16)
    clips = [
        Clip(
            "one",
            noise,
            (Span(0, 800.125, "speech", "hi there"), Span(800.125, 2000, "eot")),
            words=("hi", "there"),
            meta={"source": ["x.wav"], "licence": "CC0"},
        ),
        Clip(
            "two", noise[:24000], (Span(10, 500, "speech"), Span(500, 900, "hold")), language="de"
        ),
    ]
    suite = Suite(clips, name="mine", licence="CC0")
    folder = suite.to_folder(tmp_path / "suite")
    assert sorted(p.name for p in folder.iterdir()) == [
        "one.json",
        "one.wav",
        "suite.json",
        "two.json",
        "two.wav",
    ]
    back = Suite.from_folder(folder)
    assert back.name == "mine"
    assert back.licence == "CC0"
    for old, new in zip(suite, back, strict=True):
        assert new.id == old.id
        assert new.language == old.language
        assert np.array_equal(new.samples, old.samples)
        assert new.spans == old.spans
        assert new.words == old.words
        assert new.meta == old.meta
        assert new.hash == old.hash
    (folder / "two.json").write_text('{"spans": [{"start_ms": 0, "end_ms": 9, "label": "um"}]}')
    with pytest.raises(ConfigError) as caught:
        Suite.from_folder(folder)
    assert caught.value.field == "two.json.spans[0].label"
    (folder / "three.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"three\.json has no audio"):
        Suite.from_folder(folder)
    with pytest.raises(ConfigError) as caught:
        Suite([Clip("a/b", noise, ())]).to_folder(tmp_path / "x")
    assert caught.value.field == "clips[0].id"


def test_join_puts_speech_spans_at_the_true_bounds_and_pauses_exactly() -> None:
    # Tone bursts inside silence, at three rates: where the speech is, is known exactly.
    clip = join(
        [
            Utterance(burst(16000, lead_ms=300, tone_ms=800, tail_ms=250).audio, 16000, text="a b"),
            hold(650),
            (burst(8000, lead_ms=120, tone_ms=500, tail_ms=400, freq=300).audio, 8000),
            eot(1200),
            Utterance(burst(RATE, lead_ms=50, tone_ms=700, tail_ms=90).audio, text="c"),
            hold(410.5),
            (burst(RATE, lead_ms=200, tone_ms=300, tail_ms=200).audio, RATE),
            eot(900),
        ],
        id="j",
        lead_ms=400,
        meta={"source": "tones"},
    )
    labels = [s.label for s in clip.spans]
    assert labels == ["speech", "hold", "speech", "eot", "speech", "hold", "speech", "eot"]
    # The truth, read from the output: where the tones really are (gaps > 100 ms part them).
    on = np.flatnonzero(np.abs(clip.samples) > 200)
    breaks = np.flatnonzero(np.diff(on) > 2400)
    starts, ends = [on[0], *on[breaks + 1]], [*on[breaks], on[-1]]
    speech = clip.of("speech")
    assert [round(s.duration_ms) for s in speech] == [800, 500, 700, 300]
    for span, start, end in zip(speech, starts, ends, strict=True):
        assert abs(span.start_ms - start / 24) <= 30
        assert abs(span.end_ms - (end + 1) / 24) <= 30
    pauses = [s for s in clip.spans if s.label in ("hold", "eot")]
    for before, pause, want in zip(speech, pauses, [650, 1200, 410.5, 900], strict=True):
        assert pause.start_ms == before.end_ms
        assert pause.duration_ms == pytest.approx(want, abs=1 / 24)
    for pause, after in zip(pauses, speech[1:], strict=False):
        assert pause.end_ms == after.start_ms
    assert clip.spans[-1].end_ms == pytest.approx(clip.duration_ms)
    assert speech[0].start_ms == 400
    assert speech[0].text == "a b"
    assert clip.meta == {"source": "tones"}
    assert clip.words is None  # not every utterance has its text
    both = join([Utterance(burst(RATE, lead_ms=50, tone_ms=300, tail_ms=50).audio, text="hi you"),
                 eot(500)], id="w")  # fmt: skip
    assert both.words == ("hi", "you")


def test_join_names_the_bad_piece() -> None:
    piece = burst(RATE, lead_ms=100, tone_ms=300, tail_ms=100).audio
    cases = [
        ([piece, hold(300), eot(300)], "pieces[2]"),
        ([piece, piece], "pieces[1]"),
        ([hold(300), piece], "pieces[0]"),
        ([piece, hold(-5)], "pieces[1].ms"),
        ([piece, Pause("pause", 300)], "pieces[1].label"),
        ([np.zeros(4800, np.int16)], "pieces[0]"),
        ([piece, eot(100), "hello"], "pieces[2]"),
    ]
    for pieces, field in cases:
        with pytest.raises(ConfigError) as caught:
            join(pieces, id="x")
        assert caught.value.field == field, (pieces, caught.value)


def _turn() -> Clip:
    rng = np.random.default_rng(7)
    voice = burst(RATE, lead_ms=100, tone_ms=900, tail_ms=100, freq=220).audio
    voice = (voice * 0.3 * (1 + 0.3 * rng.standard_normal(len(voice)))).astype(np.int16)
    return join([voice, eot(3000)], id="turn")


@pytest.mark.parametrize("snr", [0.0, 6.0, 10.0])
def test_overlay_hits_the_snr_and_splits_the_eot_span(snr: float) -> None:
    clip = _turn()
    rng = np.random.default_rng(3)
    word = np.concatenate(
        [
            np.zeros(2400),
            rng.standard_normal(24 * 250) * 3000 * np.hanning(24 * 250),
            np.zeros(2400),
        ]
    )
    start = clip.of("eot")[0].start_ms
    out = overlay(
        clip,
        (word.astype(np.float32) / 32768, RATE),
        at_ms=start + 700,
        snr_db=snr,
        meta={"note": "bc"},
    )
    added = out.samples.astype(np.float64) - clip.samples.astype(np.float64)
    (bc,) = out.of("backchannel")
    inside = added[round(bc.start_ms * 24) : round(bc.end_ms * 24)]
    assert np.abs(added).sum() == pytest.approx(np.abs(inside).sum())  # nothing outside the span
    speech = np.concatenate([span_audio(clip, s) for s in clip.of("speech")])
    measured = 20 * np.log10(np.sqrt(np.mean(speech**2)) / np.sqrt(np.mean(inside**2)))
    assert measured == pytest.approx(snr, abs=0.5)
    # The burst's own measured bounds: the span starts where its sound starts.
    bounds = speech_bounds(word, RATE)
    assert bounds is not None
    assert bc.start_ms == start + 700
    assert bc.duration_ms == pytest.approx(bounds[1] - bounds[0], abs=1 / 24)
    assert out.of("eot") == [Span(start, start + 700, "eot")]
    assert out.of("speech") == clip.of("speech")
    assert out.meta["note"] == "bc"
    assert out.id == "turn"


def test_overlay_barge_in_leaves_an_eot_after_it_and_errors_name_the_field() -> None:
    clip = _turn()
    start, end = clip.of("eot")[0].start_ms, clip.of("eot")[0].end_ms
    sentence = burst(16000, lead_ms=50, tone_ms=1000, tail_ms=50, freq=180)
    out = overlay(clip, sentence, at_ms=start + 1500, snr_db=0, label="barge_in", text="stop")
    (barge,) = out.of("barge_in")
    assert barge.start_ms == start + 1500
    assert barge.text == "stop"
    assert barge.duration_ms == pytest.approx(1000, abs=30)
    assert out.of("eot") == [Span(start, start + 1500, "eot"), Span(barge.end_ms, end, "eot")]
    for kwargs, field in [
        ({"label": "cough"}, "label"),
        ({"at_ms": 500.0}, "at_ms"),
        ({"at_ms": end - 200}, "at_ms"),
        ({"snr_db": -40.0}, "snr_db"),
        ({"snr_db": float("nan")}, "snr_db"),
    ]:
        args: dict[str, object] = {"at_ms": start + 100, "snr_db": 0.0, "label": "barge_in"}
        args.update(kwargs)
        with pytest.raises(ConfigError) as caught:
            overlay(clip, sentence, **args)  # type: ignore[arg-type]
        assert caught.value.field == field, (kwargs, caught.value)


# -- the built-in suite ------------------------------------------------------------------------


def test_builtin_suite_covers_every_label_and_its_labels_agree_with_the_audio() -> None:
    suite = builtin_suite()
    assert suite is builtin_suite()  # loaded once
    assert not suite[0].samples.flags.writeable  # shared: read-only
    assert "LGPL-2.1" in suite.licence
    assert "codec2" in suite.licence
    assert 8 <= len(suite) <= 14
    assert len(set(suite.ids)) == len(suite)
    assert {s.label for c in suite for s in c.spans} == set(LABELS)
    assert len([s for c in suite for s in c.of("hold")]) >= 6
    for clip in suite:
        assert 6000 <= clip.duration_ms <= 15000, clip.id
        assert clip.meta["licence"] == "LGPL-2.1-or-later, codec2-examples, Debian"
        assert clip.meta["source"], clip.id
        assert all(0 <= s.start_ms < s.end_ms <= clip.duration_ms for s in clip.spans), clip.id
        if "noise" in clip.meta:  # a clean clip under a background talker: see the SNR test
            assert clip.meta["clean"] in suite.ids
            assert [s.label for s in clip.spans] == [
                s.label for s in suite[clip.meta["clean"]].spans
            ]
            continue
        loud = [
            db(span_audio(clip, s)) for s in clip.spans if s.label != "hold" and s.label != "eot"
        ]
        quiet = [db(span_audio(clip, s)) for s in clip.spans if s.label in ("hold", "eot")]
        assert min(loud) > max(quiet) + 20, (clip.id, loud, quiet)
        # Each speech span starts and ends where the speech does: measured again on the stored
        # (8/16 kHz) audio, the bounds of the speech around each span are within 30 ms.
        for span in clip.of("speech"):
            a, b = round((span.start_ms - 200) * 24), round((span.end_ms + 200) * 24)
            found = speech_bounds(clip.samples[max(0, a) : b], RATE)
            assert found is not None
            assert abs(found[0] + max(0, a) / 24 - span.start_ms) <= 30, (clip.id, span)
            assert abs(found[1] + max(0, a) / 24 - span.end_ms) <= 30, (clip.id, span)
        for hold_span in clip.of("hold"):
            assert 400 <= hold_span.duration_ms <= 1200
        for barge in clip.of("barge_in"):
            # Inside the agent's reply: 1.5-2.5 s after the true end of the turn, over no speech.
            before = max(s.end_ms for s in clip.of("speech") if s.end_ms <= barge.start_ms)
            assert 1500 <= barge.start_ms - before <= 2500, clip.id
            assert all(s.end_ms <= barge.start_ms for s in clip.of("speech")), clip.id
    synthetic = [c.id for c in suite if c.meta.get("synthetic")]
    assert synthetic == ["cross-cough"]


def test_builtin_overlays_start_inside_the_agents_reply_for_any_silence_setting() -> None:
    """Every backchannel and barge-in starts 1.6-2.4 s after the true end of the turn before
    it (the start of the eot span before it): the local agent's reply (2.29 s, starting ~30-50
    ms after silence_duration_ms) is playing there for any silence of 200-1500 ms, and that
    eot span leaves room for a 1500 ms silence to decide the end of turn first."""
    suite = builtin_suite()
    seen = 0
    for clip in suite:
        for span in clip.of("backchannel") + clip.of("barge_in"):
            eot_span = max(
                (s for s in clip.of("eot") if s.start_ms < span.start_ms), key=lambda s: s.start_ms
            )
            assert 1600 - 1 <= span.start_ms - eot_span.start_ms <= 2400 + 1, (clip.id, span)
            seen += 1
    assert seen == 8


def test_builtin_noisy_clips_have_the_snr_their_meta_says() -> None:
    """The background talker (the noisy clip minus its clean clip) is ``meta["snr_db"]`` under
    the clean clip's speech spans, within 0.5 dB; and it is real speech far below, not
    silence."""
    suite = builtin_suite()
    noisy = [c for c in suite if "noise" in c.meta]
    assert len(noisy) == 2
    for clip in noisy:
        clean = suite[clip.meta["clean"]]
        assert clean.spans == clip.spans
        noise = clip.samples.astype(np.float64) - clean.samples.astype(np.float64)
        speech = np.concatenate([span_audio(clean, s) for s in clean.of("speech")])
        snr = 10 * np.log10(np.mean(speech**2) / np.mean(noise**2))
        assert snr == pytest.approx(clip.meta["snr_db"], abs=0.5), clip.id
        assert 20 <= clip.meta["snr_db"] <= 25
        assert clip.meta["noise"] in clip.meta["source"]


def test_with_noise_loops_the_noise_at_the_snr_and_names_bad_fields() -> None:
    clip = join(
        [burst(RATE, lead_ms=50, tone_ms=600, tail_ms=50), eot(1500)], id="t", meta={"a": 1}
    )
    rng = np.random.default_rng(1)
    noise = Utterance(rng.normal(0, 3000, 8000).astype(np.int16), 16000, source="hiss")  # 0.5 s
    out = with_noise(clip, noise, 12.0, id="t-noisy")
    assert out.id == "t-noisy"
    assert out.spans == clip.spans
    assert out.meta == {"a": 1, "noise": "hiss", "snr_db": 12.0, "source": ["hiss"]}
    added = out.samples.astype(np.float64) - clip.samples.astype(np.float64)
    speech = span_audio(clip, clip.of("speech")[0])
    assert 10 * np.log10(np.mean(speech**2) / np.mean(added**2)) == pytest.approx(12.0, abs=0.1)
    # Looped with crossfades: no 100 ms stretch of the 2.2 s clip lacks the noise.
    windows = added[: len(added) // 2400 * 2400].reshape(-1, 2400)
    assert np.sqrt((windows**2).mean(axis=1)).min() > 0.5 * np.sqrt(np.mean(added**2))
    for kwargs, field in (
        ({"snr_db": "loud"}, "snr_db"),
        ({"snr_db": -40.0}, "snr_db"),
        ({"noise": np.zeros(RATE, dtype=np.int16)}, "noise"),
        ({"noise": np.ones(100, dtype=np.int16)}, "noise"),
        ({"noise": "hiss.wav"}, "noise"),
    ):
        args: dict[str, object] = {"noise": noise, "snr_db": 10.0, **kwargs}
        with pytest.raises(ConfigError) as caught:
            with_noise(clip, **args)  # type: ignore[arg-type]
        assert caught.value.field == field, (kwargs, caught.value)


@functools.cache
def _source_audio(entry: str) -> npt.NDArray[np.float64]:
    match = re.fullmatch(r"(\S+?)(?: (\d+)-(\d+) ms)?", entry)
    assert match, entry
    path = CODEC2 / match.group(1)
    if path.suffix == ".raw":
        samples, rate = np.fromfile(path, dtype="<i2"), 8000
    else:
        samples, info = read_wav(path)
        rate = info.rate
    if match.group(2):
        samples = samples[int(match.group(2)) * rate // 1000 : int(match.group(3)) * rate // 1000]
    return np.asarray(resample(samples, rate, RATE), dtype=np.float64)


@pytest.mark.skipif(not CODEC2.is_dir(), reason="Debian's codec2-examples is not installed")
def test_builtin_suite_is_the_real_recordings_it_names() -> None:
    """Every speech span's audio is found (correlation > 0.9) in the recording its meta names:
    real speech, not a synthetic stand-in."""
    for clip in builtin_suite():
        sources = [_source_audio(s) for s in clip.meta["source"] if not s.startswith("synthetic")]
        for span in clip.of("speech") + clip.of("barge_in"):
            probe = span_audio(clip, span)[24 * 200 : 24 * 600]  # 400 ms inside the span
            probe = probe - probe.mean()
            best = 0.0
            for src in sources:
                if len(src) < len(probe):
                    continue
                n = 1 << (len(src) + len(probe)).bit_length()  # a fast FFT length
                corr = np.fft.irfft(np.fft.rfft(src, n) * np.conj(np.fft.rfft(probe, n)), n)
                cumulative = np.concatenate([[0.0], np.cumsum(src**2)])
                energy = cumulative[len(probe) :] - cumulative[: -len(probe)]  # per window
                lag = corr[: len(energy)] / np.sqrt(energy * np.sum(probe**2) + 1e-9)
                best = max(best, float(lag.max()))
            assert best > 0.9, (clip.id, span, best)


def test_default_reply_is_two_to_four_seconds_of_speech_at_24k() -> None:
    reply = default_reply()
    assert reply.dtype == np.int16
    assert 2.0 <= len(reply) / RATE <= 4.0
    assert reply is default_reply()
    assert not reply.flags.writeable
    bounds = speech_bounds(reply, RATE)
    assert bounds is not None
    assert bounds[0] <= 150  # speech from near the start
    assert len(reply) / 24 - bounds[1] <= 150
    assert db(reply.astype(np.float64)) > 60


def test_a_clip_keeps_its_audio_when_the_caller_writes_into_the_array_it_passed() -> None:
    """``Clip.hash`` is computed once (the sweep cache's key): a view of the caller's array
    would let a later write change the audio under the kept hash."""
    given = np.arange(-240, 240, dtype=np.int16)
    clip = Clip("c", given, (Span(0, 20, "speech"),))
    before = clip.hash
    given[:] = 0
    assert clip.samples[0] == -240
    assert clip.samples[-1] == 239
    assert Clip("c", clip.samples, clip.spans).hash == before
    assert not clip.samples.flags.writeable
