"""Reply text cut into speakable pieces (server/reply/clauses.py): where it cuts, and that no
text is lost, whether it comes whole or in deltas."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_widgets.server.reply.clauses import ClauseSplitter, clauses

PARAGRAPH = (
    "Sure, I can help with that. The birch canoe slid on the smooth planks, and the sheet was "
    "glued to the dark blue background. It's easy to tell the depth of a well. Four hours of "
    "steady work faced us."
)


def test_the_first_piece_is_a_clause_then_whole_sentences() -> None:
    assert clauses(PARAGRAPH) == [
        "Sure, I can help with that.",
        "The birch canoe slid on the smooth planks, and the sheet was glued to the dark blue "
        "background.",
        "It's easy to tell the depth of a well.",
        "Four hours of steady work faced us.",
    ]


def test_the_first_clause_boundary_with_enough_words_ends_the_first_piece() -> None:
    text = "Well, the birch canoe slid on the smooth planks; the sheet was glued down."
    # "Well," is one word: too short to speak alone, so the first piece runs to the ";".
    assert clauses(text) == [
        "Well, the birch canoe slid on the smooth planks;",
        "the sheet was glued down.",
    ]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("The canoe slid, then it stopped.", "The canoe slid,"),
        ("The canoe slid: then it stopped.", "The canoe slid:"),
        ("The canoe slid — then it stopped.", "The canoe slid —"),
        ("The canoe slid - then it stopped.", "The canoe slid -"),
        ('He said "the canoe slid." Then it stopped.', 'He said "the canoe slid."'),
        ("Did the canoe slide? It did.", "Did the canoe slide?"),
        ("The canoe slid\nthen it stopped.", "The canoe slid"),
    ],
)
def test_each_kind_of_boundary_ends_the_first_piece(text: str, first: str) -> None:
    assert clauses(text)[0] == first


def test_abbreviations_and_initials_end_no_sentence() -> None:
    text = "We met Dr. Smith of the U.S. Navy and J. Doe, e.g. at noon. Then we left for home."
    assert clauses(text) == [
        "We met Dr. Smith of the U.S. Navy and J. Doe,",
        "e.g. at noon.",
        "Then we left for home.",
    ]


def test_later_pieces_cut_at_clauses_only_when_long_and_anywhere_when_very_long() -> None:
    long_sentence = ", ".join(["the canoe slid on the planks"] * 8) + "."
    pieces = clauses("So, this is short. " + long_sentence, long_chars=60, max_chars=90)
    assert pieces[0] == "So, this is short."
    assert all(len(p) <= 90 for p in pieces[1:])
    assert all(p.endswith((",", ".")) for p in pieces[1:])
    no_commas = " ".join(["word"] * 60)
    pieces = clauses("So, this is short. " + no_commas, max_chars=50)
    # 11 words are 54 characters: the first space past 50; the rest is the last piece
    assert [len(p.split()) for p in pieces[1:]] == [11, 11, 11, 11, 11, 5]


def test_a_first_clause_without_punctuation_is_cut_past_first_max_chars() -> None:
    text = " ".join(["word"] * 40)
    pieces = clauses(text, first_max_chars=30)
    assert pieces[0] == " ".join(["word"] * 7)  # 34 characters: the first space past 30


def test_a_short_reply_is_one_piece_and_blank_text_none() -> None:
    assert clauses("Yes.") == ["Yes."]
    assert clauses("OK, sure.") == ["OK, sure."]
    assert clauses("  \n ") == []


def test_streaming_gives_pieces_as_soon_as_they_are_complete() -> None:
    splitter = ClauseSplitter()
    assert splitter.feed("Sure, I can help") == []
    assert splitter.feed(" with that.") == []  # a period may be an abbreviation's: wait
    assert splitter.feed(" The") == ["Sure, I can help with that."]
    assert splitter.feed(" canoe slid, and stopped") == []  # later pieces are sentences
    assert splitter.feed(".\n") == ["The canoe slid, and stopped."]
    assert splitter.flush() == []
    assert splitter.feed("Again, a new text starts short.") == []
    assert splitter.flush() == ["Again, a new text starts short."]


def test_min_words_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_words must be at least 1, got 0"):
        ClauseSplitter(min_words=0)


# Words, punctuation and whitespace in every arrangement, boundaries included.
WORDS = ["the", "canoe", "Dr.", "U.S.", "e.g.", "slid", "it's", "3.5", "\u2014", "-", "x"]
MARKS = [".", ",", ";", ":", "?", "!", "\u2026", '"', ")", "--", "Well,", "done.", "so:", "end!"]
TOKENS = st.sampled_from([*WORDS, *MARKS])
SPACES = st.sampled_from([" ", "  ", "\n", " \n ", "\t", ""])
TEXT = st.lists(st.tuples(TOKENS, SPACES), max_size=80).map(
    lambda parts: "".join(t + s for t, s in parts)
)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=4))
def test_pieces_join_back_to_the_text_and_none_is_empty(text: str, min_words: int) -> None:
    pieces = clauses(text, min_words=min_words)
    assert " ".join(pieces) == " ".join(text.split())
    assert all(p and p == p.strip() for p in pieces)
    assert all(len(p.split()) >= min_words for p in pieces[:-1])


@settings(max_examples=300, deadline=None)
@given(TEXT, st.lists(st.integers(min_value=0, max_value=400), max_size=10))
def test_any_deltas_give_the_same_pieces_as_the_whole_text(text: str, cuts: list[int]) -> None:
    bounds = sorted({min(c, len(text)) for c in cuts})
    deltas = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)], strict=True)]
    splitter = ClauseSplitter()
    streamed = [p for d in deltas for p in splitter.feed(d)] + splitter.flush()
    assert streamed == clauses(text)
