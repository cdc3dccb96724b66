"""Reply text cut into speakable pieces (server/reply/clauses.py): where it cuts, and that no
text is lost, whether it comes whole or in deltas."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_widgets.server.reply.clauses import ClauseSplitter, clauses
from realtime_widgets.server.reply.responder import sentence
from realtime_widgets.server.speech import ends_sentence

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
    # 10 words are 49 characters, 11 would be 54: the last space within 50
    assert [len(p.split()) for p in pieces[1:]] == [10, 10, 10, 10, 10, 10]


def test_a_first_clause_without_punctuation_is_cut_within_first_max_chars() -> None:
    text = " ".join(["word"] * 40)
    pieces = clauses(text, first_max_chars=30)
    assert pieces[0] == " ".join(["word"] * 6)  # 29 characters: 7 words would be 34
    assert clauses(" ".join(["word"] * 8), first_max_chars=29)[0] == " ".join(["word"] * 6)


# The limits the server uses (ClauseSplitter's defaults): first piece 100, later pieces 250.


def test_with_the_default_limits_no_piece_is_longer_than_its_limit() -> None:
    pieces = clauses("word " * 40)  # 199 characters, no boundary
    assert pieces == [" ".join(["word"] * 20), " ".join(["word"] * 20)]  # 99 each: 21 is 104
    pieces = clauses("So, this is short. " + "word " * 200)
    assert pieces[0] == "So, this is short."
    assert [len(p) for p in pieces[1:]] == [249, 249, 249, 249]  # 50 words; 51 would be 254


def test_with_the_default_limits_a_text_without_spaces_is_cut_inside_it() -> None:
    text = "x" * 600  # e.g. a long URL or a language written without spaces
    assert [len(p) for p in clauses(text)] == [100, 250, 250]
    assert "".join(clauses(text)) == text
    splitter = ClauseSplitter()
    streamed = [p for ch in text for p in splitter.feed(ch)]
    assert [len(p) for p in streamed] == [100, 250]  # spoken before the text has ended
    assert streamed + splitter.flush() == clauses(text)
    # A word too long for a piece, after short ones: they go first, then the word is cut.
    pieces = clauses("ab cd " + "y" * 300 + " end.")
    assert pieces == ["ab cd", "y" * 250, "y" * 50 + " end."]


def test_with_the_default_limits_a_first_boundary_needs_three_words() -> None:
    # "Well," and "Well, yes," have fewer than 3 words: the first piece runs to "on,".
    assert clauses("Well, yes, the canoe slid on, and on.") == [
        "Well, yes, the canoe slid on,",
        "and on.",
    ]


# ---- where a sentence ends: one rule (server/speech.py) for the splitter, the responder and Piper


@pytest.mark.parametrize(
    ("word", "ends", "ends_a_text"),
    [
        ("planks.", True, True),
        ("Really?!", True, True),
        ("so\u2026", True, True),
        ("Wait...", True, True),
        ('slid."', True, True),
        ("stop!)", True, True),
        ("now.}", True, True),
        ("now.\u00bb", True, True),
        ("now.\u201d", True, True),
        ("Dr.", False, True),
        ("(e.g.", False, True),
        ("U.S.", False, True),
        ("J.", False, True),
        ("3.5", False, False),
        ("slid,", False, False),
        ("\u00bb", False, False),
    ],
)
def test_where_a_sentence_ends(word: str, ends: bool, ends_a_text: bool) -> None:
    assert ends_sentence(word) is ends
    assert ends_sentence(word, last=True) is ends_a_text
    # The splitter cuts a later piece there (or not), with the same rule.
    pieces = clauses(f"So it is here. Then I came {word} and left.")
    assert (pieces[1] == f"Then I came {word}") is ends
    # The responder adds a full stop to a heard text only when it does not end as a sentence.
    assert (sentence(f"I came {word}") == f"I came {word}") is ends_a_text


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
    with pytest.raises(ValueError, match="max_chars must be at least 1, got 0"):
        ClauseSplitter(max_chars=0)


# Words, punctuation and whitespace in every arrangement, boundaries included; words run
# together when no space follows them, so some are longer than a piece may be.
WORDS = ["the", "canoe", "Dr.", "U.S.", "e.g.", "slid", "it's", "3.5", "\u2014", "-", "x"]
MARKS = [".", ",", ";", ":", "?", "!", "\u2026", '"', ")", "--", "Well,", "done.", "so:", "end!"]
LONG = ["z" * 45, "y" * 120]
TOKENS = st.sampled_from([*WORDS, *MARKS, *LONG])
SPACES = st.sampled_from([" ", "  ", "\n", " \n ", "\t", ""])
TEXT = st.lists(st.tuples(TOKENS, SPACES), max_size=80).map(
    lambda parts: "".join(t + s for t, s in parts)
)
# The server's limits (the defaults), and small ones that cut often.
LIMITS = st.sampled_from([{}, {"first_max_chars": 20, "long_chars": 30, "max_chars": 40}])
DEFAULTS = {"first_max_chars": 100, "max_chars": 250}


def check_pieces(text: str, pieces: list[str], min_words: int, limits: dict[str, int]) -> None:
    """The pieces, each followed by its separator in the text (a space, or nothing where a
    word too long for a piece was cut), are the text with its whitespace normalised; none is
    longer than its limit; each but the last has ``min_words`` words unless its limit ended it
    (its next word would not fit)."""
    rest = " ".join(text.split())
    for n, piece in enumerate(pieces):
        limit = {**DEFAULTS, **limits}["max_chars" if n else "first_max_chars"]
        assert piece
        assert piece == piece.strip()
        assert len(piece) <= limit
        assert rest.startswith(piece)
        rest = rest[len(piece) :]
        if not rest:
            assert n == len(pieces) - 1
            break
        inside_a_word = not rest.startswith(" ")
        if inside_a_word:
            assert " " not in piece  # the word alone is too long
            assert len(piece) == limit
        rest = rest.removeprefix(" ")
        next_word = rest.split()[0]
        ended_by_limit = inside_a_word or len(piece) + 1 + len(next_word) > limit
        assert len(piece.split()) >= min_words or ended_by_limit
    assert rest == ""


def test_the_check_knows_a_cut_inside_a_word_from_a_lost_space() -> None:
    check_pieces("x" * 150, ["x" * 100, "x" * 50], 3, {})
    with pytest.raises(AssertionError):
        check_pieces("ab" + "x" * 150, ["ab", "x" * 150], 3, {})  # "ab" had no space after it
    with pytest.raises(AssertionError):
        check_pieces("ab cd", ["ab", "cd"], 3, {})  # a short piece its limit did not end


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=4), LIMITS)
def test_pieces_join_back_to_the_text_and_none_is_empty(
    text: str, min_words: int, limits: dict[str, int]
) -> None:
    check_pieces(text, clauses(text, min_words=min_words, **limits), min_words, limits)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.lists(st.integers(min_value=0, max_value=400), max_size=10), LIMITS)
def test_any_deltas_give_the_same_pieces_as_the_whole_text(
    text: str, cuts: list[int], limits: dict[str, int]
) -> None:
    bounds = sorted({min(c, len(text)) for c in cuts})
    deltas = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)], strict=True)]
    splitter = ClauseSplitter(**limits)
    streamed = [p for d in deltas for p in splitter.feed(d)] + splitter.flush()
    assert streamed == clauses(text, **limits)
