"""The README stays a front page (≤ 8,192 bytes) that leads to docs/ by concept, every relative link
in the README and docs/ resolves (file and heading anchor), and docs/cli.md is what `mlcp --help`
says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlcp_cli.cli_reference import render
from mlcp_cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_BUDGET = 8192

#: ``[text](target)``, not an image, outside code; a target with a scheme is not ours to check.
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _prose(text: str) -> str:
    """``text`` without fenced blocks and code spans (a link there is an example, not a link)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors of a Markdown text: lowercase, punctuation dropped (``-`` and ``_``
    kept), spaces to ``-``; a repeated heading gets ``-1``, ``-2``, ..."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", text), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def _broken_links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(_prose(text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif (
            anchor
            and resolved.suffix == ".md"
            and anchor not in anchors(resolved.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target}: no heading #{anchor} in {file_part or path.name}")
    return broken


def test_the_readme_is_a_front_page() -> None:
    size = len(README.read_bytes())
    assert size <= README_BUDGET, f"README.md is {size} bytes: move detail to the docs/ file of its concept"


def test_the_readme_keeps_its_two_commands_and_they_exist() -> None:
    readme = README.read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("demo", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert _broken_links(path) == []


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A heading, with `code`\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#a-heading-with-code) [gone](missing.md) [bad](other.md#nope)\n"
        "[self](#page) [web](https://example.com/x.md) `[code](missing.md)`\n\n# Page\n",
        encoding="utf-8",
    )
    assert _broken_links(page) == ["missing.md: no such file", "other.md#nope: no heading #nope in other.md"]


def test_every_doc_is_reachable_from_the_readme() -> None:
    """A page nobody links is a page nobody reads: each docs/*.md is linked from the README."""
    linked = {
        (README.parent / target.partition("#")[0]).resolve() for target in LINK.findall(README.read_text())
    }
    assert [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked] == []


def test_the_fidelity_table_lives_in_local_mode_and_the_readme_points_there() -> None:
    local_mode = (DOCS / "local-mode.md").read_text(encoding="utf-8")
    assert "fidelity" in anchors(local_mode)
    table = local_mode[local_mode.index("## Fidelity") :]
    assert "| area | in local mode | |" in table
    assert "(docs/local-mode.md#fidelity)" in README.read_text(encoding="utf-8")


def test_the_cli_reference_is_what_mlcp_help_says() -> None:
    expected = render(build_parser())
    actual = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/cli.md is out of date: python -m mlcp_cli.cli_reference --write"
