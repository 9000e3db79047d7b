"""Code quoted on the docs pages, and the example DAG code it must match verbatim.

A DAG file marks a snippet with ``# [START name]`` / ``# [END name]`` comment lines; a page
quotes it in a python code block between ``<!-- [START name] -->`` / ``<!-- [END name] -->``.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path


def dag_snippet(path: Path, marker: str) -> str:
    """The code between the ``marker`` comments of ``path``, dedented."""
    match = re.search(rf"# \[START {marker}\]\n(.*?)\n\s*# \[END {marker}\]", path.read_text(), re.S)
    assert match, f"{path.name} lacks the {marker} markers"
    return textwrap.dedent(match.group(1))


def page_snippet(path: Path, marker: str) -> str:
    """The python block of page ``path`` quoted under ``marker``."""
    pattern = rf"<!-- \[START {marker}\] -->\n```python\n(.*?)\n```\n<!-- \[END {marker}\] -->"
    match = re.search(pattern, path.read_text(), re.S)
    assert match, f"{path.name} lacks the {marker} block"
    return match.group(1)
