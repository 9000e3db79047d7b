"""Triggers: the deferrable modes of the sensors, and the event watchers of ``AssetWatcher`` s.

The watchers are importable from here::

    from airflow_provider_twin.triggers import TwinChatEventTrigger, TwinMessageEventTrigger
"""

from airflow_provider_twin.triggers.chat_events import TwinChatEventTrigger
from airflow_provider_twin.triggers.events import TwinEventTrigger
from airflow_provider_twin.triggers.message_events import TwinMessageEventTrigger

__all__ = ["TwinChatEventTrigger", "TwinEventTrigger", "TwinMessageEventTrigger"]
