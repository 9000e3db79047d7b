"""A campaign step: what to send to every recipient, validated before a single request.

A campaign is described once (:class:`MessageSpec`: channels in fallback order, text or
template, send time, windows...) and applied to any number of recipients. Validation is local
and complete: :func:`compile_spec` checks the shared settings, :meth:`Campaign.destination`
checks and normalises one recipient (as :mod:`.recipients` and :mod:`.addresses` say), and
problems name the field and the recipient index, so that a bad list is fixed in one round
trip. Raw TWIN message objects are held to the same rules (:func:`normalize_message`).

Pure: no Airflow import, no I/O. The send operator and the notifier share it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from airflow_provider_twin.client.core.problems import Problems, shown
from airflow_provider_twin.client.messages.channels import (
    CHANNEL_DESTINATIONS,
    DEFAULT_SENDER,
    MAX_VALIDITY_PERIOD,
    MIN_VALIDITY_PERIOD,
    content_problems,
    is_uuid,
    normalize_channels,
    text_problem,
)
from airflow_provider_twin.client.messages.models import Destination, MessageData
from airflow_provider_twin.client.messages.recipient_columns import RecipientColumns, read_columns
from airflow_provider_twin.client.messages.recipients import (
    Scalar,
    check_variables,
    fast_recipient,
    read_recipient,
)
from airflow_provider_twin.client.messages.send_report import redact_destination
from airflow_provider_twin.client.messages.send_windows import format_send_at, normalize_time_ranges

#: TWIN's documented limits (twin-api.md §3.2.6).
MAX_CALLBACK_URL_BYTES = 4000
MAX_CALLBACK_DATA_BYTES = 10240


@dataclass(frozen=True)
class MessageSpec:
    """What to send to every recipient of a campaign step.

    :param channels: channel name -> channel fields (twin-api.md §3.2.4), in fallback order;
        ``{"required": True}`` in a channel sends through it even after an earlier channel
        delivered. A list of names means "these channels, no extra fields".
    :param text: message text, copied into every channel that has no ``text`` of its own.
    :param template_id: a stored TWIN template (UUID) instead of ``text``.
    :param variables: template variables shared by every recipient (theirs win).
    :param send_at: delayed send time: aware ``datetime``/pendulum or ISO-8601 string.
    :param allowed_time_ranges: send windows, ``[["09:00:00", "21:00:00"], ...]``.
    :param use_short_links: shorten links (SMS only, per TWIN).
    :param validity_period: minutes (1-2880) a message may wait for delivery, copied into
        every channel (except ``chat``) that has no ``validityPeriod`` of its own.
    :param callback_url: TWIN posts status changes there (twin-api.md §3.2.7).
    :param callback_data: echoed in every callback; an object is sent as compact JSON.
    :param group_id: TWIN ``groupId`` (UUID) shared by all messages of the campaign step.
    :param variable_default: value sent for a TWIN variable the text uses (``{{name}}``) that
        a recipient has no value for; None (the default) refuses such a recipient instead.
    """

    channels: Mapping[str, Mapping[str, Any] | None] | Sequence[str] | None = None
    text: str | None = None
    template_id: str | None = None
    variables: Mapping[str, Scalar] | None = None
    send_at: datetime | str | None = None
    allowed_time_ranges: Sequence[Sequence[str]] | None = None
    use_short_links: bool | None = None
    validity_period: int | None = None
    callback_url: str | None = None
    callback_data: str | Mapping[str, Any] | None = None
    group_id: str | None = None
    variable_default: str | None = None


#: A TWIN variable in a text: ``{{name}}`` (spaces inside the braces allowed). ASSUMPTION: the
#: notify guide names no syntax; this is the one TWIN's templates and the chat bot use.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def placeholders(channels: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The TWIN variables the channels' texts use."""
    texts = [settings.get("text") for settings in channels.values()]
    return frozenset(name for text in texts if isinstance(text, str) for name in PLACEHOLDER.findall(text))


@dataclass(frozen=True)
class Campaign:
    """A validated :class:`MessageSpec`, ready to turn recipients into messages.

    ``template`` is the ``MessageData`` of every batch minus ``destinations``;
    ``reachable`` the destination fields at least one channel can use.
    """

    template: MessageData
    channels: tuple[str, ...]
    reachable: frozenset[str]
    variables: Mapping[str, Scalar] = field(default_factory=dict)
    #: TWIN variables the texts use that the shared ``variables`` do not fill: each recipient
    #: needs a value for them (or gets ``variable_default``).
    needed: frozenset[str] = frozenset()
    variable_default: str | None = None
    #: The part of ``needed`` the stored template (``template_id``) uses.
    template_needed: frozenset[str] = frozenset()

    def with_template(self, variables: Iterable[str]) -> Campaign:
        """This campaign sent with a stored template whose strings use ``variables``: each
        recipient needs a value for those the shared ``variables`` do not fill."""
        shared = {name for name, value in self.variables.items() if value is not None and value != ""}
        wanted = frozenset(variables) - shared
        return replace(self, needed=self.needed | wanted, template_needed=wanted)

    def destination(
        self, index: int, recipient: Any, problems: Problems, where: str | None = None
    ) -> Destination | None:
        """The normalised destination of recipient ``index``; problems go to ``problems``.

        A plain string is read as an e-mail address when it has an ``@``, else as a phone.
        ``where`` overrides how problems name the recipient (default ``recipients[<index>]``).
        """
        fast = fast_recipient(recipient) if type(recipient) is dict else None
        if fast is not None and not self.reachable.isdisjoint(fast[0]):
            destination, variables = fast
        else:
            if isinstance(recipient, str):
                recipient = {"email": recipient} if "@" in recipient else {"phone": recipient}
            if isinstance(recipient, int) and not isinstance(recipient, bool):
                recipient = {"phone": str(recipient)}
            where = where or f"recipients[{index}]"
            if not isinstance(recipient, Mapping):
                problems.add(
                    f"{where}: expected an object with phone, email, ... got {type(recipient).__name__}"
                )
                return None
            before = problems.count
            destination, variables = read_recipient(recipient, where, problems)
            if problems.count == before and self.reachable.isdisjoint(destination):
                fields = ", ".join(sorted(self.reachable))
                problems.add(
                    f"{where}: no destination for channel(s) {', '.join(self.channels)}; give {fields}"
                )
            if problems.count != before:
                return None
        if self.variables:
            destination["variables"] = {**self.variables, **variables} if variables else dict(self.variables)
        elif variables:
            destination["variables"] = variables
        if self.needed and not self._fill(destination, problems, where or f"recipients[{index}]"):
            return None
        return destination  # type: ignore[return-value]

    def _fill(self, destination: dict[str, Any], problems: Problems, where: str) -> bool:
        """Check (or fill with ``variable_default``) the variables the text uses; False after
        recording a problem."""
        own = destination.get("variables") or {}
        missing = sorted(name for name in self.needed if own.get(name) is None or own.get(name) == "")
        if not missing:
            return True
        if self.variable_default is None:
            of_template = [name in self.template_needed for name in missing]
            uses = "template" if all(of_template) else "text and template" if any(of_template) else "text"
            address = ", ".join(f"{key} {value}" for key, value in redact_destination(destination).items())
            problems.add(
                f"{where}{f' ({address})' if address else ''}: no value for the variable(s) "
                f"{', '.join(missing)} the {uses} uses; give "
                f"{', '.join('var_' + name for name in missing)} or set variable_default"
            )
            return False
        destination["variables"] = {**own, **dict.fromkeys(missing, self.variable_default)}
        return True

    def columns(self, recipients: Sequence[Any]) -> RecipientColumns | None:
        """``recipients`` checked column by column (see :mod:`.recipient_columns`); None when
        any of them needs the full checks of :meth:`destination`."""
        return read_columns(recipients, self.reachable, self.variables, self.needed)

    def check(
        self, recipients: Sequence[Any], problems: Problems, where: Callable[[int], str] | None = None
    ) -> RecipientColumns | list[Destination]:
        """Every recipient of a block checked: column-wise when the block is clean (destinations
        built later), else one by one, which names each problem.

        :param where: how problems name the recipient at a position of the block (default
            ``recipients[<position>]``).
        """
        columns = self.columns(recipients)
        if columns is not None:
            return columns
        destination = self.destination
        kept: list[Destination] = []
        for position, recipient in enumerate(recipients):
            checked = destination(position, recipient, problems, where(position) if where else None)
            if checked is not None:
                kept.append(checked)
        return kept


def compile_spec(spec: MessageSpec) -> Campaign:
    """Validate ``spec`` into a :class:`Campaign`.

    :raises TwinInputError: listing every problem, each naming its field.
    """
    problems = validate_spec(spec)
    if problems:
        found = Problems()
        found.extend(problems)
        raise found.error("the message settings")
    return _compile(spec)


def validate_spec(spec: MessageSpec) -> list[str]:
    """Every problem of the shared message settings (an empty list when they are valid)."""
    channels, problems = normalize_channels(spec.channels)
    # Values arrive from templates and XCom: check their types at run time.
    text: Any = spec.text
    if text is not None and not isinstance(text, str):
        problems.append(f"text: must be a string, got {type(text).__name__}")
    has_text = isinstance(text, str) and bool(text.strip())
    has_template = spec.template_id is not None and spec.template_id != ""
    if has_template:
        if not is_uuid(spec.template_id):
            problems.append(f"template_id: {shown(spec.template_id)} is not a TWIN template id (a UUID)")
        if has_text:
            problems.append("text: give text or template_id, not both (TWIN ignores text with a template)")
    problems.extend(content_problems(channels, has_text=has_text, has_template=has_template))
    for name, settings in channels.items():
        own = settings.get("text")
        sent = own if isinstance(own, str) else text if has_text and not has_template else None
        problem = None if sent is None else text_problem(name, sent)
        if problem:
            problems.append(problem)
    _, found = check_variables(spec.variables, "variables")
    problems.extend(found)
    if spec.send_at is not None and spec.send_at != "":
        _, problem = format_send_at(spec.send_at)
        if problem:
            problems.append(f"send_at: {problem}")
    problems.extend(normalize_time_ranges(spec.allowed_time_ranges)[1])
    short_links: Any = spec.use_short_links
    if short_links is not None and not isinstance(short_links, bool):
        problems.append(f"use_short_links: must be a boolean, got {shown(short_links)}")
    period = spec.validity_period
    if period is not None and (
        isinstance(period, bool)
        or not isinstance(period, int)
        or not MIN_VALIDITY_PERIOD <= period <= MAX_VALIDITY_PERIOD
    ):
        problems.append(
            f"validity_period: must be {MIN_VALIDITY_PERIOD}-{MAX_VALIDITY_PERIOD} minutes, "
            f"got {shown(period)}"
        )
    url = spec.callback_url
    if url is not None and url != "":
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append(f"callback_url: {shown(url)} is not an http(s) URL")
        elif len(url.encode()) > MAX_CALLBACK_URL_BYTES:
            problems.append(f"callback_url: longer than {MAX_CALLBACK_URL_BYTES} bytes")
    data = _callback_data(spec.callback_data)
    if data is not None and not isinstance(data, str):
        problems.append(f"callback_data: must be a string or an object, got {type(data).__name__}")
    elif data is not None and len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
        problems.append(f"callback_data: longer than {MAX_CALLBACK_DATA_BYTES} bytes")
    if spec.group_id is not None and spec.group_id != "" and not is_uuid(spec.group_id):
        problems.append(f"group_id: {shown(spec.group_id)} is not a UUID")
    default: Any = spec.variable_default
    if default is not None and not isinstance(default, str):
        problems.append(f"variable_default: must be a string, got {type(default).__name__}")
    return problems


def _callback_data(value: Any) -> Any:
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return None if value == "" else value


def _compile(spec: MessageSpec) -> Campaign:
    channels, _ = normalize_channels(spec.channels)
    text = spec.text if isinstance(spec.text, str) and spec.text.strip() else None
    for name, settings in channels.items():
        if text is not None and not spec.template_id and "text" not in settings:
            # ASSUMPTION: the chat channel gets the text too (seed 000's chat block shows none,
            # the channel field list has it): a text given for the send is never dropped.
            settings["text"] = text
        if name == "chat":
            continue
        if name != "email":  # an e-mail's sender is its fromEmail/fromName
            settings.setdefault("from", DEFAULT_SENDER)
        if spec.validity_period is not None and "validityPeriod" not in settings:
            settings["validityPeriod"] = spec.validity_period
    template: MessageData = {"channels": channels}
    if spec.template_id:
        template["templateId"] = spec.template_id
    if spec.group_id:
        template["groupId"] = spec.group_id
    if spec.send_at is not None and spec.send_at != "":
        send_at, _ = format_send_at(spec.send_at)
        if send_at:
            template["sendAt"] = send_at
    ranges, _ = normalize_time_ranges(spec.allowed_time_ranges)
    if ranges:
        template["allowedTimeRanges"] = ranges
    if spec.use_short_links is not None:
        template["useShortLinks"] = spec.use_short_links
    if spec.callback_url:
        template["callbackUrl"] = spec.callback_url
    data = _callback_data(spec.callback_data)
    if data is not None:
        template["callbackData"] = data
    reachable = frozenset().union(*(CHANNEL_DESTINATIONS[name] for name in channels))
    variables, _ = check_variables(spec.variables, "variables")
    shared = {name for name, value in (variables or {}).items() if value is not None and value != ""}
    return Campaign(
        template=template,
        channels=tuple(channels),
        reachable=reachable,
        variables=variables or {},
        needed=placeholders(channels) - shared,
        variable_default=spec.variable_default,
    )


def normalize_message(
    index: int, message: Any, problems: Problems, first_recipient: int = 0
) -> MessageData | None:
    """Validate and normalise one raw TWIN message object (twin-api.md §3.2.2).

    The message keeps full control over its fields; phones and e-mail addresses of its
    destinations are normalised as for recipients, and the same limits are checked.
    ``first_recipient`` numbers its destinations within the whole send, so problems name
    both the message and the recipient index.
    """
    where = f"messages[{index}]"
    if not isinstance(message, Mapping):
        problems.add(f"{where}: expected a TWIN message object, got {type(message).__name__}")
        return None
    before = problems.count
    known = set(MessageData.__annotations__)
    for key in message:
        if key not in known:
            problems.add(f"{where}.{key}: unknown message field; known fields: {', '.join(sorted(known))}")
    spec = MessageSpec(
        channels=message.get("channels"),
        template_id=message.get("templateId"),
        send_at=message.get("sendAt"),
        allowed_time_ranges=message.get("allowedTimeRanges"),
        use_short_links=message.get("useShortLinks"),
        callback_url=message.get("callbackUrl"),
        callback_data=message.get("callbackData"),
        group_id=message.get("groupId"),
    )
    for problem in validate_spec(spec):
        problems.add(f"{where}: {problem}")
    validate_flag = message.get("validate")
    if validate_flag is not None and not isinstance(validate_flag, bool):
        problems.add(f"{where}.validate: must be a boolean")
    if problems.count != before:
        return None
    campaign = _compile(spec)
    destinations = message.get("destinations")
    if isinstance(destinations, (str, bytes)) or not isinstance(destinations, Sequence) or not destinations:
        problems.add(f"{where}.destinations: expected a non-empty list of recipients")
        return None
    normalised: list[Destination] = []
    for offset, raw in enumerate(destinations):
        destination = campaign.destination(
            first_recipient + offset,
            raw,
            problems,
            f"{where}.destinations[{offset}] (recipient {first_recipient + offset})",
        )
        if destination is not None:
            normalised.append(destination)
    if problems.count != before:
        return None
    result: MessageData = {key: value for key, value in message.items() if key != "destinations"}  # type: ignore[assignment]
    result.update(campaign.template)
    result["destinations"] = normalised
    return result
