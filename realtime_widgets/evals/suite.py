"""Suites of labelled clips for the turn-taking bench, and the built-in suite of real speech.

A :class:`Suite` is a sequence of :class:`~realtime_widgets.evals.clip.Clip` in livekit/eot-bench's
row schema. Three ways in: :meth:`Suite.from_rows` (rows as eot-bench or a Hugging Face dataset
gives them), :meth:`Suite.from_folder` (one ``NAME.wav`` + ``NAME.json`` per clip; written by
:meth:`Suite.to_folder`), and the builders :func:`join` (real utterances separated by labelled
pauses) and :func:`overlay` (a backchannel, cough or interruption laid over the agent's turn at a
chosen SNR), and :func:`with_noise` (a background recording under a whole clip at a chosen SNR).
:func:`builtin_suite` is the suite that ships with the package (real speech from
Debian's ``codec2-examples``, LGPL-2.1-or-later; see ``evals/data/README.md``), and
:func:`default_reply` the recording the local agent speaks as its reply in simulated runs.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array, as_int16
from realtime_widgets.audio.resample import resample, to_model_rate
from realtime_widgets.audio.wav import read_wav, write_wav
from realtime_widgets.errors import ConfigError, FieldProblem, RealtimeWidgetsError
from realtime_widgets.evals.clip import LABELS, RATE, Clip, Span

__all__ = [
    "BUILTIN_LICENCE",
    "DATA",
    "Pause",
    "Suite",
    "Utterance",
    "builtin_suite",
    "default_reply",
    "eot",
    "hold",
    "join",
    "overlay",
    "speech_bounds",
    "with_noise",
]

DATA = Path(__file__).parent / "data"  # the shipped audio, labels and licence note

_FRAME_MS = 10.0
_RUN = 3  # loud frames in a row that make speech (30 ms)
_BRIDGE = 5  # a loud frame this close (50 ms) to speech belongs to it (a flickering decay)


def _frame_db(
    samples: npt.ArrayLike, rate: int, frame_ms: float = _FRAME_MS
) -> npt.NDArray[np.float64]:
    x = np.asarray(samples, dtype=np.float64)
    w = max(1, round(rate * frame_ms / 1000))
    n = len(x) // w
    if n == 0:
        return np.zeros(0)
    rms = np.sqrt((x[: n * w].reshape(n, w) ** 2).mean(axis=1))
    db: npt.NDArray[np.float64] = 20 * np.log10(rms + 1.0)
    return db


def speech_bounds(
    samples: npt.ArrayLike,
    rate: int = RATE,
    *,
    below_peak_db: float = 35.0,
    above_floor_db: float = 12.0,
) -> tuple[float, float] | None:
    """Where speech really starts and ends in ``samples``, in ms: ``None`` if it is all silence.

    Energy based, on 10 ms frames: a frame is speech when its RMS (dB re one int16 step) is above
    both ``peak - below_peak_db`` (the loudest frame sets the scale) and ``floor + above_floor_db``
    (the floor is the quietest 50 ms: a noisy recording's background hum stays out). Speech is
    a run of at least 3 such frames (30 ms), so a lone click or breath between sentences is not;
    loud frames within 50 ms of speech join it (a soft onset or decay flickers about the
    threshold). The start is the first speech frame's start, the end the last one's end:
    exact to one frame (10 ms) for a sound with sharp edges, and a soft onset or decay counts
    as long as it is within ``below_peak_db`` of the peak and above the floor's margin.
    """
    db = _frame_db(samples, rate)
    if db.size == 0 or db.max() < 20.0:  # nothing above ~ -70 dBFS: silence
        return None
    smooth = np.convolve(db, np.ones(5) / 5, mode="valid") if db.size >= 5 else db
    threshold = max(db.max() - below_peak_db, float(smooth.min()) + above_floor_db)
    above = (db > threshold).astype(np.int64)
    # Frames that begin a run of _RUN loud frames: a lone click or breath is not speech.
    runs = np.flatnonzero(np.convolve(above, np.ones(_RUN, dtype=np.int64), mode="valid") == _RUN)
    if runs.size == 0:
        return None
    loud = np.flatnonzero(above)
    first, last = int(runs[0]), int(runs[-1]) + _RUN - 1
    # A soft onset or decay flickers about the threshold: take in loud frames up to _BRIDGE
    # frames away from the speech, step by step.
    while (earlier := loud[(loud < first) & (loud >= first - _BRIDGE)]).size:
        first = int(earlier[0])
    while (later := loud[(loud > last) & (loud <= last + _BRIDGE)]).size:
        last = int(later[-1])
    return float(first * _FRAME_MS), float((last + 1) * _FRAME_MS)


@functools.cache
def _reply() -> Int16Array:
    samples, _ = read_wav(DATA / "reply.wav", rate=RATE)
    samples.setflags(write=False)
    return samples


def default_reply() -> Int16Array:
    """What the local agent says as its reply in simulated runs: 2-4 s of real speech.

    A sentence from codec2-examples' ``hts2a.wav`` (a speaker not in the built-in suite's user
    turns), trimmed to its speech with 20 ms margins and resampled to 24 kHz int16 (made by
    ``scripts/make_eval_suite.py``; LGPL-2.1-or-later). Its first sample is within 20 ms of the
    first speech, so time-to-first-audio measured from the reply channel is measured from real
    audio. Read-only, loaded once.
    """
    return _reply()


BUILTIN_LICENCE = (
    "LGPL-2.1-or-later: recordings from codec2-examples (codec2 1.0.5, Copyright 2007-2019 "
    "David Rowe), as packaged by Debian; see realtime_widgets/evals/data/README.md"
)
_ALLOWED_LABELS = ", ".join(LABELS)
# A WAV path, (array, rate), {"array": ..., "sampling_rate": ...}, or an array at 24 kHz.
AudioLike = Any


def _problem(field: str, message: str, allowed: str | None = None) -> ConfigError:
    return ConfigError([FieldProblem(field, message, allowed=allowed)])


class Suite(Sequence[Clip]):
    """An ordered set of labelled clips with unique ids: what a sweep runs.

    ``suite[i]`` and ``suite["clip-id"]`` give one clip, ``len`` and iteration the rest;
    ``.name`` names it in tables and caches, ``.licence`` says under what terms its audio may be
    used. Make one with :meth:`from_rows`, :meth:`from_folder`, from clips built by :func:`join`
    and :func:`overlay`, or take :func:`builtin_suite`.
    """

    def __init__(self, clips: Iterable[Clip], *, name: str = "suite", licence: str = "") -> None:
        self._clips: tuple[Clip, ...] = tuple(clips)
        self._index: dict[str, int] = {}
        for i, clip in enumerate(self._clips):
            if not isinstance(clip, Clip):
                raise _problem(
                    f"clips[{i}]", f"clips[{i}]: a Clip needed, got {type(clip).__name__}"
                )
            if clip.id in self._index:
                raise _problem(
                    f"clips[{i}].id",
                    f"clips[{i}].id: duplicate clip id {clip.id!r} "
                    f"(also clips[{self._index[clip.id]}])",
                    allowed="ids unique within a suite",
                )
            self._index[clip.id] = i
        self.name = name
        self.licence = licence

    def __len__(self) -> int:
        return len(self._clips)

    def __iter__(self) -> Iterator[Clip]:
        return iter(self._clips)

    @overload
    def __getitem__(self, key: int | str) -> Clip: ...
    @overload
    def __getitem__(self, key: slice) -> Suite: ...
    def __getitem__(self, key: int | str | slice) -> Clip | Suite:
        if isinstance(key, str):
            if key not in self._index:
                raise KeyError(
                    f"no clip {key!r} in suite {self.name!r}; its ids: {', '.join(self._index)}"
                )
            return self._clips[self._index[key]]
        if isinstance(key, slice):
            return Suite(self._clips[key], name=self.name, licence=self.licence)
        return self._clips[key]

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._index
        return any(item is c for c in self._clips)

    @property
    def ids(self) -> list[str]:
        """The clip ids, in order."""
        return list(self._index)

    @property
    def duration_ms(self) -> float:
        """The total audio of all clips, in ms."""
        return sum(c.duration_ms for c in self._clips)

    def __repr__(self) -> str:
        return (
            f"Suite({self.name!r}, {len(self)} clips, {self.duration_ms / 1000:.1f} s"
            + (f", licence={self.licence!r}" if self.licence else "")
            + ")"
        )

    # -- ways in ----------------------------------------------------------------------------

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], *, name: str = "rows", licence: str = ""
    ) -> Suite:
        """A suite from rows in livekit/eot-bench's schema (or a Hugging Face dataset's rows).

        Each row: ``id`` (str), ``language`` (default ``"en"``), ``audio`` (a WAV path at any
        rate, ``(array, rate)``, or ``{"array": ..., "sampling_rate": ...}`` as Hugging Face
        ``datasets`` give it, or a bare array taken as 24 kHz; float arrays in [-1, 1] or int16;
        resampled to 24 kHz), ``spans``
        (a list of ``{start_ms, end_ms, label[, text]}``, ms on the row's audio, unchanged by
        resampling), and optionally ``words`` (a list of strings) and ``meta`` (a dict).
        Every problem of every row is reported at once, each naming ``rows[i].field``.
        """
        clips: list[Clip] = []
        problems: list[FieldProblem] = []
        for i, row in enumerate(rows):
            clip = _clip_of_row(row, f"rows[{i}]", problems)
            if clip is not None:
                clips.append(clip)
        if problems:
            raise ConfigError(problems)
        return cls(clips, name=name, licence=licence)

    @classmethod
    def from_folder(cls, path: str | Path, *, name: str | None = None) -> Suite:
        """A suite from a folder holding ``NAME.wav`` + ``NAME.json`` per clip (any WAV rate).

        ``NAME.json`` is the clip's row without ``audio``. An optional ``suite.json`` holds the
        suite's ``name`` and ``licence``. Clips are in the order of their file names.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise _problem("path", f"path: {folder} is not a folder")
        info: dict[str, Any] = {}
        if (folder / "suite.json").is_file():
            info = json.loads((folder / "suite.json").read_text())
        rows: list[dict[str, Any]] = []
        for wav in sorted(folder.glob("*.wav")):
            label_file = wav.with_suffix(".json")
            if not label_file.is_file():
                raise _problem(
                    str(label_file), f"{wav.name} has no labels: {label_file.name} missing"
                )
            try:
                row = json.loads(label_file.read_text())
            except json.JSONDecodeError as exc:
                raise _problem(str(label_file), f"{label_file}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise _problem(str(label_file), f"{label_file}: a JSON object needed")
            row.setdefault("id", wav.stem)
            rows.append({**row, "audio": wav})
        orphans = sorted(
            p.name
            for p in folder.glob("*.json")
            if p.name != "suite.json" and not p.with_suffix(".wav").is_file()
        )
        if orphans:
            raise _problem(str(folder / orphans[0]), f"{orphans[0]} has no audio beside it")
        try:
            return cls.from_rows(
                rows,
                name=name or str(info.get("name") or folder.name),
                licence=str(info.get("licence", "")),
            )
        except ConfigError as exc:  # name the file, not the row number
            files = {f"rows[{i}]": row["audio"].stem for i, row in enumerate(rows)}

            def named(text: str) -> str:
                return re.sub(r"rows\[\d+\]", lambda m: f"{files[m.group(0)]}.json", text)

            raise ConfigError(
                [replace(p, field=named(p.field), message=named(p.message)) for p in exc.problems]
            ) from None

    def to_folder(self, path: str | Path, *, rate: int = RATE) -> Path:
        """Write ``NAME.wav`` (16-bit mono at ``rate``; 24 kHz round-trips exactly) and
        ``NAME.json`` per clip, and ``suite.json`` (name, licence). Returns the folder."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for i, clip in enumerate(self._clips):
            if not clip.id or clip.id == "suite" or any(c in clip.id for c in '/\\:*?"<>|'):
                raise _problem(
                    f"clips[{i}].id",
                    f"clips[{i}].id: {clip.id!r} cannot be a file name",
                    allowed="a non-empty name other than 'suite', without / \\ : * ? \" < > |",
                )
            row: dict[str, Any] = {
                "id": clip.id,
                "language": clip.language,
                "spans": [s.as_row() for s in clip.spans],
            }
            if clip.words is not None:
                row["words"] = list(clip.words)
            if clip.meta:
                row["meta"] = clip.meta
            try:
                text = json.dumps(row, indent=1, ensure_ascii=False)
            except TypeError as exc:
                raise _problem(f"clips[{i}].meta", f"clips[{i}].meta: not JSON ({exc})") from None
            samples = clip.samples if rate == RATE else as_int16(resample(clip.samples, RATE, rate))
            write_wav(folder / f"{clip.id}.wav", samples, rate)
            (folder / f"{clip.id}.json").write_text(text + "\n")
        (folder / "suite.json").write_text(
            json.dumps({"name": self.name, "licence": self.licence}, indent=1) + "\n"
        )
        return folder


def _audio(value: AudioLike, field: str) -> Int16Array:
    """Any accepted audio form as 24 kHz int16 (raises ConfigError naming ``field``)."""
    try:
        if isinstance(value, str | Path):
            samples, _ = read_wav(value, rate=RATE)
            return samples
        if isinstance(value, Mapping):
            if value.get("array") is None and value.get("path"):
                return _audio(value["path"], field)
            if "array" not in value or "sampling_rate" not in value:
                raise _problem(
                    field,
                    f"{field}: a dict needs 'array' and 'sampling_rate' (Hugging Face's Audio "
                    f"feature), got keys {sorted(value)}",
                )
            return _audio((value["array"], value["sampling_rate"]), field)
        if isinstance(value, tuple) and len(value) == 2:
            array, rate = value
            if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or rate <= 0:
                raise _problem(
                    f"{field}.rate", f"{field}: the rate must be a positive int (Hz), got {rate!r}"
                )
            x = np.asarray(array)
            if x.dtype.kind not in "fi":
                raise _problem(
                    field, f"{field}: int16 or float samples needed, got dtype {x.dtype}"
                )
            if x.dtype.kind == "i" and x.dtype != np.int16:
                raise _problem(field, f"{field}: integer samples must be int16, got {x.dtype}")
            return to_model_rate(as_int16(x), int(rate))
        if isinstance(value, np.ndarray):
            return as_int16(value)
    except ConfigError:
        raise
    except RealtimeWidgetsError as exc:
        raise _problem(field, f"{field}: {exc}") from None
    raise _problem(
        field,
        f"{field}: a WAV path, (array, rate) or {{'array', 'sampling_rate'}} needed, got "
        f"{type(value).__name__}",
        allowed="WAV path, (array, rate), {'array': ..., 'sampling_rate': ...}",
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _clip_of_row(row: Any, where: str, problems: list[FieldProblem]) -> Clip | None:
    before = len(problems)

    def bad(field: str, message: str, allowed: str | None = None) -> None:
        problems.append(
            FieldProblem(f"{where}.{field}", f"{where}.{field}: {message}", allowed=allowed)
        )

    if not isinstance(row, Mapping):
        problems.append(
            FieldProblem(where, f"{where}: a mapping (dict) needed, got {type(row).__name__}")
        )
        return None
    clip_id = row.get("id")
    if not isinstance(clip_id, str) or not clip_id:
        bad("id", f"a non-empty string needed, got {clip_id!r}")
    language = row.get("language", "en")
    if not isinstance(language, str) or not language:
        bad("language", f"a language code (e.g. 'en') needed, got {language!r}")
    samples: Int16Array | None = None
    if "audio" not in row:
        bad("audio", "missing", allowed="WAV path, (array, rate), {'array', 'sampling_rate'}")
    else:
        try:
            samples = _audio(row["audio"], f"{where}.audio")
        except ConfigError as exc:
            problems.extend(exc.problems)
    spans: list[Span] = []
    raw_spans = row.get("spans")
    if not isinstance(raw_spans, list | tuple):
        bad(
            "spans", f"a list of {{start_ms, end_ms, label}} needed, got {type(raw_spans).__name__}"
        )
        raw_spans = []
    duration = len(samples) * 1000 / RATE if samples is not None else math.inf
    for j, span in enumerate(raw_spans):
        f = f"spans[{j}]"
        if not isinstance(span, Mapping):
            bad(f, f"a mapping {{start_ms, end_ms, label}} needed, got {type(span).__name__}")
            continue
        start: Any = span.get("start_ms")
        end: Any = span.get("end_ms")
        label: Any = span.get("label")
        ok = True
        if label not in LABELS:
            bad(
                f"{f}.label",
                f"{label!r} is not a label; allowed: {_ALLOWED_LABELS}",
                _ALLOWED_LABELS,
            )
            ok = False
        for key, value in (("start_ms", start), ("end_ms", end)):
            if not _number(value):
                bad(f"{f}.{key}", f"a number of ms needed, got {value!r}")
                ok = False
        if ok and not 0 <= start < end:
            bad(f"{f}.end_ms", f"0 <= start_ms < end_ms needed, got {start}..{end}")
            ok = False
        if ok and end > duration + 1:
            bad(f"{f}.end_ms", f"{end} ms is after the audio's end ({duration:.0f} ms)")
            ok = False
        text = span.get("text", "")
        if not isinstance(text, str):
            bad(f"{f}.text", f"a string needed, got {type(text).__name__}")
            ok = False
        if ok:
            spans.append(Span(float(start), float(end), label, text))
    words = row.get("words")
    if words is not None:
        if isinstance(words, list | tuple) and all(isinstance(w, str) for w in words):
            words = tuple(words)
        else:
            bad("words", "a list of strings needed")
    meta = row.get("meta", {})
    if not isinstance(meta, Mapping):
        bad("meta", f"a mapping needed, got {type(meta).__name__}")
    if len(problems) > before or samples is None:
        return None
    return Clip(str(clip_id), samples, tuple(spans), str(language), words, dict(meta))


# -- builders over real recordings -----------------------------------------------------------


@dataclass(frozen=True)
class Utterance:
    """One piece of real speech for :func:`join`: audio (24 kHz, or at ``rate``) and its text."""

    audio: npt.ArrayLike
    rate: int = RATE
    text: str = ""
    source: str = ""


@dataclass(frozen=True)
class Pause:
    """A labelled silence for :func:`join`: ``hold`` (inside a turn) or ``eot`` (after one),
    ``ms`` from the true end of the speech before it to the true start of the next."""

    label: str
    ms: float


def hold(ms: float) -> Pause:
    """A pause of ``ms`` inside a turn: ending the turn here is a false cutoff."""
    return Pause("hold", ms)


def eot(ms: float) -> Pause:
    """A pause of ``ms`` after a turn: the turn really ended."""
    return Pause("eot", ms)


_MARGIN_MS = 40.0  # the recording's own audio kept around each utterance's speech bounds
_FADE_MS = 5.0


def _utterance(piece: Any, field: str) -> tuple[Int16Array, str, str]:
    if isinstance(piece, Utterance):
        return _audio((np.asarray(piece.audio), piece.rate), field), piece.text, piece.source
    if isinstance(piece, tuple) and len(piece) == 2 and not isinstance(piece[0], str):
        return _audio(piece, field), "", ""
    if isinstance(piece, np.ndarray):
        return _audio((piece, RATE), field), "", ""
    raise _problem(
        field,
        f"{field}: an utterance (24 kHz array, (array, rate) or Utterance) or a Pause (hold(ms), "
        f"eot(ms)) needed, got {type(piece).__name__}",
    )


def join(
    pieces: Sequence[Any],
    *,
    id: str,
    lead_ms: float = 400.0,
    language: str = "en",
    meta: Mapping[str, Any] | None = None,
) -> Clip:
    """A clip of real utterances separated by labelled pauses.

    ``pieces`` alternates utterances (24 kHz arrays, ``(array, rate)``, or :class:`Utterance`
    with its text) and pauses (:func:`hold` / :func:`eot`); ``lead_ms`` of silence comes first.

    Each utterance is cut to its measured speech by :func:`speech_bounds` (10 ms frames whose
    RMS is above both 35 dB under the loudest frame and 12 dB over the quietest 50 ms of the
    piece, so give each piece a little silence on either side), keeping 40 ms of its own audio
    beyond the bounds, faded in and out; between utterances the clip is digital silence. Spans:

    - ``speech``: from the measured speech start to the measured speech end of each utterance
      (pauses inside an utterance stay inside its span);
    - ``hold`` / ``eot``: from that speech end to the next utterance's speech start, exactly the
      pause's ``ms`` (rounded to a sample); a final ``eot`` runs to the clip's end.
    Raises ConfigError naming ``pieces[i]`` for a bad piece, two pauses in a row, a pause first,
    a label other than hold/eot, or an utterance with no speech in it.
    """
    if not pieces:
        raise _problem("pieces", "pieces: at least one utterance needed")
    ms = RATE / 1000
    lead = round(lead_ms * ms)
    if lead_ms < 0:
        raise _problem("lead_ms", f"lead_ms: >= 0 needed, got {lead_ms}")
    layout: list[tuple[int, npt.NDArray[np.float64]]] = []  # (offset of the cut in the clip, cut)
    spans: list[Span] = []
    cursor = lead  # where the next speech starts, in samples
    previous: str | None = None
    sources: list[str] = []
    words: list[str] = []
    end = lead
    for i, piece in enumerate(pieces):
        field = f"pieces[{i}]"
        if isinstance(piece, Pause):
            if piece.label not in ("hold", "eot"):
                raise _problem(
                    f"{field}.label",
                    f"{field}.label: hold or eot needed, got {piece.label!r}",
                    "hold, eot",
                )
            if not _number(piece.ms) or piece.ms <= 0:
                raise _problem(
                    f"{field}.ms", f"{field}.ms: a positive number of ms needed, got {piece.ms!r}"
                )
            if previous != "speech":
                raise _problem(field, f"{field}: a pause must follow an utterance")
            n = round(piece.ms * ms)
            spans.append(Span(cursor / ms, (cursor + n) / ms, piece.label))  # type: ignore[arg-type]
            cursor += n
            end = max(end, cursor)
            previous = piece.label
            continue
        if previous == "speech":
            raise _problem(
                field, f"{field}: two utterances in a row; put hold(ms) or eot(ms) between"
            )
        samples, text, source = _utterance(piece, field)
        bounds = speech_bounds(samples, RATE)
        if bounds is None:
            raise _problem(field, f"{field}: no speech found in this utterance (all silence)")
        s0, s1 = round(bounds[0] * ms), min(len(samples), round(bounds[1] * ms))
        margin = round(_MARGIN_MS * ms)
        a, b = max(0, s0 - margin, s0 - cursor), min(len(samples), s1 + margin)
        cut = samples[a:b].astype(np.float64)
        # The margins fade from silence to the speech bound and back (at least 5 ms each, so a
        # piece cut at its bound does not click): the recording's breath and room tone around
        # the speech stay faint, and the bounds measured on the clip are the labelled ones.
        fade_in = min(max(s0 - a, round(_FADE_MS * ms)), len(cut) // 2)
        fade_out = min(max(b - s1, round(_FADE_MS * ms)), len(cut) // 2)
        if fade_in:
            cut[:fade_in] *= np.linspace(0.0, 1.0, fade_in, endpoint=False)
        if fade_out:
            cut[len(cut) - fade_out :] *= np.linspace(1.0, 0.0, fade_out + 1)[1:]
        layout.append((cursor - (s0 - a), cut))
        spans.append(Span(cursor / ms, (cursor + s1 - s0) / ms, "speech", text))
        end = max(end, cursor + (b - s0))
        cursor += s1 - s0
        words.extend(text.split())
        if source:
            sources.append(source)
        previous = "speech"
    total = max(end, cursor)
    mix = np.zeros(total, dtype=np.float64)
    for offset, piece_audio in layout:
        mix[offset : offset + len(piece_audio)] += piece_audio
    info = dict(meta or {})
    if sources:
        info.setdefault("source", sources)
    has_text = all(s.text for s in spans if s.label == "speech")
    return Clip(id, _int16(mix), tuple(spans), language,
                tuple(words) if has_text else None, info)  # fmt: skip


def _int16(x: npt.NDArray[np.float64]) -> Int16Array:
    """Float samples on the int16 scale, rounded and clipped (as_int16 reads floats as [-1, 1])."""
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def _rms(x: npt.NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def _speech_rms(clip: Clip, base: npt.NDArray[np.float64], ms: float) -> float:
    """The RMS of ``clip``'s speech spans (what an SNR is set against); a clip with none is
    refused, naming ``clip``."""
    speech = np.concatenate(
        [base[round(s.start_ms * ms) : round(s.end_ms * ms)] for s in clip.of("speech")]
        or [np.zeros(0)]
    )
    rms = _rms(speech)
    if rms == 0:
        raise _problem("clip", f"clip {clip.id!r} has no speech to set the SNR against")
    return rms


def overlay(
    clip: Clip,
    sound: Any,
    *,
    at_ms: float,
    snr_db: float,
    label: str = "backchannel",
    text: str = "",
    id: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Clip:
    """``clip`` with a short ``sound`` laid over an ``eot`` span, where the agent is replying.

    ``sound`` (24 kHz array, ``(array, rate)`` or :class:`Utterance`) is cut to its measured
    speech bounds (as in :func:`join`), starts at ``at_ms`` (inside an eot span, ending before
    that span ends) and is scaled so that ``snr_db = 20 log10(rms(speech) / rms(sound))``,
    where ``rms(speech)`` is over the clip's ``speech`` spans and ``rms(sound)`` over the cut
    sound: 0 dB is as loud as the person's speech, 10 dB ten dB quieter.

    ``label`` is ``backchannel`` (a "mm-hmm", cough or noise: must not stop the agent) or
    ``barge_in`` (real speech: must stop it). The new span runs from ``at_ms`` to the sound's
    end; the eot span now ends at ``at_ms``. After a barge-in the rest of the old eot span
    becomes a new ``eot`` (the interrupting turn ended there); after a backchannel it stays
    unlabelled. ``meta`` is merged into the clip's, and the sound's source added to its
    ``source`` list. Errors name the field (``label``, ``at_ms``, ``snr_db``, ``sound``).
    """
    if label not in ("backchannel", "barge_in"):
        raise _problem(
            "label",
            f"label: backchannel or barge_in needed, got {label!r}",
            "backchannel, barge_in",
        )
    if not _number(snr_db):
        raise _problem("snr_db", f"snr_db: a number of dB needed, got {snr_db!r}")
    if not _number(at_ms):
        raise _problem("at_ms", f"at_ms: a number of ms needed, got {at_ms!r}")
    ms = RATE / 1000
    start = round(at_ms * ms)
    at = start / ms
    eots = clip.of("eot")
    host = next((s for s in eots if s.start_ms <= at < s.end_ms), None)
    if host is None:
        where = ", ".join(f"{s.start_ms:.0f}-{s.end_ms:.0f}" for s in eots) or "none"
        raise _problem(
            "at_ms",
            f"at_ms: {at_ms} is inside no eot span of clip {clip.id!r} (eot spans: {where})",
        )
    samples, sound_text, source = _utterance(sound, "sound")
    bounds = speech_bounds(samples, RATE)
    if bounds is None:
        raise _problem("sound", "sound: all silence")
    cut = samples[round(bounds[0] * ms) : round(bounds[1] * ms)].astype(np.float64)
    stop = start + len(cut)
    if stop / ms > host.end_ms:
        raise _problem(
            "at_ms",
            f"at_ms: the sound ({len(cut) / ms:.0f} ms) from {at:.0f} ms runs past the eot span's "
            f"end ({host.end_ms:.0f} ms); start it before {host.end_ms - len(cut) / ms:.0f} ms",
        )
    base = clip.samples.astype(np.float64)
    speech_rms = _speech_rms(clip, base, ms)
    gain = speech_rms / 10 ** (snr_db / 20) / max(_rms(cut), 1e-9)
    scaled = cut * gain
    mixed = base.copy()
    mixed[start:stop] += scaled
    if np.abs(mixed[start:stop]).max() > 32767:
        raise _problem("snr_db", f"snr_db: {snr_db} dB would clip the sound; raise it")
    spans = [s for s in clip.spans if s is not host]
    if at > host.start_ms:
        spans.append(replace(host, end_ms=at))
    spans.append(Span(at, stop / ms, label, text or sound_text))  # type: ignore[arg-type]
    if label == "barge_in" and host.end_ms - stop / ms > 0:
        spans.append(Span(stop / ms, host.end_ms, "eot"))
    info = {**clip.meta, **(meta or {})}
    if source:
        have = info.get("source", [])
        info["source"] = [*([have] if isinstance(have, str) else have), source]
    return Clip(id or clip.id, _int16(mixed), tuple(spans), clip.language,
                clip.words, info)  # fmt: skip


_CROSSFADE_MS = 50.0  # where a looped noise recording meets itself


def with_noise(
    clip: Clip,
    noise: Any,
    snr_db: float,
    *,
    id: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Clip:
    """``clip`` with a background ``noise`` recording under all of it, at ``snr_db``.

    ``noise`` (24 kHz array, ``(array, rate)`` or :class:`Utterance`, at least 200 ms) is
    looped to the clip's length, each repeat meeting the last with a 50 ms equal-power
    crossfade, and scaled so that ``snr_db = 20 log10(rms(speech) / rms(noise))``, where
    ``rms(speech)`` is over the clip's ``speech`` spans before the noise is added and
    ``rms(noise)`` over the whole looped noise (the same in every span, since it is looped):
    the labels do not move. ``meta`` gets ``noise`` (the noise's source) and ``snr_db``, the
    noise's source joins the ``source`` list, and ``meta`` is merged in. Errors name the field
    (``snr_db``, ``noise``, ``clip``).
    """
    if not _number(snr_db):
        raise _problem("snr_db", f"snr_db: a number of dB needed, got {snr_db!r}")
    samples, _, source = _utterance(noise, "noise")
    ms = RATE / 1000
    fade = round(_CROSSFADE_MS * ms)
    if len(samples) < 4 * fade:
        raise _problem(
            "noise",
            f"noise: at least {4 * _CROSSFADE_MS:.0f} ms needed, got {len(samples) / ms:.0f} ms",
        )
    loop = samples.astype(np.float64)
    if _rms(loop) == 0:
        raise _problem("noise", "noise: all silence")
    n = len(clip.samples)
    ramp = np.sin(np.linspace(0.0, np.pi / 2, fade))  # equal power: sin^2 + cos^2 = 1
    bed = loop.copy()
    while len(bed) < n:
        head = bed[:-fade]
        joint = bed[-fade:] * ramp[::-1] + loop[:fade] * ramp
        bed = np.concatenate([head, joint, loop[fade:]])
    bed = bed[:n]
    base = clip.samples.astype(np.float64)
    speech_rms = _speech_rms(clip, base, ms)
    mixed = base + bed * (speech_rms / 10 ** (snr_db / 20) / _rms(bed))
    if np.abs(mixed).max() > 32767:
        raise _problem("snr_db", f"snr_db: {snr_db} dB would clip the mix; raise it")
    info = {**clip.meta, **(meta or {})}
    info["noise"] = source or "unnamed"
    info["snr_db"] = float(snr_db)
    if source:
        have = info.get("source", [])
        info["source"] = [*([have] if isinstance(have, str) else have), source]
    return Clip(id or clip.id, _int16(mixed), clip.spans, clip.language, clip.words, info)


@functools.cache
def _builtin() -> Suite:
    suite = Suite.from_folder(DATA / "suite", name="builtin")
    suite.licence = BUILTIN_LICENCE
    for clip in suite:
        clip.samples.setflags(write=False)  # shared by every caller: read-only
    return suite


def builtin_suite() -> Suite:
    """The suite that ships with the package: real speech, labelled (see ``evals/data/README.md``).

    Clips cut from Debian's codec2-examples recordings (LGPL-2.1-or-later) by
    ``scripts/make_eval_suite.py`` with :func:`join`, :func:`overlay` and :func:`with_noise`:
    turns with mid-turn holds of 400-1200 ms, clear ends of turn, backchannels (real short
    words) and a cough-like noise burst (synthetic, marked ``meta["synthetic"]``) laid over the
    agent's turn, barge-ins (real sentences), and two of the turns again under a real
    background talker 22-25 dB down (``meta["noise"]``, ``meta["snr_db"]``, ``meta["clean"]``
    names the clean clip), where Silero's probability in the pauses sits between 0.3 and 0.7
    and the threshold matters (on the clean clips it is near 0 or 1 and it does not).

    Where the agent is assumed to be speaking: the local agent replies with
    :func:`default_reply` (2.29 s), starting ~30-50 ms after ``silence_duration_ms`` has run out
    after the true end of the turn, so for any silence of 200-1500 ms it is playing from 1.55 s
    to 2.54 s after the true end. Every backchannel and barge-in starts 1.6-2.4 s after it
    (backchannels 1.7-2.1 s), and the eot span before each is at least 1.6 s, so no setting up
    to ~1500 ms misses that end of turn for lack of room. Outside that window (a silence under
    ~150 ms or over ~1550 ms, or a remote agent whose reply is shorter or later) the agent may
    be silent when the sound starts: the metrics then do not score that span
    (``false_barge_in_rate``, ``talk_over_rate`` pool fewer spans; ``n_backchannel`` /
    ``n_barge_in`` say how many were scored), and a silence longer than the eot span before
    the sound counts that end of turn as missed.

    Stored at 8 or 16 kHz, held at 24 kHz. Loaded on first call, then cached (the same object
    each time: do not mutate).
    """
    return _builtin()
