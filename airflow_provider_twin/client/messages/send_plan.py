"""A send, planned: from the send operator's arguments to validated chunks under stable ids.

The operator resolves what only Airflow knows (templates, the task instance, remote files) and
hands the rest here: the arguments are checked when the DAG is parsed, every recipient before
the first request, and the plan names every chunk by a ``bulkId`` derived from the task
instance, so that a retried task finds what an earlier try sent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import gc
import math
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from airflow_provider_twin.client.core.errors import TwinInputError
from airflow_provider_twin.client.core.problems import Problems
from airflow_provider_twin.client.messages.campaign import MessageSpec, compile_spec
from airflow_provider_twin.client.messages.chunks import Chunk, bulk_id_for
from airflow_provider_twin.client.messages.recipient_files import RecipientSource
from airflow_provider_twin.client.messages.send_report import SendReport
from airflow_provider_twin.client.messages.sources import (
    DestinationSource,
    MessageList,
    RecipientFile,
    RecipientList,
)
from airflow_provider_twin.client.messages.templates import template_variables

T = TypeVar("T")

#: Settings that apply to ``recipients``/``recipients_file`` sends, not to raw ``messages``:
#: the fields of :class:`~.campaign.MessageSpec`.
SHARED_SETTINGS = tuple(spec_field.name for spec_field in dataclasses.fields(MessageSpec))

#: What identifies a send: ``(dag_id, run_id, task_id, map_index)``, never the try number.
SendIdentity = tuple[str, str, str, int]


def rejected_threshold(value: bool | float | None) -> float | None:
    """The rejected share above which a send fails (``fail_on_rejected``), or None to never fail."""
    if value is True:
        return 0.0
    if value is False or value is None:
        return None
    return float(value)


def non_finite(value: Any, where: str) -> str | None:
    """Where the first NaN or infinite number inside ``value`` is (mappings and lists walked),
    or None."""
    if type(value) is float:
        return None if math.isfinite(value) else where
    items: Any
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = non_finite(item, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}")
        if found is not None:
            return found
    return None


def refuse_non_finite(owner: str, arguments: Mapping[str, Any]) -> None:
    """Refuse NaN and infinity anywhere in an operator's ``arguments``, when the DAG is parsed.

    Such a number is no JSON: Airflow would fail to store the task, or TWIN to read the
    request, with an error that names no argument.

    :raises ValueError: naming the argument (and the key or index inside it).
    """
    for name, value in arguments.items():
        found = non_finite(value, name)
        if found is not None:
            raise ValueError(f"{owner}: {found} is not a finite number (NaN or infinity); give a real value")


def check_send_arguments(
    owner: str,
    sources: Mapping[str, Any],
    settings: Mapping[str, Any],
    *,
    batch_size: int,
    max_in_flight: int,
    max_requests_per_second: float | None,
    fail_on_rejected: bool | float,
    pacing: Mapping[str, float] | None = None,
) -> None:
    """Refuse arguments no run could use, when the DAG is parsed.

    :param owner: who takes the arguments, named in the error.
    :param sources: ``messages``, ``recipients`` and ``recipients_file`` as given.
    :param pacing: further numeric arguments (seconds) to check for NaN and infinity.
    :raises ValueError: naming the argument.
    """
    numbers: dict[str, Any] = {"batch_size": batch_size, "max_in_flight": max_in_flight}
    numbers |= {"max_requests_per_second": max_requests_per_second, "fail_on_rejected": fail_on_rejected}
    refuse_non_finite(owner, {**sources, **settings, **numbers, **(pacing or {})})
    given = [name for name, value in sources.items() if value is not None]
    if len(given) != 1:
        raise ValueError(
            f"{owner} needs exactly one of messages, recipients or recipients_file"
            + (f"; got {', '.join(given)}" if given else "")
        )
    if sources.get("messages") is not None:
        shared = [name for name in SHARED_SETTINGS if settings.get(name) is not None]
        if shared:
            raise ValueError(
                f"{', '.join(shared)} apply to recipients sends; with raw messages, put them "
                "in each message object"
            )
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    if max_requests_per_second is not None and max_requests_per_second <= 0:
        raise ValueError("max_requests_per_second must be positive (or None for no limit)")
    threshold = rejected_threshold(fail_on_rejected)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError("fail_on_rejected must be a bool or a share between 0 and 1")


@dataclass(frozen=True)
class SendPlan:
    """A validated send: where its destinations come from and the ids of its chunks.

    :param own_group: ``group_id`` was derived from the task instance, so it holds this send's
        messages and nothing else.
    """

    source: DestinationSource
    identity: SendIdentity
    group_id: str | None
    own_group: bool

    @property
    def total(self) -> int:
        """Destinations to send."""
        return self.source.total

    @property
    def merged(self) -> int:
        """Recipients not sent because an earlier one had the same address."""
        return self.source.merged

    def bulk_id(self, chunk_index: int) -> str:
        """The ``bulkId`` of chunk ``chunk_index``: the same on every try of the task."""
        return bulk_id_for(*self.identity, chunk_index)

    def chunks(self, batch_size: int) -> Iterator[Chunk]:
        """The request chunks, built lazily."""
        return self.source.chunks(batch_size, self.bulk_id)

    def report(self, **limits: Any) -> SendReport:
        """An empty report of this send; ``limits`` are :class:`SendReport`'s caps."""
        return SendReport(total=self.total, group_id=self.group_id, own_group=self.own_group, **limits)


def plan_send(
    identity: SendIdentity,
    settings: Mapping[str, Any],
    *,
    messages: Any = None,
    recipients: Any = None,
    recipients_file: RecipientSource | None = None,
    file_format: str | None = None,
    deduplicate: bool = True,
    find_template: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> SendPlan:
    """Validate every input of a send (see :func:`check_send_arguments` for the arguments).

    :param settings: the :data:`SHARED_SETTINGS` given to the operator; without a
        ``group_id``, the group is derived from ``identity``.
    :param deduplicate: send a recipient whose normalised address an earlier one had only
        once (the first one's variables win); raw ``messages`` are never merged.
    :param find_template: reads the stored template ``template_id`` names (one GET), or None
        when TWIN has none; once the settings are valid it is asked, and every recipient then
        needs a value for each variable the template uses (their own or the shared
        ``variables``). Not asked for raw ``messages``.
    :raises TwinInputError: listing the problems (first 20, then a count), an unknown
        template among them; nothing was sent.
    """
    if messages is not None:
        source: DestinationSource = MessageList(messages)
    else:
        group = settings.get("group_id") or bulk_id_for(*identity, "group")
        campaign = compile_spec(MessageSpec(**{**settings, "group_id": str(group)}))
        template_id = settings.get("template_id")
        if template_id and find_template is not None:
            template = find_template(str(template_id))
            if template is None:
                raise TwinInputError(
                    f"template_id: TWIN has no template {template_id}; create it first (e.g. with "
                    "TwinTemplateOperator) or copy its id from Notifications > Templates; nothing was sent"
                )
            campaign = campaign.with_template(template_variables(template))
        if recipients is not None:
            source = RecipientList(campaign, recipients, deduplicate)
        else:
            source = RecipientFile(campaign, recipients_file or "", file_format, deduplicate)
    problems = Problems()
    source.validate(problems)
    if problems:
        raise problems.error("messages" if messages is not None else "recipients")
    if isinstance(source, MessageList):
        return SendPlan(source, identity, source.group_id, own_group=False)
    return SendPlan(source, identity, str(group), own_group=not settings.get("group_id"))


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code.

    A task's ``execute`` runs synchronously, so ``asyncio.run`` is the normal path; if an event
    loop already runs in this thread (some test harnesses), a helper thread runs it instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector off the objects that exist before a large send.

    Validating and sending a big campaign allocates millions of short-lived objects, and every
    full collection would also walk the whole already-loaded heap (Airflow's, in a task): a
    third of the validation time. ``gc.freeze`` sets the existing objects aside (they are not
    garbage) and ``gc.unfreeze`` puts them back; the collector keeps working for everything
    new. When the process already froze objects itself (a pre-fork optimisation), it is left
    alone.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
