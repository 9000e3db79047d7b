"""The docs include the example DAGs' code from their files, the README quotes one verbatim, and
their links lead somewhere.

The docs site (``make docs``) fails on an include whose marker a DAG file lacks; these tests
check what Sphinx does not: that every marked snippet and every example DAG file is shown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.snippets import dag_snippet, page_snippet

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_dags"
README = REPO / "README.md"
DOCS = REPO / "docs"
GITHUB = "https://github.com/airflow-provider-twin/airflow-provider-twin"
#: DAG files whose marked snippets the docs pages include.
DAG_FILES = [*sorted(EXAMPLES.glob("*.py")), *sorted((REPO / "tests" / "integration" / "dags").glob("*.py"))]

#: (page, marker, example DAG file) of every snippet quoted verbatim (the README is also the
#: package's PyPI description, which cannot include files).
QUOTES = [
    (README, "howto_twin_quickstart", "example_twin_quickstart.py"),
]
#: Pages whose links and anchors this test checks.
PAGES = [
    README,
    REPO / "CHANGELOG.md",
    *(DOCS / name for name in ("index.md", "troubleshooting.md", "performance.md")),
]


def literal_includes() -> list[tuple[Path, Path, str | None]]:
    """(page, included file, its ``start-after`` marker or None) of every literalinclude in docs/."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        if "_build" in page.parts:
            continue
        for target, options in re.findall(r"```\{literalinclude\} (\S+)\n(.*?)```", page.read_text(), re.S):
            marker = re.search(r':start-after: "?\[START (howto_\w+)\]', options)
            found.append((page, (page.parent / target).resolve(), marker.group(1) if marker else None))
    return found


@pytest.mark.parametrize(("page", "marker", "dag_file"), QUOTES, ids=[quote[1] for quote in QUOTES])
def test_pages_quote_the_example_dags_verbatim(page: Path, marker: str, dag_file: str) -> None:
    assert page_snippet(page, marker) == dag_snippet(EXAMPLES / dag_file, marker)


def test_every_example_snippet_is_included_and_closed() -> None:
    included = {(path, marker) for _, path, marker in literal_includes() if marker}
    for path in DAG_FILES:
        text = path.read_text()
        starts = re.findall(r"# \[START (howto_\w+)\]", text)
        ends = re.findall(r"# \[END (howto_\w+)\]", text)
        if path.parent == EXAMPLES:
            assert starts, f"{path.name} has no [START howto_...] marker for the docs"
        assert sorted(starts) == sorted(ends), f"{path.name}: unbalanced markers"
        missing = {marker for marker in starts if (path.resolve(), marker) not in included}
        assert not missing, f"{path.name}: snippets no docs page includes: {missing}"


def test_every_example_dag_file_is_included_whole() -> None:
    whole = {path for _, path, marker in literal_includes() if marker is None}
    missing = [path.name for path in sorted(EXAMPLES.glob("*.py")) if path.resolve() not in whole]
    assert not missing, f"example DAG files docs/reference/example-dags.md does not include: {missing}"


def test_every_example_dag_is_listed_in_the_docs() -> None:
    index = (DOCS / "index.md").read_text()
    for path in sorted(EXAMPLES.glob("example_*.py")):
        dag_id = re.search(r'DAG\(\s*(?:dag_id=)?"([^"]+)"', path.read_text())
        assert dag_id, f"{path.name}: no dag_id found"
        assert dag_id.group(1) == path.stem, f"{path.name}: the dag_id should be the file's name"
        assert f"`{path.stem}`" in index, f"{path.stem} is not in docs/index.md's table"


def test_readme_keeps_the_two_commands() -> None:
    text = README.read_text()
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    for target in ("demo", "test", "airflow"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile lacks the {target} target"


def test_readme_and_index_link_every_docs_page() -> None:
    readme, index = README.read_text(), (DOCS / "index.md").read_text()
    for page in sorted(DOCS.glob("*.md")):
        # The README is the PyPI description too: its links are absolute (test_readme_description.py).
        in_readme = f"({GITHUB}/blob/main/docs/{page.name}"
        assert f"{in_readme})" in readme or f"{in_readme}#" in readme, f"README lacks {page.name}"
        if page.name != "index.md":
            assert f"({page.name})" in index or f"({page.name}#" in index, f"docs/index.md lacks {page.name}"
    assert f"({GITHUB}/blob/main/CHANGELOG.md)" in readme
    assert f"({GITHUB}/blob/main/CHANGELOG.md)" in index


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(match) for match in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://|mailto:", target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if not resolved.exists() or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)):
            broken.append(target)
    assert not broken, f"{page.name}: broken links {broken}"
