"""Which messages a delivery check watches: ids read from arguments or a send summary."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_twin.client import TwinInputError
from airflow_provider_twin.client.messages import Criteria, Targets, read_ids
from airflow_provider_twin.client.messages.status import check_requests
from airflow_provider_twin.client.messages.targets import IDS_PER_REQUEST


# -- targets --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], ("a", "b")),
        ("a", ("a",)),
        ("a, b,,c", ("a", "b", "c")),
        ('["a", "b"]', ("a", "b")),
        ("['a', 'b']", ("a", "b")),
        (("a", "a", "b"), ("a", "b")),
    ],
)
def test_targets_accept_lists_strings_and_rendered_lists(value: object, expected: tuple[str, ...]) -> None:
    assert Targets.of(bulk_ids=value).ids == expected


def test_targets_need_exactly_one_kind() -> None:
    with pytest.raises(TwinInputError, match="exactly one"):
        Targets.of()
    with pytest.raises(TwinInputError, match="exactly one"):
        Targets.of(bulk_ids=["b"], group_ids=["g"])
    with pytest.raises(TwinInputError, match="exactly one"):
        Targets.of(bulk_ids=[])
    with pytest.raises(TwinInputError, match="ids must be strings"):
        Targets.of(bulk_ids=[{"x": 1}])
    with pytest.raises(TwinInputError, match="expected_total"):
        Targets.of(bulk_ids="b", expected_total=-1)
    with pytest.raises(TwinInputError, match="expected_total"):
        Targets.of(bulk_ids="b", expected_total="many")


def test_targets_from_send_summary() -> None:
    summary = {"bulk_ids": ["b1", "b2"], "group_id": "g", "total": 12, "accepted": 10, "rejected": 2}
    targets = Targets.from_summary(summary)
    assert (targets.kind, targets.ids, targets.expected_total) == ("bulk_ids", ("b1", "b2"), 10)
    assert Targets.from_summary(summary, expected_total=7).expected_total == 7
    by_group = Targets.from_summary({"bulk_ids": [], "group_id": "g", "accepted": 3})
    assert (by_group.kind, by_group.ids, by_group.expected_total) == ("group_ids", ("g",), 3)
    assert Targets.from_summary('{"bulk_ids": ["b"], "accepted": "4"}').expected_total == 4
    with pytest.raises(TwinInputError, match="names no"):
        Targets.from_summary({"accepted": 3})
    with pytest.raises(TwinInputError, match="mapping"):
        Targets.from_summary(["b1"])


def test_a_summary_of_many_chunks_is_watched_by_its_own_group() -> None:
    many = [f"b{i}" for i in range(IDS_PER_REQUEST + 1)]
    summary = {"bulk_ids": many, "group_id": "g", "own_group": True, "accepted": 100_500, "skipped": 0}
    targets = Targets.from_summary(summary)
    assert (targets.kind, targets.ids, targets.expected_total) == ("group_ids", ("g",), 100_500)
    per_check = 1 + len(Criteria().statuses)  # all records, then one count per status
    assert len(check_requests(targets, Criteria())) == per_check

    given_group = Targets.from_summary({**summary, "own_group": False})
    assert (given_group.kind, len(given_group.ids)) == ("bulk_ids", IDS_PER_REQUEST + 1)
    assert len(check_requests(given_group, Criteria())) == 2 * per_check, "bulk ids split, 100 per request"
    few = Targets.from_summary({**summary, "bulk_ids": many[:IDS_PER_REQUEST]})
    assert few.kind == "bulk_ids", "bulk ids that fit one request are watched as they are"


def test_targets_round_trip_and_destinations() -> None:
    targets = Targets.of(flow_ids=["f1", "f2"])
    assert Targets.from_json(targets.to_json()) == targets
    assert targets.destinations == 2
    assert Targets.of(message_ids="m1,m2,m3").destinations == 3
    assert Targets.of(bulk_ids="b").destinations is None
    assert Targets.of(bulk_ids="b", expected_total=5).destinations == 5
    with pytest.raises(TwinInputError):
        Targets.from_json({"bulk_ids": ["b"], "group_ids": ["g"]})


def test_id_targets_are_split_per_request() -> None:
    ids = [f"m{i}" for i in range(IDS_PER_REQUEST * 2 + 1)]
    filters = Targets.of(message_ids=ids).filters()
    assert [len(f["ids"]) for f in filters] == [IDS_PER_REQUEST, IDS_PER_REQUEST, 1]
    for kind in ("bulk_ids", "group_ids", "flow_ids"):
        split = Targets.of(**{kind: ids}).filters()
        assert [len(next(iter(f.values()))) for f in split] == [IDS_PER_REQUEST, IDS_PER_REQUEST, 1], kind
    assert Targets.of(bulk_ids=ids[:IDS_PER_REQUEST]).filters() == [{"bulk_ids": ids[:IDS_PER_REQUEST]}]


def test_a_check_of_a_thousand_bulk_ids_keeps_every_request_line_short() -> None:
    from urllib.parse import urlencode

    bulk_ids = [str(uuid.uuid4()) for _ in range(1000)]
    requests = check_requests(Targets.of(bulk_ids=bulk_ids), Criteria())
    assert len(requests) == (1 + len(Criteria().statuses)) * 10
    longest = max(len(urlencode(request.call.params)) for request in requests)
    assert longest < 4096, longest


def test_a_summary_of_a_retried_send_gives_no_expected_total() -> None:
    summary = {"bulk_ids": ["b1", "b2"], "accepted": 500, "skipped": 1000}
    assert Targets.from_summary(summary).expected_total is None
    assert Targets.from_summary(summary, expected_total=1500).expected_total == 1500
    assert Targets.from_summary({**summary, "skipped": 0}).expected_total == 500
    assert Targets.from_summary({**summary, "expected_total": 1400}).expected_total == 1400


# -- reading ids ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("a", ["a"]),
        ("a, b,,c", ["a", "b", "c"]),
        ('["a", "b"]', ["a", "b"]),
        ("['a', 'b']", ["a", "b"]),
        (["a,b", "c"], ["a", "b", "c"]),
        ([12], ["12"]),
        (("a", "a"), ["a", "a"]),
    ],
)
def test_read_ids_accepts_every_form_a_template_may_render(value: object, expected: list[str]) -> None:
    assert read_ids("bulk_ids", value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"bulk_ids": ["a"]}, "bulk_ids: expected a list of ids, got dict"),
        ([None], "bulk_ids: ids must be strings, got None"),
        ([True], "bulk_ids: ids must be strings, got True"),
        ("['a', ", "bulk_ids: cannot read a list of ids from"),
        (3.5, "bulk_ids: expected a list of ids, got float"),
    ],
)
def test_read_ids_names_the_argument_it_refuses(value: object, message: str) -> None:
    with pytest.raises(TwinInputError, match=message.replace("[", r"\[")):
        read_ids("bulk_ids", value)


# -- the arguments of a wait ----------------------------------------------------------------------
def test_given_reads_a_summary_or_else_the_ids() -> None:
    summary = {"bulk_ids": ["b1"], "accepted": 3}
    assert Targets.given(summary) == Targets("bulk_ids", ("b1",), 3)
    assert Targets.given(summary, expected_total=5).expected_total == 5
    assert Targets.given(None, group_ids="g", bulk_ids=None) == Targets("group_ids", ("g",))
    with pytest.raises(TwinInputError, match="exactly one"):
        Targets.given(None, bulk_ids=[], group_ids=None)


def test_check_arguments_refuses_a_summary_with_ids_or_nothing_at_all() -> None:
    Targets.check_arguments({"bulk_ids": ["b"]}, bulk_ids=None, group_ids=[], message_ids="")
    Targets.check_arguments(None, bulk_ids="{{ ti.xcom_pull() }}", group_ids=None)
    Targets.check_arguments(None, bulk_ids=[], group_ids=None)  # refused once rendered, not now
    with pytest.raises(TwinInputError, match="not both"):
        Targets.check_arguments({"bulk_ids": ["b"]}, bulk_ids=["b"])
    with pytest.raises(TwinInputError, match="give targets"):
        Targets.check_arguments(None, bulk_ids=None, group_ids=None)
