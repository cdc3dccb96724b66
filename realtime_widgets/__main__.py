"""Command line: ``realtime-widgets serve`` runs the local Realtime server."""

from __future__ import annotations

import argparse
import gc
import math
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from realtime_widgets.server.limits import add_limit_arguments, limits_from_arguments

if TYPE_CHECKING:
    from realtime_widgets.server.reply.responder import Responder


def _non_negative(text: str) -> float:
    """A finite number >= 0 (argparse names the flag in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _transcriber(text: str) -> str:
    """``whisper``, ``none``, a CTranslate2 model directory, or a faster-whisper model name."""
    if text in ("whisper", "none") or os.path.isdir(text):
        return text
    try:
        # lazy: faster-whisper is optional (the offline extra)
        from faster_whisper import available_models

        names = available_models()
    except ImportError:
        names = []
    if text in names:
        return text
    known = f"; or a faster-whisper model name ({', '.join(names)})" if names else ""
    raise argparse.ArgumentTypeError(
        f"expected whisper, none, or a CTranslate2 model directory{known}; got {text!r}, "
        "which is none of these"
    )


def main(argv: list[str] | None = None) -> int:
    # lazy: the server's modules load only when the command line runs
    from realtime_widgets.server.reply.responder import RESPONDERS
    from realtime_widgets.server.tts import SPEECH_ENGINES

    parser = argparse.ArgumentParser(prog="realtime-widgets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the local, offline Realtime server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    serve.add_argument(
        "--pace", type=_non_negative, default=1.0, help="reply audio pace: 1 real time, 0 at once"
    )
    serve.add_argument(
        "--lead",
        type=_non_negative,
        default=0.5,
        help="seconds of each reply sent ahead of real time, as OpenAI streams audio faster than "
        "real time (default 0.5; 0: strictly real time)",
    )
    serve.add_argument("--token", default=None, help="require this bearer token from clients")
    serve.add_argument(
        "--dialect", choices=("ga", "beta"), default="ga", help="protocol dialect served"
    )
    serve.add_argument(
        "--responder",
        choices=sorted(RESPONDERS),
        default=None,  # local; --chat-url and --responder are either-or
        help="who replies: local (honest report, default) or echo (your own audio back)",
    )
    serve.add_argument(
        "--speech",
        choices=SPEECH_ENGINES,
        default="auto",
        help="the voice of audio replies: auto (Piper when the 'voice' extra is installed, else "
        "eSpeak NG; default), piper, espeak, or off (text only)",
    )
    serve.add_argument(
        "--no-speech", action="store_true", help="answer without synthesised speech (--speech off)"
    )
    serve.add_argument(
        "--transcriber",
        type=_transcriber,
        default="whisper",
        metavar="whisper|none|PATH",
        help="what hears the user: whisper (the packaged Whisper tiny.en, default; needs the "
        "offline extra), none, a CTranslate2 Whisper model directory, or a faster-whisper "
        "model name (downloaded: needs the network)",
    )
    add_limit_arguments(serve)
    add_chat_arguments(serve)
    args = parser.parse_args(argv)
    responder = responder_from_arguments(args, parser)

    # lazy: websockets and the server load only for a command that serves
    from realtime_widgets.server.app import LocalServer, TranscriberChoice
    from realtime_widgets.server.speech import SynthesisUnavailable
    from realtime_widgets.server.whisper import TranscriberUnavailable, WhisperTranscriber

    transcriber: TranscriberChoice = "whisper"
    if args.transcriber == "none":
        transcriber = None
    elif args.transcriber != "whisper":
        try:
            transcriber = WhisperTranscriber(args.transcriber).load()
        except TranscriberUnavailable as exc:
            parser.error(f"argument --transcriber: {exc}")
    server = LocalServer(
        args.host,
        args.port,
        pace=args.pace,
        lead=args.lead,
        responder=responder,
        token=args.token,
        dialect=args.dialect,
        speech="off" if args.no_speech else args.speech,
        transcriber=transcriber,
        limits=limits_from_arguments(args),
    )
    try:
        server.start()  # loads the voice: one asked for by name that cannot load raises
    except SynthesisUnavailable as exc:
        parser.error(f"argument --speech: {exc}")
    if not isinstance(responder, str):
        print(f"replies from {responder!r}", flush=True)
    # This process is the server's alone: what startup built (modules, the VAD network, the
    # protocol's schemas: ~50,000 objects) lives as long as it does. Frozen, a full garbage
    # collection no longer walks it (~14 ms on 2 cores, mid-stream, on every session's events).
    gc.freeze()
    print(f"realtime-widgets local server listening on {server.url}", flush=True)
    print(f"GPT-Live sessions (client.live.connect()) at {server.live_url}", flush=True)
    print(f"voice: {server.speech_note}", flush=True)
    if server.transcriber_note:
        print(f"note: no speech recogniser: {server.transcriber_note}", flush=True)
    print(f"translation sessions: {server.translator_note}", flush=True)
    print(f"translation voices: {server.voices.summary}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop()
    return 0


# A ChatResponder setting's flag, for errors that name the flag the user typed.
_CHAT_FLAGS = {"base_url": "--chat-url", "model": "--chat-model", "api_key": "--chat-key-env"}


def add_chat_arguments(serve: argparse.ArgumentParser) -> None:
    """``--chat-url``, ``--chat-model``, ``--chat-key-env``: replies from a chat endpoint."""
    serve.add_argument(
        "--chat-url",
        metavar="URL",
        help="reply with an OpenAI-compatible Chat Completions endpoint at this base URL, e.g. "
        "http://127.0.0.1:11434/v1 (Ollama), and translate with it in translation sessions "
        "(/v1/realtime/translations); needs --chat-model and the chat extra",
    )
    serve.add_argument(
        "--chat-model", metavar="NAME", help="the chat endpoint's model, e.g. llama3.2"
    )
    serve.add_argument(
        "--chat-key-env",
        metavar="VAR",
        help="the environment variable holding the chat endpoint's API key, if it needs one "
        "(a key is never a flag: it would show in the process list and shell history)",
    )


def responder_from_arguments(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> Responder | str:
    """Who replies, from ``--responder`` or the ``--chat-*`` flags; a bad combination or
    setting exits with an error naming the flag (``parser.error``)."""
    if args.chat_url is None:
        extra = [flag for flag in ("chat_model", "chat_key_env") if getattr(args, flag)]
        if extra:
            parser.error(f"--{extra[0].replace('_', '-')} needs --chat-url URL")
        return str(args.responder or "local")
    if args.responder is not None:
        parser.error(
            f"--chat-url replies with the chat endpoint: drop --responder {args.responder}"
        )
    if not args.chat_model:
        parser.error("--chat-url needs --chat-model NAME (the endpoint's model, e.g. llama3.2)")
    key = None
    if args.chat_key_env:
        key = os.environ.get(args.chat_key_env, "").strip()
        if not key:
            parser.error(
                f"--chat-key-env: the environment variable {args.chat_key_env} is not set or empty"
            )
    # lazy: the chat responder (and the openai SDK) load only when asked for
    from realtime_widgets.errors import ConfigError, RealtimeWidgetsError
    from realtime_widgets.server.reply.chat import ChatResponder

    try:
        return ChatResponder(args.chat_url, args.chat_model, api_key=key)
    except ConfigError as exc:
        parser.error(f"{_CHAT_FLAGS.get(exc.field, exc.field)}: {exc}")
    except RealtimeWidgetsError as exc:  # the openai package is missing
        parser.error(str(exc))


if __name__ == "__main__":
    sys.exit(main())
