"""The honest default: it quotes what the server heard ("I heard: ..."), says what it measured,
never pretends to be a model, and ends a quote with exactly one end mark."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import ServerVad
from realtime_widgets.server.reply.responder import (
    LocalResponder,
    ReplyContext,
    last_user_transcript,
    sentence,
)

ENDS = (".", "!", "?", "\u2026")


def spoken(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def typed(text: str) -> dict[str, Any]:
    return {
        "id": "item_t",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


def context(
    conversation: list[dict[str, Any]],
    transcripts: dict[str, str] | None = None,
    speech_ms: float | None = 2340.0,
    text: str | None = None,
) -> ReplyContext:
    return ReplyContext(
        config=SessionConfig(
            turn_detection=ServerVad(threshold=0.6, silence_duration_ms=700), voice="marin"
        ),
        conversation=conversation,
        instructions=None,
        last_user_text=text,
        last_user_speech_ms=speech_ms,
        transcripts=transcripts or {},
    )


def test_it_quotes_what_the_server_heard_with_what_it_measured() -> None:
    ctx = context(
        [spoken("item_1")], transcripts={"item_1": " The birch canoe slid on the smooth planks "}
    )
    assert LocalResponder()(ctx) == (
        "I heard: The birch canoe slid on the smooth planks. You spoke for 2.3 seconds; this "
        "local server has no language model to answer. Turn detection is server VAD, "
        "threshold 0.6, silence 700 milliseconds. Voice marin at speed 1."
    )


def test_the_servers_transcript_wins_over_the_items_own() -> None:
    ctx = context([spoken("item_1", "from the session's transcription")], {"item_1": "Hello."})
    assert last_user_transcript(ctx) == "Hello."
    assert str(LocalResponder()(ctx)).startswith("I heard: Hello. You spoke for 2.3 seconds;")


def test_the_items_own_transcript_is_quoted_when_the_server_has_none() -> None:
    ctx = context([spoken("item_1", "What's the weather now?")], text="What's the weather now?")
    assert str(LocalResponder()(ctx)).startswith("I heard: What's the weather now? You spoke")


def test_a_recogniser_that_made_out_no_words_says_so() -> None:
    reply = str(LocalResponder()(context([spoken("item_1")], {"item_1": "  "})))
    assert reply.startswith(
        "You spoke for 2.3 seconds, but the speech recogniser made out no words."
    )
    assert "I heard" not in reply


def test_without_a_transcriber_it_says_it_cannot_tell() -> None:
    reply = str(LocalResponder()(context([spoken("item_1")])))
    assert reply.startswith(
        "You spoke for 2.3 seconds. This local server has no speech recogniser and no "
        "language model, so it cannot tell what you said."
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("what's the weather", "You said: what's the weather. Turn"),
        ("what's the weather.", "You said: what's the weather. Turn"),
        ("now?", "You said: now? Turn"),
        ("wow!", "You said: wow! Turn"),
        ('she said "go."', 'You said: she said "go." Turn'),
        ("well\u2026", "You said: well\u2026 Turn"),
    ],
)
def test_typed_text_is_quoted_with_one_end_mark(text: str, said: str) -> None:
    reply = str(LocalResponder()(context([typed(text)], speech_ms=None, text=text)))
    assert reply.startswith(said)


@given(st.text())
def test_sentence_adds_a_full_stop_only_when_no_end_mark_is_there(text: str) -> None:
    out = sentence(text)
    core = text.strip()
    if not core:
        assert out == ""
    elif core.rstrip("\"')]}\u201d\u2019\u00bb").endswith(ENDS):
        assert out == core
    else:
        assert out == f"{core}."
    # Never a doubled mark made by us: whatever we add follows no end mark.
    assert not (out != core and core.endswith(ENDS))


@given(st.text(min_size=1).filter(lambda t: t.strip()), st.sampled_from(ENDS))
def test_a_quote_that_ends_a_sentence_is_left_as_it_is(text: str, end: str) -> None:
    assert sentence(text + end) == (text + end).strip()
