"""The local server: a websockets layer around sans-I/O session engines (DESIGN.md, "The local
server"). Nothing is imported here; import the module you need (``LocalServer`` is also
``realtime_widgets.LocalServer``).

Where things live
=================

The websockets layer (the only modules that do I/O):

==========================  =====================================================================
module                      what it owns
==========================  =====================================================================
``app``                     :class:`LocalServer`: the listener, the handshake checks (path,
                            token, ``max_sessions``), the session registry, the shared VAD pass,
                            the frame thread, the recogniser thread (transcription jobs), the
                            synthesiser replies are spoken with
``connection``              :class:`SessionConnection`: one client's tasks (reader, ticker,
                            keepalive, reply workers) and its send lock; the websockets
                            connection class (live-connection registry, the protocol subclass
                            that names the frame limit in a 1009 close)
``pipeline``                a reply computed off the loop and handed over piece by piece: the
                            responder (its stream read in a thread or awaited), clauses, speech
                            per clause in a thread; failures as ``ResponderError``
==========================  =====================================================================

The engine (sans-I/O: client events and the time in, server events out):

==========================  =====================================================================
module                      what it owns
==========================  =====================================================================
``engine_core``             :class:`EngineCore`: the lifecycle every session kind shares: id,
                            clock, expiry, parsing and dispatching a client event through the
                            handler table, routing a part's steps; the input part
``engine``                  :class:`SessionEngine`, the Realtime kind: config, voice lock,
                            ``session.update``; composes input, conversation, responses, input
                            transcripts and alone routes their outcomes. :func:`engine_for`
``transcription_engine``    :class:`TranscriptionEngine`, ``?intent=transcription``: its
                            TranscriptionConfig, the chain of committed turns; composes input and
                            input transcripts
``translation_engine``      :class:`TranslationEngine`, ``/v1/realtime/translations``: its
                            TranslationConfig; segments cut by the server's own VAD (never
                            reported), heard by input transcripts, translated and spoken through
                            the reply pipeline; what it lacks said once per session
``live_engine``             :class:`LiveEngine`, GPT-Live (``/v1/live/sessions``): its LiveConfig,
                            session.start/update/close, mute, fixtures, appends, delegation to
                            the client, usage; composes input, input transcripts and the Live
                            output, on the SDK's Live unions
``live_output``             part (Live): the one output stream, its utterances and paced events,
                            barge-in and what the listener heard
``turns``                   part: input buffer, decoder, turn detector, idle timer
``conversation``            part: items, their order and token total, truncation
``responses``               part: the response in progress, its paced events, reply requests
``input_transcripts``       part: transcription jobs for committed and pausing turns (the
                            "ears"), their events; :func:`run_inline` for sans-I/O callers
``whisper``                 :class:`WhisperTranscriber`: faster-whisper, tiny.en by default
                            (hashes pinned), shared once per process
``outcomes``                what parts return besides events (table of who returns which)
``emitter``                 ids, events built from protocol.events' models, errors
``options``                 :class:`EngineOptions` (read by every part)
``reply/``                  what a reply says: responder, material (pieces), clauses, timeline,
                            usage rule; ``translator`` (Translator, ChatTranslator: the chat
                            endpoint with a translate prompt)
``vad``                     turn detection signals (Silero + energy)
``speech``                  what every voice shares: :class:`Speech`, the synthesiser shape,
                            :class:`SynthesisUnavailable`, the word-timing estimate
``piper_voice``, ``tts``    the voices: Piper (natural; pinned hashes; ten names, one speaker)
                            and eSpeak NG (the fallback); ``tts`` picks (``default_synthesizer``,
                            ``choose_synthesizer``)
``errors``, ``beta``        OpenAI's error wording; the legacy beta dialect on the way out
``frames``, ``limits``      big frames read off the loop; :class:`ServerLimits`
==========================  =====================================================================

Which part returns which outcome, and what the Realtime engine does with it, is the table in
:mod:`.outcomes`. A part gets an :class:`~.emitter.Emitter` and the effective config through a
callable, never the engine, and never calls another part.

A new session kind goes in a new composition: a module beside ``transcription_engine`` with an
:class:`~.engine_core.EngineCore` subclass that builds the parts it needs and fills its
``handlers`` table (client event class -> method) and its ``routes`` table (outcome class ->
method, read by ``EngineCore.route``); then :func:`~.engine.engine_for` picks it.
A new part is a class that owns its state, writes through an Emitter and returns outcomes; the
engines that use it route them.
"""
