"""The README and the docs pages quote the example DAGs verbatim, and their links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.snippets import dag_snippet, page_snippet

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_dags"
README = REPO / "README.md"
DOCS = REPO / "docs"

#: (page, marker, example DAG file) of every quoted snippet.
QUOTES = [
    (README, "howto_twin_quickstart", "example_twin_quickstart.py"),
    (DOCS / "index.md", "howto_twin_reminder_campaign", "example_twin_reminder_campaign.py"),
    (DOCS / "index.md", "howto_twin_delayed_with_cancel", "example_twin_delayed_with_cancel.py"),
    (DOCS / "index.md", "howto_twin_crm_chat_flow", "example_twin_crm_chat_flow.py"),
    (DOCS / "troubleshooting.md", "howto_quiet_hours", "example_twin_reminder_campaign.py"),
]
#: Pages whose links and anchors this test checks.
PAGES = [
    README,
    REPO / "CHANGELOG.md",
    *(DOCS / name for name in ("index.md", "troubleshooting.md", "performance.md")),
]


@pytest.mark.parametrize(("page", "marker", "dag_file"), QUOTES, ids=[quote[1] for quote in QUOTES])
def test_pages_quote_the_example_dags_verbatim(page: Path, marker: str, dag_file: str) -> None:
    assert page_snippet(page, marker) == dag_snippet(EXAMPLES / dag_file, marker)


def test_every_example_snippet_is_quoted_and_closed() -> None:
    quoted = {marker for _, marker, _ in QUOTES}
    for path in sorted(EXAMPLES.glob("*.py")):
        text = path.read_text()
        starts = re.findall(r"# \[START (howto_\w+)\]", text)
        ends = re.findall(r"# \[END (howto_\w+)\]", text)
        assert starts, f"{path.name} has no [START howto_...] marker for the docs"
        assert sorted(starts) == sorted(ends), f"{path.name}: unbalanced markers"
        assert set(starts) <= quoted, f"{path.name}: snippets no page quotes: {set(starts) - quoted}"


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
        assert f"(docs/{page.name})" in readme or f"(docs/{page.name}#" in readme, f"README lacks {page.name}"
        if page.name != "index.md":
            assert f"({page.name})" in index or f"({page.name}#" in index, f"docs/index.md lacks {page.name}"
    assert "(CHANGELOG.md)" in readme
    assert "(../CHANGELOG.md)" in index


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
