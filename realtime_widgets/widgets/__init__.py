"""The widgets: the only package that imports ipywidgets/anywidget.

ConfigPanel, PresetBar, Microphone, Speaker, Waveform, TranscriptView, ConversationBar,
EventLog, MetricsView, Connection, Playground, LivePlayground and TranslationPlayground;
each anywidget's .js file sits next to its .py class.

One rule for threads: a widget's state is touched on its session's I/O loop only. Session
listeners and taps already run there; browser messages and control changes arrive on the
kernel's thread and hop there (``browser_messages.on_session_loop``); readers on another thread
read there (``read_on_session_loop``). No session, or no loop yet: the caller's thread, at once.
No widget holds a lock.

Where things live (module -> what it owns):

======================== ===================================================================="""

from __future__ import annotations

from realtime_widgets.widgets.conversation import ConversationBar
from realtime_widgets.widgets.eventlog import EventLog
from realtime_widgets.widgets.key_field import KeyField
from realtime_widgets.widgets.live_playground import LivePlayground
from realtime_widgets.widgets.metrics import MetricsView
from realtime_widgets.widgets.microphone import Microphone
from realtime_widgets.widgets.panel import ConfigPanel
from realtime_widgets.widgets.playground import Connection, Playground
from realtime_widgets.widgets.preset_bar import PresetBar
from realtime_widgets.widgets.speaker import Speaker
from realtime_widgets.widgets.transcript import TranscriptView
from realtime_widgets.widgets.translation_playground import TranslationPlayground
from realtime_widgets.widgets.waveform import Waveform

__all__ = [
    "ConfigPanel",
    "Connection",
    "ConversationBar",
    "EventLog",
    "KeyField",
    "LivePlayground",
    "MetricsView",
    "Microphone",
    "Playground",
    "PresetBar",
    "Speaker",
    "TranscriptView",
    "TranslationPlayground",
    "Waveform",
]
