"""Strict mode: the emulator holds clients to what TWIN's documents make explicit.

Off (lenient), the emulator accepts what the provider's own readings of TWIN's documents send; on,
it also refuses what the documents rule out. Where the documents are silent, both modes keep the
same lenient assumption (docs/emulator.md, "Strict mode", lists each rule and its source):

* realtime connect: ``data.application`` "widget", ``data.settings.sessions`` with at least one
  session and ``name`` "js" (seed 003), else disconnect 3501 (:mod:`.centrifugo_protocol`);
* realtime subscriptions: no publication on the ``subs`` channel before the client subscribes to
  it (seed 003) (:mod:`.centrifugo_connection`);
* ``POST /messages`` channel fields the notify guide asks for (seed 000) (:mod:`.strict_notify`);
* ``GET /messages`` ``status`` and ``channel`` filters hold one value (twin-api.md §3.3)
  (:mod:`.strict_notify`).
* ``POST /files`` size, count and type limits: an ASSUMPTION, not a document (TWIN states no
  file limit, twin-api.md §2.6), held in strict mode so that an upload over them is refused
  (:mod:`.routes_files`, :mod:`.file_store`).
* ``DELETE /sessions/{id}`` carries the body ``{"result": string}`` (twin-api.md §4.1, §8)
  (:mod:`.routes_chat`).

The setting is ``EmulatorSettings.strict``; its default comes from the environment variable
``TWIN_EMULATOR_STRICT`` (``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``; unset =
off), so a whole test run can switch every emulator it starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: Environment variable giving the default of the ``strict`` setting.
STRICT_ENV_VAR = "TWIN_EMULATOR_STRICT"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class StrictSwitchError(ValueError):
    """The environment variable holds something that is not a yes or a no."""


def parse_switch(text: str) -> bool:
    """Read a yes/no value as the environment variable spells it (raises ``StrictSwitchError``)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise StrictSwitchError(
        f"{STRICT_ENV_VAR} must be one of 1, true, yes, on, 0, false, no, off; got {text!r}."
    )


def strict_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """The default of the ``strict`` setting: ``TWIN_EMULATOR_STRICT``, off when unset."""
    value = (os.environ if environ is None else environ).get(STRICT_ENV_VAR)
    return False if value is None else parse_switch(value)


__all__ = ["STRICT_ENV_VAR", "StrictSwitchError", "parse_switch", "strict_from_environment"]
