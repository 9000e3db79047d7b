"""The approval example DAG itself (``example_dags/example_twin_chat_approval.py``), for the
approval stack of tests/integration/approvals.

Its source is run here, as this file's own, so the DAGs it defines live in this DAG folder (a
DAG's file must be inside the folder Airflow reads): ``example_twin_chat_approval`` (asked in
the chat, with the ``TwinNotifier`` SMS) and ``example_twin_chat_approval_branch``.
"""

from __future__ import annotations

from pathlib import Path

#: The example file, from the repository's root.
EXAMPLE = Path(__file__).resolve().parents[4] / "example_dags" / "example_twin_chat_approval.py"

exec(compile(EXAMPLE.read_text(encoding="utf-8"), __file__, "exec"), globals())  # noqa: S102 - our own example
