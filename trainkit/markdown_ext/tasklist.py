"""Task lists: ``- [ ] Call three prospects`` becomes a labelled checkbox.

Each item gets a stable id from its lesson and its own text, so editing one item keeps
the reader's ticks on every other item (the reader's progress is keyed by these ids).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from ..model import quick_pickle

_MARKER = re.compile(r"^\[([ xX])\][ \t]+")
_STASHED = re.compile("\x02wzxhzdk:\\d+\x03")
_BLOCK_TAGS = {"ul", "ol", "p", "div", "pre", "blockquote", "table", "dl"}


@quick_pickle
@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One box of a lesson's checklist."""

    id: str
    """Stable across builds and versions while the item's text stays the same."""
    text: str
    """The item's text, plain."""
    checked: bool
    """Ticked in the source (``- [x]``): shown ticked until the reader changes it."""


def item_id(owner: str, text: str) -> str:
    """The id of an item with ``text`` in the lesson ``owner`` (``<course>/<lesson>``)."""
    normal = " ".join(text.split())
    return hashlib.sha1(f"{owner}\n{normal}".encode()).hexdigest()[:12]


class TaskListProcessor(Treeprocessor):
    def __init__(self, md: Markdown) -> None:
        super().__init__(md)
        self.owner = ""
        self.items: list[ChecklistItem] = []
        self.used: set[str] = set()
        """The ids given so far, and the next ``-N`` suffix to try for each text, so
        many identical items cost linear time (rescanning them was cubic)."""
        self.next_suffix: dict[str, int] = {}

    def run(self, root: etree.Element) -> None:
        for ul in root.iter("ul"):
            tasks = [li for li in ul if li.tag == "li" and self._convert(li)]
            if tasks:
                ul.set("class", (ul.get("class", "") + " checklist").strip())

    def _convert(self, li: etree.Element) -> bool:
        holder = li
        if not (li.text and _MARKER.match(li.text)):
            if len(li) and li[0].tag == "p" and li[0].text and _MARKER.match(li[0].text):
                holder = li[0]
            else:
                return False
        assert holder.text is not None
        match = _MARKER.match(holder.text)
        assert match is not None
        label = etree.Element("label")
        label.text = holder.text[match.end():]
        holder.text = None
        for child in list(holder):
            if child.tag in _BLOCK_TAGS:
                break
            holder.remove(child)
            label.append(child)
        text = _STASHED.sub("", "".join(label.itertext())).strip()
        base = item_id(self.owner, text)
        ident, n = base, self.next_suffix.get(base, 2)
        while ident in self.used:
            ident, n = f"{base}-{n}", n + 1
        self.used.add(ident)
        self.next_suffix[base] = n
        checked = match.group(1) != " "
        box = etree.Element("input", {"type": "checkbox", "id": f"task-{ident}",
                                      "data-task": ident})
        if checked:
            box.set("checked", "checked")
        label.set("for", f"task-{ident}")
        holder.insert(0, box)
        holder.insert(1, label)
        label.tail, box.tail = (label.tail or ""), None
        li.set("class", (li.get("class", "") + " task").strip())
        self.items.append(ChecklistItem(ident, text, checked))
        return True


class TaskListExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's API)
        processor = TaskListProcessor(md)
        md.treeprocessors.register(processor, "trainkit_tasklist", 15)
        md.registerExtension(self)
        self.processor = processor

    def reset(self) -> None:
        self.processor.items = []
        self.processor.used, self.processor.next_suffix = set(), {}

    def start(self, owner: str, **_: Any) -> None:
        self.processor.owner = owner
        self.processor.items = []
        self.processor.used, self.processor.next_suffix = set(), {}
