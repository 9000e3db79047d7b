"""Files in messages: which channels can carry an uploaded file, and in which field.

TWIN's message channels reference a file by a link, never by a file id (twin-api.md §3.2.4):

* ``whatsapp``: ``mediaUrl`` (the file's link) and ``documentFilename`` (the name a document
  is shown under): one file per message. Both names are in TWIN's SDK; that they carry
  WhatsApp media is an inference from the names (twin-api.md §3.2.4).
* ``viber`` and ``push``: ``imageUrl``: one image per message (the same kind of inference).

The other channels have no documented field for a file, so a send that asks them to carry one
is refused, naming the channel: ``sms`` and ``telegram`` (no file field), ``email`` (its
documented fields are ``subject``, ``fromEmail``, ``fromName`` and ``replyTo``), ``vkontakte``
(its ``attachments`` are VK media ids such as ``photo-1_2``, not TWIN files: give them in the
channel's own ``attachments``), ``odnoklassniki`` (none) and ``chat`` (Notify's ``chat`` channel
documents no file field; a chat session's ``messageAttachments``, twin-api.md §4.2, belongs to
the chat API).

The link a message carries is the file's public ``url``; a private file (no ``url``) cannot be
fetched by a messenger and is refused. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_twin.client.messages.channels import normalize_channels

#: Channels that carry a file, and the fields they fill (twin-api.md §3.2.4; inferences).
FILE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "whatsapp": ("mediaUrl", "documentFilename"),
    "viber": ("imageUrl",),
    "push": ("imageUrl",),
}
#: Channels whose file field takes an image only.
IMAGE_ONLY = frozenset({"viber", "push"})
#: Why a channel cannot carry a file (the error names the channel and says why).
NO_FILE_FIELD: Mapping[str, str] = {
    "sms": "SMS carries text only",
    "email": "TWIN documents no attachment field for e-mail (subject, fromEmail, fromName, replyTo)",
    "telegram": "TWIN documents no file field for Telegram",
    "vkontakte": "VK attachments are VK media ids (photo-1_2), not TWIN files; put them in the "
    "channel's own attachments",
    "odnoklassniki": "TWIN documents no file field for Odnoklassniki",
    "chat": "Notify's chat channel documents no file field",
}
#: Content types that WhatsApp shows as media rather than as a named document (inference).
_MEDIA_TYPES = ("image/", "video/", "audio/")


@dataclass(frozen=True)
class AttachedFile:
    """A file as a message needs it: its name, content type and public link."""

    name: str
    content_type: str
    link: str


def attached_file(metadata: Mapping[str, Any], where: str) -> tuple[AttachedFile | None, str | None]:
    """The :class:`AttachedFile` of an uploaded file's metadata (TWIN's ``FileMetadata`` or the
    upload operator's summary), or the problem that keeps it out of a message."""
    link = metadata.get("url")
    name = metadata.get("name")
    kind = metadata.get("content_type", metadata.get("contentType"))
    if not isinstance(name, str) or not name:
        return None, f"{where}: the uploaded file has no name"
    if not isinstance(link, str) or not link:
        return None, (
            f"{where}: {name} has no public url (a private file?); a messenger cannot fetch it: "
            "upload it with private=False"
        )
    return AttachedFile(name, kind if isinstance(kind, str) else "", link), None


def attachment_problems(channels: Any, files: Sequence[tuple[str, str]]) -> list[str]:
    """What keeps ``files`` (name, content type) from going out through ``channels``.

    Every channel of the send must carry them (a fallback channel that drops the file would
    send the message without it): each problem names the channel and the limit.
    """
    if not files:
        return []
    # The channels' own problems are listed too: the send is refused before it sees them.
    named, problems = normalize_channels(channels)
    for name, settings in named.items():
        where = f"channels.{name}"
        if name not in FILE_FIELDS:
            problems.append(f"{where}: cannot carry a file: {NO_FILE_FIELD.get(name, 'no file field')}")
            continue
        if len(files) > 1:
            problems.append(f"{where}: carries one file per message, got {len(files)}")
        taken = [key for key in FILE_FIELDS[name] if settings.get(key)]
        if taken:
            problems.append(
                f"{where}.{taken[0]}: already set; give the file there or in attachments, not both"
            )
        if name in IMAGE_ONLY:
            problems.extend(
                f"{where}: imageUrl carries an image; {file_name} is {kind or 'of an unknown type'}"
                for file_name, kind in files
                if not kind.startswith("image/")
            )
    return problems


def attach_files(channels: Any, files: Sequence[AttachedFile]) -> dict[str, dict[str, Any]]:
    """``channels`` (a mapping or a list of names) with the file fields filled, in the same order.

    Check with :func:`attachment_problems` first; a channel without a file field is left as is.
    """
    named, _ = normalize_channels(channels)
    if not files:
        return named
    first = files[0]
    for name, settings in named.items():
        if name == "whatsapp":
            settings["mediaUrl"] = first.link
            if not first.content_type.startswith(_MEDIA_TYPES):
                settings["documentFilename"] = first.name
        elif name in IMAGE_ONLY:
            settings["imageUrl"] = first.link
    return named
