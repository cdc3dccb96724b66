"""Command line: ``realtime-widgets serve`` runs the local Realtime server."""

from __future__ import annotations

import argparse
import gc
import math
import os
import signal
import sys
import threading

from realtime_widgets.server.limits import add_limit_arguments, limits_from_arguments


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
        default="local",
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
    args = parser.parse_args(argv)

    # lazy: websockets and the server load only for a command that serves
    from realtime_widgets.server.app import LocalServer, TranscriberChoice
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
        responder=args.responder,
        token=args.token,
        dialect=args.dialect,
        speech="off" if args.no_speech else args.speech,
        transcriber=transcriber,
        limits=limits_from_arguments(args),
    ).start()
    # This process is the server's alone: what startup built (modules, the VAD network, the
    # protocol's schemas: ~50,000 objects) lives as long as it does. Frozen, a full garbage
    # collection no longer walks it (~14 ms on 2 cores, mid-stream, on every session's events).
    gc.freeze()
    print(f"realtime-widgets local server listening on {server.url}", flush=True)
    print(f"voice: {server.speech_note}", flush=True)
    if server.transcriber_note:
        print(f"note: no speech recogniser: {server.transcriber_note}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
