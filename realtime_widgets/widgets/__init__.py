"""The widgets: the only package that imports ipywidgets/anywidget.

ConfigPanel, PresetBar, Microphone, Speaker, Waveform, TranscriptView, ConversationBar,
EventLog, MetricsView, Connection and Playground; each anywidget's .js file sits next to its .py
class.
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
