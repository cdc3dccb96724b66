"""Which voice speaks which language (server/speech.py voice_for_language, tts.py's eSpeak NG
languages): English is the server's own voice (Piper when installed), any other language
eSpeak NG's voice of that language, and a language no voice speaks has no voice, never the
English one. The voices are loaded when the server starts, on its voice pool."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from realtime_widgets.server import tts
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.speech import (
    LanguageVoice,
    Speech,
    SynthesisUnavailable,
    Voices,
    voice_for_language,
)
from realtime_widgets.server.tts import EspeakLanguageVoice, Synthesizer, load_voices
from tests.speech import envelope_similarity, espeak_ng_command

from .test_voice import piper_or_skip


class English:
    """A voice that speaks English only (as Piper's packaged voice does), recording its calls."""

    description = "an English test voice"

    def __init__(self) -> None:
        self.said: list[str] = []

    def speak(
        self, text: str, voice: str = "alloy", speed: float = 1.0, rate: int = 24000
    ) -> Speech:
        self.said.append(text)
        return Speech(np.zeros(2400, np.int16), rate, (0.0,))


# ISO-639-1 codes (a region allowed) -> eSpeak NG's voice file for them.
ESPEAK_VOICES = {
    "es": "roa/es",
    "fr": "roa/fr",
    "de": "gmw/de",
    "it": "roa/it",
    "pt": "roa/pt",
    "pt-BR": "roa/pt-BR",
    "es-MX": "roa/es-419",
    "fr-CA": "roa/fr",  # no Canadian voice: French
    "ja": "jpx/ja",
    "zh": "sit/cmn",  # Mandarin
    "ru": "zle/ru",
    "hi": "inc/hi",
}


@pytest.mark.parametrize(("language", "identifier"), sorted(ESPEAK_VOICES.items()))
def test_espeak_has_the_voice_of_each_common_target_language(
    synth: Synthesizer, language: str, identifier: str
) -> None:
    assert synth.voice_id(language) == identifier
    voice = synth.in_language(language)
    assert isinstance(voice, EspeakLanguageVoice)
    assert voice.identifier == identifier
    assert identifier in voice.description
    # Each OpenAI voice name keeps its variant of VOICE_MAP on the language's voice.
    assert voice.espeak_voice("alloy") == f"{identifier}+m3"
    assert voice.espeak_voice("coral") == f"{identifier}+f3"
    assert voice.espeak_voice("no-such-voice") == f"{identifier}+m3"


def test_espeak_has_no_voice_for_some_languages(synth: Synthesizer) -> None:
    assert len(synth.languages) > 100
    for language in ("yo", "zu", "so"):  # Yoruba, Zulu, Somali
        assert synth.voice_id(language) is None
        assert synth.in_language(language) is None


def test_an_unknown_espeak_voice_is_an_error_not_the_last_voice(synth: Synthesizer) -> None:
    """eSpeak keeps the voice it had when a name is unknown: the synthesiser refuses instead
    of speaking Spanish text with whichever voice spoke last."""
    synth.speak("Hello.")  # English last
    with pytest.raises(ValueError, match="eSpeak NG has no voice 'roa/xx\\+m3'"):
        synth.speak_as("Hola.", "roa/xx+m3")


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("es", "Una frase traducida, por favor."),
        ("fr", "Une phrase traduite, s'il vous plaît."),
        ("de", "Ein übersetzter Satz, bitte."),
    ],
)
def test_a_languages_voice_speaks_its_phonetics_not_englishs(
    synth: Synthesizer, language: str, text: str
) -> None:
    """The language's voice sounds as eSpeak's voice of that language (Debian's espeak-ng
    command, outside the server, when installed; the library otherwise) and unlike its English
    voice reading the same text (English phonemes and durations)."""
    voice = synth.in_language(language)
    assert voice is not None
    spoken = voice.speak(text, "alloy").samples
    english = synth.speak(text, "alloy").samples
    command = espeak_ng_command(text, f"{language}+m3")
    reference = command if command is not None else synth.speak_as(text, f"{language}+m3").samples
    assert envelope_similarity(spoken, reference) > 0.8  # (renders vary by up to ~25 ms)
    assert envelope_similarity(spoken, english) < 0.5
    english_command = espeak_ng_command(text, "en-us+m3")
    if english_command is not None:
        assert envelope_similarity(spoken, english_command) < 0.5


def test_english_is_the_servers_own_voice_and_other_languages_espeaks(synth: Synthesizer) -> None:
    own = English()
    voices = Voices(own, "speaking with an English test voice", synth, "other languages")
    for language in ("en", "en-GB", "EN_us"):
        chosen = voice_for_language(language, voices)
        assert chosen == LanguageVoice(language, own, "speaking with an English test voice")
    for language, identifier in (("es", "roa/es"), ("fr", "roa/fr"), ("ja", "jpx/ja")):
        chosen = voice_for_language(language, voices)
        assert isinstance(chosen.synthesizer, EspeakLanguageVoice)
        assert chosen.synthesizer.identifier == identifier
        assert not chosen.unsupported
    # A language eSpeak has no voice for: no voice at all, never the English one.
    lacking = voice_for_language("yo", voices)
    assert (lacking.synthesizer, lacking.unsupported) == (None, True)
    assert lacking.note == f"{synth.description} has no voice for 'yo'"
    assert own.said == []


def test_without_espeak_only_english_has_a_voice() -> None:
    own = English()
    voices = Voices(own, "speaking with an English test voice", None, "eSpeak NG: not installed")
    assert voice_for_language("en", voices).synthesizer is own
    spanish = voice_for_language("es", voices)
    assert (spanish.synthesizer, spanish.unsupported) == (None, True)
    assert spanish.note == "eSpeak NG: not installed"


def test_with_speech_off_no_language_has_a_voice() -> None:
    voices = Voices(None, "speech is off: replies are sent as text only")
    for language in ("en", "es"):
        chosen = voice_for_language(language, voices)
        assert (chosen.synthesizer, chosen.unsupported) == (None, False)  # not the language's
        assert chosen.note == "speech is off: replies are sent as text only"


def test_espeak_as_the_servers_voice_speaks_every_language_it_has(synth: Synthesizer) -> None:
    voices = load_voices(synth, "speaking with eSpeak NG")
    assert voices.others is synth
    assert voice_for_language("en", voices).synthesizer is synth
    spanish = voice_for_language("es", voices).synthesizer
    assert isinstance(spanish, EspeakLanguageVoice)
    assert spanish.espeak is synth
    # Asked once, not twice, when it is both.
    assert voice_for_language("zu", voices).note == f"{synth.description} has no voice for 'zu'"


def test_load_voices_says_why_other_languages_have_none() -> None:
    own = English()

    def absent() -> Synthesizer:
        raise SynthesisUnavailable("eSpeak NG is not installed (simulated)")

    voices = load_voices(own, "speaking with an English test voice", loaders={"espeak": absent})
    assert (voices.voice, voices.others) == (own, None)
    assert voices.others_note == (
        "eSpeak NG, the voice of other languages: eSpeak NG is not installed (simulated)"
    )
    spanish = voice_for_language("es", voices)
    assert spanish.synthesizer is None
    assert "not installed (simulated)" in spanish.note
    assert load_voices(None, "speech is off", loaders={"espeak": absent}) == Voices(
        None, "speech is off"
    )


@pytest.mark.asyncio
async def test_the_server_loads_its_language_voices_on_its_voice_pool(
    synth: Synthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting the server loads eSpeak NG for the other languages on the voice pool (a
    thread below the loop's priority), not on the loop; with speech off it loads none."""
    threads: list[str] = []

    def load_espeak() -> Synthesizer:
        threads.append(threading.current_thread().name)
        return synth

    monkeypatch.setitem(tts._LOADERS, "espeak", load_espeak)
    own = English()
    server = LocalServer(speech=own, transcriber=None)
    assert server.voices == Voices()  # nothing is loaded before it starts
    async with server:
        assert threads
        assert all(name.startswith("realtime-voice") for name in threads)
        assert (server.voices.voice, server.voices.others) == (own, synth)
        assert server.voices.note == "speaking with an English test voice"
        assert server.voices.summary == (
            f"English: speaking with an English test voice; other languages: {synth.description}"
        )
        spanish = voice_for_language("es", server.voices).synthesizer
        assert isinstance(spanish, EspeakLanguageVoice)
    threads.clear()
    async with LocalServer(speech=False, transcriber=None) as silent:
        assert silent.voices.voice is None
        assert silent.voices.summary == "none (speech is off: replies are sent as text only)"
        assert threads == []


@pytest.mark.slow
@pytest.mark.asyncio
async def test_with_piper_installed_english_is_pipers_and_spanish_espeaks() -> None:
    piper = piper_or_skip()
    async with LocalServer(transcriber=None) as server:  # speech="auto": Piper first
        assert server.synthesizer is piper
        for language in ("en", "en-US", "en-GB"):
            assert voice_for_language(language, server.voices).synthesizer is piper
        spanish = voice_for_language("es", server.voices).synthesizer
        assert isinstance(spanish, EspeakLanguageVoice)
        assert spanish.identifier == "roa/es"


def test_every_openai_voice_name_sets_its_own_espeak_voice(synth: Synthesizer) -> None:
    """eSpeak NG's SetVoiceByName takes a voice's file or name, not its language tag: "en-gb"
    is none of them here, and until speak_as checked the result, ballad, sage and cedar spoke
    with whichever voice spoke last. Each name now sets its own voice, and the voices differ."""
    rendered = {name: synth.speak("Hello there.", name).samples for name in tts.VOICE_MAP}
    assert len({samples.tobytes() for samples in rendered.values()}) == len(tts.VOICE_MAP)
