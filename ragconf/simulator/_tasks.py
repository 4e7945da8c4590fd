"""Inline tasks (``<ac:task>``) derived from a storage body, as Confluence derives them.

>>> found = parse_tasks('<ac:task-list><ac:task><ac:task-id>7</ac:task-id>'
...     '<ac:task-status>incomplete</ac:task-status><ac:task-body>Ship it '
...     '<ac:link><ri:user ri:account-id="abc" /></ac:link> <time datetime="2026-05-20" />'
...     '</ac:task-body></ac:task></ac:task-list>')
>>> [(t.local_id, t.status, t.assignee, t.due_ms) for t in found]
[('7', 'incomplete', 'abc', 1779235200000)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["ParsedTask", "parse_tasks"]

_TASK_TAG = re.compile(r"<(/?)ac:task>")
_TASK_ID = re.compile(r"<ac:task-id>\s*([^<]*?)\s*</ac:task-id>")
_TASK_STATUS = re.compile(r"<ac:task-status>\s*([^<]*?)\s*</ac:task-status>")
_ACCOUNT = re.compile(r'ri:account-id="([^"]+)"')
_TIME = re.compile(r'<time\s+datetime="(\d{4}-\d{2}-\d{2})')
_NESTED_LIST = re.compile(r"<ac:task-list>.*</ac:task-list>", re.S)


@dataclass(frozen=True, slots=True)
class ParsedTask:
    local_id: str
    status: str
    body: str
    assignee: str | None
    due_ms: int | None


def _spans(xhtml: str) -> list[tuple[int, int]]:
    """(start, end) of every ``<ac:task>`` element, nested ones included, in document order."""
    stack: list[int] = []
    spans: list[tuple[int, int]] = []
    for m in _TASK_TAG.finditer(xhtml):
        if not m.group(1):
            stack.append(m.end())
        elif stack:
            spans.append((stack.pop(), m.start()))
    spans.sort()
    return spans


def _due(text: str) -> int | None:
    m = _TIME.search(text)
    if m is None:
        return None
    day = datetime.strptime(m.group(1), "%Y-%m-%d").replace(tzinfo=UTC)
    return int(day.timestamp() * 1000)


def parse_tasks(xhtml: str) -> list[ParsedTask]:
    """Every task in ``xhtml``; the first mention in a task's own body is its assignee."""
    if "<ac:task>" not in xhtml:
        return []
    found: list[ParsedTask] = []
    for index, (start, end) in enumerate(_spans(xhtml), start=1):
        inner = xhtml[start:end]
        head = inner.split("<ac:task-body>", 1)[0]
        id_match = _TASK_ID.search(head)
        status_match = _TASK_STATUS.search(head)
        body = ""
        if "<ac:task-body>" in inner:
            body = inner.split("<ac:task-body>", 1)[1].rsplit("</ac:task-body>", 1)[0]
        # a nested task list belongs to the nested tasks, not to this one's text
        own = _NESTED_LIST.sub("", body).strip()
        account = _ACCOUNT.search(own)
        status = status_match.group(1) if status_match else "incomplete"
        found.append(
            ParsedTask(
                local_id=id_match.group(1) if id_match else str(index),
                status="complete" if status == "complete" else "incomplete",
                body=own,
                assignee=account.group(1) if account else None,
                due_ms=_due(own),
            )
        )
    return found
