"""A Human-in-the-loop request's params as a trigger carries them, and the check that a chat
answer can record them.

``HITLOperator`` serializes its params for ``HITLTrigger`` as one ``{"value", "description",
"schema", "source"}`` entry per param; the trigger rebuilds a ``ParamsDict`` from them. A param
without a default holds Airflow's ``NOTSET`` marker, known by its identity: it must be passed
on as it is, never deep-copied (a copy reads as a value that is not JSON).

An answer given in TWIN chat chooses options only; it records each param's default as the
params' input. A param without a valid default would fail the task after the answer is stored,
so the chat approval operators refuse such params where the DAG is parsed
(:func:`check_chat_params`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def params_of(serialized: Mapping[str, Any]) -> Any:
    """The request's ``ParamsDict`` from its params as the operator serialized them.

    Read as ``HITLTrigger`` reads them: a ``{"value", "description", "schema", ...}`` entry is a
    ``Param``, anything else a plain default (the form of Airflow 3.1.0 to 3.1.2). Values are not
    copied deeply: a param without a default holds Airflow's ``NOTSET`` marker, which is known by
    its identity (a deep copy of it would read as a value).
    """
    from airflow.sdk import Param  # noqa: PLC0415
    from airflow.sdk.definitions.param import ParamsDict  # noqa: PLC0415

    def param(value: Any) -> Any:
        if isinstance(value, dict) and all(key in value for key in ("description", "schema", "value")):
            fields = dict(value)
            return Param(fields.pop("value"), **fields)
        return Param(value)

    return ParamsDict({key: param(value) for key, value in serialized.items()})


def serialized_params(params: Any) -> dict[str, dict[str, Any]]:
    """``params`` (a ``ParamsDict``) as trigger kwargs, as ``HITLTrigger`` serializes them."""
    return {key: params.get_param(key).serialize() for key in params}


def check_chat_params(params: Any) -> None:
    """Check that every param's default is valid: an answer given in chat records the defaults.

    :param params: the operator's ``ParamsDict``.
    :raises ValueError: naming the first param whose default is missing or invalid.
    """
    from airflow.sdk.exceptions import ParamValidationError  # noqa: PLC0415

    copied = params_of(serialized_params(params))
    for key in copied:
        try:
            copied.get_param(key).resolve(suppress_exception=False)
        except ParamValidationError as exc:
            raise ValueError(
                f"params: chat answers record each param's default: give {key!r} a valid default "
                f"or answer in Airflow ({exc})"
            ) from None


__all__ = ["check_chat_params", "params_of", "serialized_params"]
