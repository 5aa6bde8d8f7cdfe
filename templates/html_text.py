"""The two alternatives of an email from one template: plain text generated from rendered HTML, and simple HTML built
from text, so neither part is ever missing.

The text keeps what a reader needs (paragraphs, line breaks, list items, and a link's address after its text) and
drops what a text reader cannot use (styles, scripts, the head)."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

_BLOCKS = frozenset({"p", "div", "table", "tr", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
                     "section", "article", "header", "footer", "hr"})
_SKIPPED = frozenset({"head", "style", "script", "title"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            text = self.parts[-1].strip() if self.parts else ""
            if href and href.startswith(("http://", "https://", "mailto:")) and href != text:
                self.parts.append(f" ({href.removeprefix('mailto:')})")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The readable text of `html`: paragraphs separated by a blank line, `<br>` as a line break, list items as
    "- item", links as "text (address)"."""
    collector = _TextCollector()
    collector.feed(html or "")
    collector.close()
    lines = [line.strip() for line in "".join(collector.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_to_html(text: str) -> str:
    """Minimal HTML for a text-only template: escaped, one paragraph per blank-line-separated block, line breaks
    kept."""
    paragraphs = [p for p in re.split(r"\n\s*\n", (text or "").strip()) if p.strip()]
    body = "\n".join(f"<p>{escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>'
