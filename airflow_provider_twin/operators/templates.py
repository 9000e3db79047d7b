"""Operators that keep TWIN notify templates (twin-api.md §3.7) in step with a DAG.

* :class:`TwinTemplateOperator` makes the template of a name hold the given channels and text:
  updated when TWIN has one of that name, else created; a retried task never makes two. Its
  ``template_id`` plugs into :class:`~airflow_provider_twin.operators.messages.TwinSendMessagesOperator`.
* :class:`TwinDeleteTemplateOperator` deletes a template; one that is already gone is success.

The look-up, checks and calls live in :mod:`airflow_provider_twin.client.messages.templates`;
these operators resolve Airflow inputs and turn errors into the right Airflow outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_twin.client import TwinError
from airflow_provider_twin.client.messages import TemplateDeletion, TemplateUpsert
from airflow_provider_twin.hooks.twin import TwinHook
from airflow_provider_twin.operators.failures import airflow_error

if TYPE_CHECKING:
    from airflow.sdk import Context


class TwinTemplateOperator(BaseOperator):
    """Create or update the TWIN template called ``name`` (exactly once across retries).

    The name identifies the template: when TWIN holds one of that name it is updated (``PUT``),
    else one is created (``POST``). A create whose answer was lost is looked up again before
    anything is repeated, so a retried task leaves one template. Channels are checked as the
    send operator checks its own, before any request.

    :param name: the template's name (its identity for this operator).
    :param channels: ordered mapping channel -> channel fields (``text``, ``from``...), or a list
        of channel names; the same channels as the send operator takes.
    :param text: text for every channel without its own. TWIN variables are ``{{name}}``;
        this field is templated, so keep Jinja away from them with ``{% raw %}...{% endraw %}``.
    :param allowed_time_ranges: send windows, ``[["09:00:00", "21:00:00"], ...]``.
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"template_id", "name", "created"}``; ``created`` is False when a
        template of that name was updated. Every key is also an XCom of its own
        (``upsert.output["template_id"]``).
    """

    template_fields: Sequence[str] = ("name", "channels", "text", "allowed_time_ranges")
    template_fields_renderers: ClassVar[dict[str, str]] = {"channels": "json", "allowed_time_ranges": "json"}
    ui_color = "#eef6e3"

    def __init__(
        self,
        *,
        name: str,
        channels: Mapping[str, Mapping[str, Any] | None] | Sequence[str],
        text: str | None = None,
        allowed_time_ranges: Sequence[Sequence[str]] | None = None,
        twin_conn_id: str = TwinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.name = name
        self.channels = channels
        self.text = text
        self.allowed_time_ranges = allowed_time_ranges
        self.twin_conn_id = twin_conn_id

    def execute(self, context: Context) -> TemplateUpsert:
        """Check the template, then update the one of its name or create it."""
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            result = hook.upsert_template(self.name, self.channels, self.text, self.allowed_time_ranges)
        except TwinError as exc:
            raise airflow_error(exc) from exc
        finally:
            hook.close()
        self.log.info(
            "TWIN template %r %s: %s",
            result["name"],
            "created" if result["created"] else "updated",
            result["template_id"],
        )
        return result


class TwinDeleteTemplateOperator(BaseOperator):
    """Delete a TWIN template; a template that is already gone is success (``deleted`` False).

    :param template_id: the template's id (UUID), e.g. ``upsert.output["template_id"]``.
    :param twin_conn_id: the ``twin`` connection.
    :return: (XCom) ``{"template_id", "deleted"}``.
    """

    template_fields: Sequence[str] = ("template_id",)
    ui_color = "#fbe9e3"

    def __init__(
        self, *, template_id: str, twin_conn_id: str = TwinHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.template_id = template_id
        self.twin_conn_id = twin_conn_id

    def execute(self, context: Context) -> TemplateDeletion:
        """Delete the template; an absent one is logged, not failed."""
        hook = TwinHook(twin_conn_id=self.twin_conn_id)
        try:
            deleted = hook.delete_template(str(self.template_id))
        except TwinError as exc:
            raise airflow_error(exc) from exc
        finally:
            hook.close()
        if deleted:
            self.log.info("TWIN template %s deleted", self.template_id)
        else:
            self.log.info("TWIN has no template %s (deleted already): nothing to do", self.template_id)
        return {"template_id": str(self.template_id), "deleted": deleted}


__all__ = ["TwinDeleteTemplateOperator", "TwinTemplateOperator"]
