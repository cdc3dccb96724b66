"""The widgets: the only package that imports ipywidgets/anywidget.

ConfigPanel, PresetBar, Microphone, Speaker, Waveform, TranscriptView, ConversationBar,
EventLog, MetricsView, Connection and Playground; each anywidget's .js file sits next to its .py
class.

One rule for threads: a widget's state is touched on its session's I/O loop only. Session
listeners and taps already run there; browser messages and control changes arrive on the
kernel's thread and hop there (``browser_messages.on_session_loop``); readers on another thread
read there (``read_on_session_loop``). No session, or no loop yet: the caller's thread, at once.
No widget holds a lock.

Where things live (module -> what it owns):

==================== ===========================================================================
browser_messages     the rule above; BrowserMessages (stamp, message listeners, hop, then
                     ``handle_browser``), shared by Microphone, Speaker, Waveform, TranscriptView,
                     McpApprovals
streamed_view        StreamedView: per-event ops + a low-rate ``snapshot`` (both transcript views)
listening            Listening: a widget's session listeners, removed on close
panel, controls      ConfigPanel (controls generated from SessionConfig, debounced updates)
preset_bar           PresetBar (presets, save/load/share)
microphone           Microphone (browser chunks, push-to-talk, WAV as microphone) -> stream_audio
speaker              Speaker (output audio to the page, barge-in flush and truncate)
latency              LatencyProbe (browser/kernel stamps -> client.latency.ToolkitLatency)
waveform             Waveform (envelopes, VAD markers, history for late views)
transcript           TranscriptView (conversation rows, item menu); item_audio: ItemAudio
transcription_view   TranscriptionView, TranscriptionPlayground (transcription sessions)
eventlog, metrics    EventLog (batched history rows), MetricsView (latency, usage, cost)
conversation         ConversationBar (text and manual turn controls)
mcp_approvals        McpApprovals; key_field: KeyField; copy_button: CopyButton
playground, docs     Playground, Connection, FullScreenButton (the whole console); field docs
==================== ===========================================================================
"""

from __future__ import annotations

from realtime_widgets.widgets.conversation import ConversationBar
from realtime_widgets.widgets.eventlog import EventLog
from realtime_widgets.widgets.key_field import KeyField
from realtime_widgets.widgets.metrics import MetricsView
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.panel import ConfigPanel
from realtime_widgets.widgets.playground import Connection, Playground
from realtime_widgets.widgets.preset_bar import PresetBar
from realtime_widgets.widgets.speaker import Speaker
from realtime_widgets.widgets.transcript import TranscriptView
from realtime_widgets.widgets.waveform import Waveform

__all__ = [
    "ConfigPanel",
    "Connection",
    "ConversationBar",
    "EventLog",
    "KeyField",
    "MetricsView",
    "Microphone",
    "Playground",
    "PresetBar",
    "Speaker",
    "TranscriptView",
    "Waveform",
]
