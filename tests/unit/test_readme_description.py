"""The README is the package's PyPI description: every link and image in it works there.

PyPI shows the description without the repository around it, so a relative link (``docs/...``)
or image leads nowhere. Links into the repository are absolute GitHub links to ``main``; this
test also checks that the file (and the heading an anchor names) exists in the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GITHUB = "https://github.com/airflow-provider-twin/airflow-provider-twin"
#: What PyPI can show: web addresses and e-mail; nothing relative, not even a bare anchor.
ABSOLUTE = re.compile(r"(https?://|mailto:)")


def published_description() -> tuple[Path, str]:
    """The file pyproject.toml publishes as the description, and its text."""
    # pyproject.toml's `readme = "…"` (tomllib is not in Python 3.10's standard library).
    match = re.search(r'^readme\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert match, "pyproject.toml names no readme file"
    path = REPO / match.group(1)
    return path, path.read_text(encoding="utf-8")


def link_targets(markdown: str) -> list[str]:
    """Targets of every Markdown link and image, reference definition and HTML href/src.

    Code blocks and inline code are left out: they are shown, not followed.
    """
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)", text)  # [text](target), ![alt](target)
    targets += re.findall(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", text, re.M)  # [ref]: target
    targets += re.findall(r"""\b(?:href|src)\s*=\s*["']([^"']+)""", text, re.I)
    return targets


def relative_links(markdown: str) -> list[str]:
    """The targets a reader of the published description could not follow."""
    return [target for target in link_targets(markdown) if not ABSOLUTE.match(target)]


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors of the headings of a Markdown file."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", text, re.M)
    }


def test_the_published_description_is_the_readme() -> None:
    path, _ = published_description()
    assert path == REPO / "README.md"


def test_the_published_description_has_no_relative_link_or_image() -> None:
    _, text = published_description()
    targets = link_targets(text)
    assert len(targets) > 10  # the parser sees the README's links
    assert relative_links(text) == []


def test_links_into_the_repository_lead_to_files_that_exist() -> None:
    _, text = published_description()
    broken = []
    for target in link_targets(text):
        match = re.match(rf"{re.escape(GITHUB)}/(blob|tree)/main/([^#]+)(?:#(.+))?$", target)
        if not match:
            continue
        kind, relative, anchor = match.groups()
        path = REPO / relative.rstrip("/")
        exists = path.is_file() if kind == "blob" else path.is_dir()
        if not exists or (anchor and anchor not in heading_anchors(path)):
            broken.append(target)
    assert broken == []


def test_relative_links_are_found() -> None:
    """The checker itself: it catches the forms of relative link a README can have."""
    sample = (
        "[a](docs/a.md) ![b](img/b.png) [c](#c) [ok](https://x.org) [m](mailto:a@b.c)\n"
        '<img src="logo.png"> <a href="./x">x</a>\n[ref]: docs/ref.md\n'
        "```\n[not](followed.md)\n```\n`[inline](code.md)`\n"
    )
    assert relative_links(sample) == ["docs/a.md", "img/b.png", "#c", "docs/ref.md", "logo.png", "./x"]


def test_the_newcomer_commands_say_they_need_a_clone() -> None:
    _, text = published_description()
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    assert "clone of the repository" in section
    assert f"git clone {GITHUB}.git" in section
    for target in ("make airflow", "make docs", "make test-ui"):
        assert target in text
    assert "docs/_build/html" in text
    assert "`chromium` OS package" in text
