"""A reply that arrives in pieces (``reply_piece`` ... ``reply_end``), driven on a fake clock:
one continuous audio timeline, OpenAI's events (checked by the SDK, no exemptions), the first
audio out before the last piece is made, and every way a response ends while pieces still come:
cancel, barge-in and truncate, max_output_tokens, a function call after the text, a
responder's failure, a synthesiser slower than real time."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from realtime_widgets.server.engine import EngineOptions, SessionEngine
from realtime_widgets.server.reply.material import ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import FunctionCall, ResponderError
from realtime_widgets.server.tts import Speech
from tests.protocol.sdk_oracle import check_server_event

from .conftest import Clip, b64

STEP = 0.01  # the fake clock's tick: 10 ms


def tone(ms: int, level: int) -> np.ndarray:
    """``ms`` of a constant signal at ``level``: each piece's audio is recognisable."""
    return np.full(ms * 24, level, dtype=np.int16)


def piece(text: str, ms: int = 1000, level: int = 1000) -> ReplyPiece:
    """A clause and its speech: ``ms`` of audio, its words spread evenly over it."""
    words = text.split()
    return ReplyPiece(
        text, Speech(tone(ms, level), 24000, tuple(ms * i / len(words) for i in range(len(words))))
    )


class Stream:
    """A session engine on a fake clock whose replies the test hands over piece by piece,
    recording when each event was released."""

    def __init__(self, **options: Any) -> None:
        self.engine = SessionEngine(
            options=EngineOptions(
                **{"pace": 1.0, "lead": 0.0, "wall_clock": lambda: 0.0, **options}
            ),
            session_id="sess_stream01",
        )
        self.now = 0.0
        self.log: list[tuple[float, dict[str, Any]]] = []
        self._keep(self.engine.start(0.0))

    def _keep(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for event in events:
            check_server_event(event)  # nothing OpenAI would not send
            self.log.append((self.now, event))
        return events

    def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return self._keep(self.engine.receive(json.dumps(event), self.now))

    def say(self, text: str) -> None:
        self.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )

    def create(self, response: dict[str, Any] | None = None) -> ReplyRequest:
        self.send({"type": "response.create", **({"response": response} if response else {})})
        (request,) = self.engine.take_requests()
        return request

    def piece(self, request: ReplyRequest, p: ReplyPiece | FunctionCall) -> list[dict[str, Any]]:
        return self._keep(self.engine.reply_piece(request, p, self.now))

    def end(self, request: ReplyRequest, failure: ResponderError | None = None) -> None:
        self._keep(self.engine.reply_end(request, self.now, failure))

    def run_until(self, t: float) -> None:
        """Tick the clock to ``t`` in 10 ms steps, as the server's ticker would."""
        while self.now < t - 1e-9:
            self.now = round(self.now + STEP, 6)
            self._keep(self.engine.tick(self.now))

    def append(self, samples: np.ndarray) -> None:
        """Append audio in 40 ms chunks in real time (the clock moves with it)."""
        for i in range(0, len(samples), 960):
            self.now = round(self.now + 0.04, 6)
            self.send({"type": "input_audio_buffer.append", "audio": b64(samples[i : i + 960])})
            self._keep(self.engine.tick(self.now))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for _, e in self.log if e["type"] == kind]

    def times(self, kind: str) -> list[float]:
        return [t for t, e in self.log if e["type"] == kind]

    def types(self) -> list[str]:
        return [e["type"] for _, e in self.log]

    def audio(self) -> np.ndarray:
        data = b"".join(
            base64.b64decode(e["delta"]) for e in self.of("response.output_audio.delta")
        )
        return np.frombuffer(data, dtype="<i2")

    def transcript_sent(self) -> str:
        return "".join(e["delta"] for e in self.of("response.output_audio_transcript.delta"))


@pytest.fixture
def s() -> Iterator[Stream]:
    stream = Stream()
    yield stream
    stream.engine.close()


def response_events(s: Stream) -> list[str]:
    kinds = s.types()
    return kinds[kinds.index("response.created") :]


def test_pieces_make_one_continuous_timeline_with_openais_events(s: Stream) -> None:
    s.say("count")
    request = s.create()
    parts = [
        piece("one two", level=100),
        piece("three four", level=200),
        piece("five six", level=300),
    ]
    s.piece(request, parts[0])  # t = 0: the first clause is spoken
    s.run_until(0.3)
    assert s.of("response.output_audio.delta"), "the first audio waits for no later piece"
    first_audio_at = s.times("response.output_audio.delta")[0]
    s.piece(request, parts[1])
    s.run_until(0.6)
    s.piece(request, parts[2])  # the last piece arrives at 0.6 s
    assert first_audio_at == 0.0 < 0.6
    s.end(request)
    s.run_until(4.0)
    kinds = response_events(s)
    n_audio = kinds.count("response.output_audio.delta")
    n_words = kinds.count("response.output_audio_transcript.delta")
    assert n_audio == 30
    assert n_words == 6
    deltas = {"response.output_audio.delta", "response.output_audio_transcript.delta"}
    assert [k for k in kinds if k not in deltas] == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    # One continuous audio timeline: the pieces' samples in order, one 100 ms delta every
    # 100 ms of the clock (strictly real time, lead 0), no gap and no overlap between pieces.
    expected = np.concatenate([p.speech.samples for p in parts if p.speech is not None])
    assert np.array_equal(s.audio(), expected)
    times = s.times("response.output_audio.delta")
    assert np.allclose(np.diff(times), 0.1)
    # Each word when its audio starts, on the item's timeline.
    word_times = s.times("response.output_audio_transcript.delta")
    assert np.allclose(word_times, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    transcript = "one two three four five six"
    assert s.transcript_sent() == transcript
    assert s.of("response.output_audio_transcript.done")[0]["transcript"] == transcript
    assert s.times("response.done") == [3.0]
    done = s.of("response.done")[0]["response"]
    assert done["status"] == "completed"
    (item,) = done["output"]
    assert item["status"] == "completed"
    assert item["content"] == [{"type": "output_audio", "transcript": transcript}]
    assert done["usage"]["output_token_details"]["audio_tokens"] == 60  # 3 s at 20 a second
    # The conversation holds the item as sent: 3 s of audio and the whole transcript.
    (retrieved,) = s.send({"type": "conversation.item.retrieve", "item_id": item["id"]})
    part = retrieved["item"]["content"][0]
    assert part["transcript"] == transcript
    assert len(base64.b64decode(part["audio"])) == 3000 * 48


def test_a_synthesiser_slower_than_real_time_leaves_gaps_never_overlap(s: Stream) -> None:
    s.say("slowly")
    request = s.create()
    s.piece(request, piece("one", 500, 100))
    s.run_until(1.0)  # 0.5 s of audio played out by 0.5 s; the next clause comes at 1.0 s
    s.piece(request, piece("two", 500, 200))
    s.run_until(1.7)
    s.piece(request, piece("three", 500, 300))  # 0.2 s after the audio before it ended
    s.end(request)
    s.run_until(4.0)
    times = s.times("response.output_audio.delta")
    assert np.allclose(
        times, [0.0, 0.1, 0.2, 0.3, 0.4, 1.0, 1.1, 1.2, 1.3, 1.4, 1.7, 1.8, 1.9, 2.0, 2.1]
    )
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times))  # no overlap
    assert np.array_equal(s.audio()[: 500 * 24], tone(500, 100))
    assert np.array_equal(s.audio()[500 * 24 : 1000 * 24], tone(500, 200))
    assert s.times("response.done") == [2.2]
    assert s.of("response.done")[0]["response"]["status"] == "completed"


def test_a_piece_that_comes_in_time_is_not_delayed_by_the_one_before(s: Stream) -> None:
    """With a lead, a piece made while the one before still plays keeps the lead: what is due
    goes out at once."""
    stream = Stream(lead=0.5)
    try:
        stream.say("lead")
        request = stream.create()
        stream.piece(request, piece("one", 1000, 100))
        assert len(stream.of("response.output_audio.delta")) == 6  # 0.5 s lead + the chunk at it
        stream.run_until(0.8)
        stream.piece(request, piece("two", 1000, 200))  # due from 0.5 s on: 0.3 s late
        times = stream.times("response.output_audio.delta")
        assert len(times) == 14  # everything due by 0.8 s + lead, at once: no gap opened
        stream.end(request)
        stream.run_until(3.0)
        assert stream.times("response.done") == [1.5]
    finally:
        stream.engine.close()


def test_cancel_between_pieces_ends_where_it_stands_and_ignores_later_pieces(s: Stream) -> None:
    s.say("go on")
    request = s.create()
    s.piece(request, piece("one two", 1000))
    s.run_until(1.5)  # all of the first piece played; the second is still being made
    assert s.engine.wants_reply(request)
    cancelled = s.send({"type": "response.cancel"})
    assert [e["type"] for e in cancelled] == ["response.output_item.done", "response.done"]
    done = cancelled[-1]["response"]
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["output"][0]["status"] == "incomplete"
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": "one two"}]
    assert not s.engine.wants_reply(request)
    assert s.piece(request, piece("three four")) == []  # a late piece: ignored
    s.end(request)
    s.run_until(3.0)
    assert s.types()[-1] == "response.done"
    assert len(s.of("response.done")) == 1
    later = s.create()  # the session goes on
    s.piece(later, piece("again", 200))
    s.end(later)
    s.run_until(4.0)
    assert s.of("response.done")[-1]["response"]["status"] == "completed"


def test_a_barge_in_mid_stream_cancels_and_truncate_keeps_what_was_heard(three_turns: Clip) -> None:
    s = Stream()
    try:
        s.send({"type": "session.update", "session": {"type": "realtime"}})  # server VAD on
        s.say("talk")
        request = s.create()
        s.piece(request, piece("one two three four", 2000, 100))
        s.append(np.zeros(24 * 1000, dtype=np.int16))  # silence while it plays
        s.piece(request, piece("five six seven eight", 2000, 200))  # at 1 s
        s.append(np.zeros(24 * 1600, dtype=np.int16))
        start = int(three_turns.truth[0][0] * 24)
        s.append(three_turns.samples[start - 4800 : start + 24000])
        done = s.of("response.done")
        assert done, "the user's speech cancels the reply"
        response = done[0]["response"]
        assert response["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
        kinds = s.types()
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.done")
        item = response["output"][0]
        assert item["status"] == "incomplete"
        sent = s.transcript_sent()
        assert item["content"] == [{"type": "output_audio", "transcript": sent}]
        assert sent.startswith("one two three four five")  # into the second piece
        assert s.piece(request, piece("nine ten")) == []  # still coming: ignored
        heard_ms = 2300  # the client played this much before the user spoke over it
        (truncated,) = s.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item["id"],
                "content_index": 0,
                "audio_end_ms": heard_ms,
            }
        )
        assert truncated["type"] == "conversation.item.truncated"
        (retrieved,) = s.send({"type": "conversation.item.retrieve", "item_id": item["id"]})
        part = retrieved["item"]["content"][0]
        assert len(base64.b64decode(part["audio"])) == heard_ms * 48
        assert part["transcript"] == "one two three four five"  # words started before 2.3 s
    finally:
        s.engine.close()


def test_max_output_tokens_cuts_across_pieces_and_drops_the_rest(s: Stream) -> None:
    s.say("long")
    request = s.create({"max_output_tokens": 50})
    s.piece(request, piece("alpha beta", 1000))  # 3 text + 20 audio tokens
    s.piece(request, piece("gamma delta", 1000))  # 46 in all
    assert s.engine.wants_reply(request)
    s.piece(request, piece("epsilon zeta", 1000))  # past 50: cut, the response ends
    assert not s.engine.wants_reply(request)
    assert s.piece(request, piece("eta theta")) == []
    s.end(request)
    s.run_until(4.0)
    done = s.of("response.done")[0]["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert done["usage"]["output_tokens"] <= 50
    assert done["output"][0]["status"] == "incomplete"
    cut_ms = len(s.audio()) / 24
    assert 2000 < cut_ms < 2250  # the first two pieces whole, a share of the third
    transcript = s.of("response.output_audio_transcript.done")[0]["transcript"]
    assert transcript == "alpha beta gamma delta" == s.transcript_sent()


TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_text_then_a_function_call_are_two_output_items_in_order(s: Stream) -> None:
    s.send({"type": "session.update", "session": {"type": "realtime", "tools": [TOOL]}})
    s.say("weather in Oslo?")
    user_id = s.engine.conversation.last_id
    request = s.create()
    s.piece(request, piece("Let me look,", 600))
    s.piece(request, piece("one moment.", 600))
    s.piece(request, FunctionCall("get_weather", {"city": "Oslo"}))
    assert not s.engine.wants_reply(request)  # the call is the reply's last chunk
    s.end(request)
    s.run_until(3.0)
    done = s.of("response.done")[0]["response"]
    assert done["status"] == "completed"
    message, call = done["output"]
    assert (message["type"], call["type"]) == ("message", "function_call")
    assert message["content"] == [
        {"type": "output_audio", "transcript": "Let me look, one moment."}
    ]
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Oslo"})
    kinds = response_events(s)
    # The message is finished before the call's item is added.
    item_events = [
        (e["type"], e.get("output_index"), e["item"]["type"])
        for _, e in s.log
        if e["type"] in ("response.output_item.added", "response.output_item.done")
    ]
    assert item_events == [
        ("response.output_item.added", 0, "message"),
        ("response.output_item.done", 0, "message"),
        ("response.output_item.added", 1, "function_call"),
        ("response.output_item.done", 1, "function_call"),
    ]
    assert kinds.index("response.output_audio.done") < kinds.index(
        "response.function_call_arguments.delta"
    )
    args = s.of("response.function_call_arguments.done")[0]
    assert (args["output_index"], args["item_id"]) == (1, call["id"])
    added = s.of("conversation.item.added")
    assert [a["previous_item_id"] for a in added[-2:]] == [user_id, message["id"]]
    assert s.engine.conversation.order[-2:] == [message["id"], call["id"]]
    # The call's output, then the next response answers it.
    s.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call["call_id"], "output": "4 C"},
        }
    )
    assert s.engine.conversation.order[-3:] == [
        message["id"],
        call["id"],
        s.engine.conversation.last_id,
    ]
    following = s.create()
    assert following.context.last_tool_output == ("get_weather", "4 C")
    s.piece(following, piece("It is 4 degrees.", 500))
    s.end(following)
    s.run_until(5.0)
    assert s.of("response.done")[-1]["response"]["status"] == "completed"


def test_a_function_call_alone_is_one_output_item(s: Stream) -> None:
    s.send({"type": "session.update", "session": {"type": "realtime", "tools": [TOOL]}})
    s.say("Oslo")
    request = s.create()
    s.piece(request, FunctionCall("get_weather", {"city": "Oslo"}))
    s.run_until(1.0)
    (call,) = s.of("response.done")[0]["response"]["output"]
    assert call["type"] == "function_call"
    assert s.of("response.output_item.added")[0]["output_index"] == 0


def test_a_responder_error_mid_stream_fails_the_response_and_the_session_goes_on(s: Stream) -> None:
    s.say("hi")
    request = s.create()
    s.piece(request, piece("Hello there,", 800))
    s.run_until(0.3)
    s.end(
        request, ResponderError("upstream_error", "The chat endpoint answered 502.", "server_error")
    )
    assert not s.engine.wants_reply(request)
    s.run_until(2.0)
    done = s.of("response.done")[0]["response"]
    assert done["status"] == "failed"
    assert done["status_details"] == {
        "type": "failed",
        "error": {
            "type": "server_error",
            "code": "upstream_error",
            "message": "The chat endpoint answered 502.",
        },
    }
    # What was said stays said: the clause's audio played out, then the response failed.
    assert len(s.audio()) == 800 * 24
    assert s.times("response.done") == [0.8]
    (item,) = done["output"]
    assert item["status"] == "incomplete"
    assert item["content"] == [{"type": "output_audio", "transcript": "Hello there,"}]
    assert s.of("response.output_item.done")[0]["item"]["status"] == "incomplete"
    later = s.create()  # the next response.create works
    s.piece(later, piece("Again.", 300))
    s.end(later)
    s.run_until(3.0)
    assert s.of("response.done")[-1]["response"]["status"] == "completed"


def test_a_responder_error_before_any_piece_fails_at_once(s: Stream) -> None:
    request = s.create()
    s.end(
        request,
        ResponderError("model_not_found", "No model 'x' at the endpoint.", "invalid_request_error"),
    )
    (done,) = s.of("response.done")
    assert done["response"]["output"] == []
    assert done["response"]["status_details"]["error"]["code"] == "model_not_found"


def test_text_pieces_become_output_text_deltas(s: Stream) -> None:
    s.send(
        {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
    )
    request = s.create()
    s.piece(request, ReplyPiece("Hello there,"))
    s.run_until(1.0)
    s.piece(request, ReplyPiece("how are you?"))
    s.end(request)
    s.run_until(2.0)
    deltas = s.of("response.output_text.delta")
    assert [d["delta"] for d in deltas] == ["Hello", " there,", " how", " are", " you?"]
    assert np.allclose(s.times("response.output_text.delta"), [0.0, 0.02, 1.0, 1.02, 1.04])
    assert s.of("response.output_text.done")[0]["text"] == "Hello there, how are you?"
    assert s.of("response.done")[0]["response"]["output"][0]["content"] == [
        {"type": "output_text", "text": "Hello there, how are you?"}
    ]


def test_a_word_timed_past_its_clauses_audio_is_said_with_its_last_audio(s: Stream) -> None:
    """A synthesiser's word time past its clause's audio (an estimate) never puts the word
    after the next clause's audio: events stay in the timeline's order."""
    request = s.create()
    s.piece(request, ReplyPiece("one two", Speech(tone(500, 100), 24000, (0.0, 900.0))))
    s.piece(request, piece("three", 500, 200))
    s.end(request)
    s.run_until(2.0)
    assert s.transcript_sent() == "one two three"
    assert np.allclose(s.times("response.output_audio_transcript.delta"), [0.0, 0.5, 0.5])
    kinds = s.types()
    assert kinds.index("response.output_audio_transcript.delta") < kinds.index(
        "response.output_audio.delta"
    )
    times = [t for t, _ in s.log]
    assert times == sorted(times)


def test_a_truncate_while_pieces_still_come_holds_for_the_later_ones(s: Stream) -> None:
    """conversation.item.truncate does not stop a response; what the server keeps of the item
    is what was heard, however many pieces come after it."""
    s.say("go")
    request = s.create()
    s.piece(request, piece("one two", 1000, 100))
    s.run_until(0.9)
    item_id = s.of("response.output_item.added")[0]["item"]["id"]
    (truncated,) = s.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 700,
        }
    )
    assert truncated["type"] == "conversation.item.truncated"
    s.piece(request, piece("three four", 1000, 200))
    s.end(request)
    s.run_until(3.0)
    assert s.transcript_sent() == "one two three four"  # the wire goes on to the end
    assert s.of("response.done")[0]["response"]["status"] == "completed"
    (retrieved,) = s.send({"type": "conversation.item.retrieve", "item_id": item_id})
    part = retrieved["item"]["content"][0]
    assert len(base64.b64decode(part["audio"])) == 700 * 48
    assert part["transcript"] == "one two"  # "two" starts at 500 ms, "three" after the cut
