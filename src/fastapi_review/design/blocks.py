"""Markdown -> a flat list of typed blocks (headings, paragraphs, lists, tables, code).

Built on markdown-it-py tokens: no regular expression ever runs over the raw document
to find its structure. Every block keeps its 1-based source line and the heading path
it sits under; inline text is kept twice: as plain words and as its code spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token


@dataclass
class Inline:
    """Inline markdown as plain text plus the content of its `code spans`."""

    text: str
    codes: list[str] = field(default_factory=list)
    bold: list[str] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # "heading" | "paragraph" | "list" | "table" | "code"
    line: int
    section: list[str]  # heading path, outermost first
    inline: Inline = field(default_factory=lambda: Inline(""))
    level: int = 0  # heading level
    items: list[ListItem] = field(default_factory=list)
    ordered: bool = False
    header: list[Inline] = field(default_factory=list)
    rows: list[tuple[int, list[Inline]]] = field(default_factory=list)
    code: str = ""
    info: str = ""


@dataclass
class ListItem:
    line: int
    inline: Inline  # the item's whole text, nested lists included
    number: int | None = None
    children: list[ListItem] = field(default_factory=list)


def _inline(tok: Token | None) -> Inline:
    if tok is None:
        return Inline("")
    parts: list[str] = []
    codes: list[str] = []
    bold: list[str] = []
    in_bold = False
    bold_buf: list[str] = []
    for child in tok.children or []:
        if child.type == "text":
            parts.append(child.content)
            if in_bold:
                bold_buf.append(child.content)
        elif child.type == "code_inline":
            parts.append(child.content)
            codes.append(child.content)
            if in_bold:
                bold_buf.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif child.type == "strong_open":
            in_bold, bold_buf = True, []
        elif child.type == "strong_close":
            in_bold = False
            bold.append("".join(bold_buf).strip())
        elif child.type in {"html_inline"}:
            continue
    return Inline(" ".join("".join(parts).split()), codes, bold)


def _merge(items: list[Inline]) -> Inline:
    return Inline(
        " ".join(i.text for i in items if i.text),
        [c for i in items for c in i.codes],
        [b for i in items for b in i.bold],
    )


def _line(tok: Token) -> int:
    return tok.map[0] + 1 if tok.map else 0


def _close_index(tokens: list[Token], start: int) -> int:
    """Index of the token closing the one at `start` (same nesting)."""
    depth = 0
    for i in range(start, len(tokens)):
        depth += tokens[i].nesting
        if depth == 0:
            return i
    return len(tokens) - 1


def _list_items(tokens: list[Token], start: int, end: int) -> list[ListItem]:
    items: list[ListItem] = []
    i = start + 1
    while i < end:
        tok = tokens[i]
        if tok.type == "list_item_open":
            close = _close_index(tokens, i)
            own: list[Inline] = []
            children: list[ListItem] = []
            j = i + 1
            while j < close:
                sub = tokens[j]
                if sub.type in {"bullet_list_open", "ordered_list_open"}:
                    sub_close = _close_index(tokens, j)
                    children.extend(_list_items(tokens, j, sub_close))
                    j = sub_close + 1
                    continue
                if sub.type == "inline":
                    own.append(_inline(sub))
                elif sub.type in {"fence", "code_block"}:
                    own.append(Inline(" ".join(sub.content.split()), [sub.content]))
                j += 1
            number: int | None = None
            if tok.info and tok.info.isdigit():
                number = int(tok.info)
            whole = _merge(own + [c.inline for c in children])
            items.append(ListItem(_line(tok), whole, number, children))
            i = close + 1
            continue
        i += 1
    return items


def parse_blocks(text: str) -> list[Block]:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        section = [h for _, h in headings]
        if tok.type == "heading_open":
            level = int(tok.tag[1:]) if tok.tag[1:].isdigit() else 1
            inl = _inline(tokens[i + 1] if i + 1 < len(tokens) else None)
            headings = [h for h in headings if h[0] < level] + [(level, inl.text)]
            blocks.append(Block("heading", _line(tok), section, inl, level=level))
            i = _close_index(tokens, i) + 1
            continue
        if tok.type == "paragraph_open":
            blocks.append(Block("paragraph", _line(tok), section, _inline(tokens[i + 1])))
            i = _close_index(tokens, i) + 1
            continue
        if tok.type in {"bullet_list_open", "ordered_list_open"}:
            close = _close_index(tokens, i)
            items = _list_items(tokens, i, close)
            blocks.append(
                Block(
                    "list",
                    _line(tok),
                    section,
                    _merge([it.inline for it in items]),
                    items=items,
                    ordered=tok.type == "ordered_list_open",
                )
            )
            i = close + 1
            continue
        if tok.type == "table_open":
            close = _close_index(tokens, i)
            header: list[Inline] = []
            rows: list[tuple[int, list[Inline]]] = []
            current: list[Inline] = []
            row_line = 0
            in_head = False
            for j in range(i + 1, close):
                sub = tokens[j]
                if sub.type == "thead_open":
                    in_head = True
                elif sub.type == "thead_close":
                    in_head = False
                elif sub.type == "tr_open":
                    current, row_line = [], _line(sub)
                elif sub.type == "tr_close":
                    if in_head:
                        header = current
                    else:
                        rows.append((row_line, current))
                elif sub.type == "inline":
                    current.append(_inline(sub))
            blocks.append(Block("table", _line(tok), section, header=header, rows=rows))
            i = close + 1
            continue
        if tok.type in {"fence", "code_block"}:
            blocks.append(
                Block("code", _line(tok), section, code=tok.content, info=(tok.info or "").strip())
            )
        i += 1
    return blocks
