"""Every relative link between README.md and docs/*.md resolves, its #anchor included (issue 25).

A link is `[text](target)` outside code; a target with a scheme (https:, mailto:) is not checked
here. The file must exist, relative to the page that links; an anchor must be a heading of that
file (or of the page itself, for `#anchor` alone), by GitHub's rules: the heading's text as
rendered, lower-cased, every character but letters, digits, `_`, `-` and spaces dropped (so
backticks and other punctuation go), spaces turned into hyphens, and `-1`, `-2`, ... after a
repeated one. `<a id="...">` and `<a name="...">` count as anchors too.
"""

from __future__ import annotations

import functools
import pathlib
import re

import pytest

from render import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) or [text](target "title"); the text may hold one level of brackets, as in [`x`].
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The page's lines outside fenced code blocks, with their numbers."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if match := FENCE.match(line):
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is None:
            lines.append((number, line))
    return lines


def rendered(heading: str) -> str:
    """A heading's text as GitHub renders it: links to their text, no emphasis or code markers."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "")
    return re.sub(r"(\*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w))", "", text)


def slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", rendered(heading).strip().lower()).replace(" ", "-")


@functools.cache
def anchors(page: pathlib.Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(page.read_text()):
        found.update(HTML_ANCHOR.findall(line))
        if match := HEADING.match(line):
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links(page: pathlib.Path) -> list[tuple[int, str]]:
    found = []
    for number, line in prose_lines(page.read_text()):
        line = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
        found += [(number, target) for target in LINK.findall(line)]
    return found


def broken(page: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    """The page's relative links that do not resolve, each with its line."""
    problems = []
    for number, target in links(page):
        if not target or SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        where = f"{page.relative_to(root)}:{number}: {target}"
        if not linked.exists():
            problems.append(f"{where}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{where}: no heading with the anchor #{anchor} in {linked.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page: pathlib.Path) -> None:
    assert broken(page) == []


def test_the_pages_link_to_each_other() -> None:
    """The check sees links at all: README links to docs/, with anchors, and the docs link back."""
    targets = {target for page in PAGES for _, target in links(page)}
    assert any(t.startswith("docs/") and "#" in t for t in targets)
    assert any(t.startswith("../README.md#") for t in targets)


def test_github_slugs() -> None:
    assert slug("`Custom::EndpointTargets` (`eni-targets`)") == "customendpointtargets-eni-targets"
    assert slug("When AWS's native private custom domains serve instead") == (
        "when-awss-native-private-custom-domains-serve-instead"
    )
    assert slug("Changing `FRONTDOOR_DNS_GRACE_RUNS`") == "changing-frontdoor_dns_grace_runs"
    assert slug("`frontdoor status --stack NAME [--region R]... [--json]`") == (
        "frontdoor-status---stack-name---region-r---json"
    )
    assert slug("First deploy: an internal ALB in front of the sample API") == (
        "first-deploy-an-internal-alb-in-front-of-the-sample-api"
    )
    assert slug("The demo: `make demo`") == "the-demo-make-demo"


def test_a_broken_anchor_and_a_missing_page_are_found(tmp_path: pathlib.Path) -> None:
    page = tmp_path / "page.md"
    other = tmp_path / "other.md"
    other.write_text("# Other\n\n## A heading\n\n## A heading\n\n```sh\n# not a heading\n```\n")
    page.write_text(
        "# Page\n\n[ok](other.md#a-heading) [ok](other.md#a-heading-1) [ok](#page)\n"
        "[bad](other.md#not-a-heading) [bad](missing.md) `[code](missing.md)`\n"
        "```\n[in a fence](missing.md)\n```\n[web](https://example.com/#x)\n"
    )
    problems = broken(page, root=tmp_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "other.md#not-a-heading: no heading with the anchor #not-a-heading in other.md",
        "missing.md: no such file",
    ]
