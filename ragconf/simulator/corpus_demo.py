"""The demo corpus: Larkspur, a believable B2B payments company wiki.

>>> site = demo_site()
>>> sorted(s.key for s in site.spaces.values())
['ENG', 'HR', 'LEAD', 'OPS']

Four spaces (ENG engineering, OPS operations, HR people, LEAD leadership — private to
the admin), about 75 pages in trees written in real storage format (code macros with
CDATA, panels, tables, task lists with assignees and due dates, status, expand, include,
page/attachment links, images, mentions, Jira macros, emoticons, layouts), 12 blog posts,
23 attachments (real PDFs, a .docx, CSVs, text; one on custom content), team calendars of type
``CALENDAR_TYPE`` (one labelled, with a sub-calendar inside it), version histories, an
archived and a trashed page, and a restricted subtree ("Security") inside ENG that the
guest cannot see. Footer and inline comment threads (replies, an edited comment, a
resolved inline comment) hold decisions found nowhere in the page text; a folder tree
("Design reviews" / "2026") holds a page two folders deep; a whiteboard (OPS) and a
database (HR) are parents of pages; a Smart Link embed sits under "Architecture".
Fully deterministic.

Accounts: ``demo@ragconf.dev``/``demo-token`` (everything), ``guest@ragconf.dev``/
``guest-token`` (ENG and OPS, no restricted pages), ``hr@ragconf.dev``/``hr-token``
(HR and ENG).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from ragconf.simulator._demo_common import HR_TOKEN, HR_USER, PEOPLE, Doc, aid
from ragconf.simulator._demo_eng import ENG_DOCS
from ragconf.simulator._demo_eng2 import ENG2_DOCS
from ragconf.simulator._demo_ops import OPS_DOCS
from ragconf.simulator._demo_people import HR_DOCS, LEAD_DOCS
from ragconf.simulator._demo_posts import ATTACHMENTS, CALENDARS, POSTS
from ragconf.simulator._demo_threads import add_threads
from ragconf.simulator._site import Site
from ragconf.simulator._state import DEMO_TOKEN, DEMO_USER, GUEST_TOKEN, GUEST_USER
from ragconf.simulator._storage import p

__all__ = ["CALENDAR_TYPE", "HR_TOKEN", "HR_USER", "demo_site", "read_asset"]

CALENDAR_TYPE = "ac:com.atlassian.confluence.plugins.calendar:calendar"
START = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
FINAL = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

_SPACES = [
    ("ENG", "Engineering", "How Larkspur builds its payments platform.", ("engineering",),
     ENG_DOCS + ENG2_DOCS),
    ("OPS", "Operations", "Runbooks, on-call, incidents and infrastructure.", ("operations",),
     OPS_DOCS),
    ("HR", "People", "Policies, benefits, onboarding and hiring.", ("people",), HR_DOCS),
    ("LEAD", "Leadership", "Private space of the leadership team.", ("leadership",),
     LEAD_DOCS),
]
_TOKENS = {"admin": DEMO_TOKEN, "guest": GUEST_TOKEN, "hana": HR_TOKEN}
_TRASHED = Doc("old-template", "Incident template (old)", p(
    "Superseded by the postmortem template in Incident postmortems."), 30, "marco",
    "postmortems")


def read_asset(name: str) -> bytes:
    """Bytes of a bundled asset file (``ragconf/simulator/assets/<name>``)."""
    return resources.files("ragconf.simulator").joinpath("assets", name).read_bytes()


def demo_site() -> Site:
    """Build the demo site (fresh and identical on every call)."""
    site = Site(name="larkspur-demo", now=START - timedelta(days=1), users=[])
    for ref, (email, name, _role) in PEOPLE.items():
        site.add_user(email, _TOKENS.get(ref, ""), name, account_id=aid(ref))
    refs: dict[str, str] = {}
    events: list[tuple[int, int, str, object]] = []
    for key, name, description, labels, docs in _SPACES:
        site.add_space(key, name, description=description, homepage=False,
                       author=DEMO_USER, labels=labels)
        for doc in docs + [_TRASHED] * (key == "OPS"):
            events.append((doc.day, len(events), "page", (key, doc)))
            for day, body, message in doc.edits:
                events.append((day, len(events), "edit", (doc.ref, body, message, doc.author)))
        for doc in POSTS.get(key, []):
            events.append((doc.day, len(events), "post", (key, doc)))
    for att in ATTACHMENTS:
        events.append((att[4], len(events), "attachment", att))
    for cal in CALENDARS:
        events.append((cal[4], len(events), "calendar", cal))
    for day, order, kind, payload in sorted(events, key=lambda e: (e[0], e[1])):
        target = START + timedelta(days=day, minutes=order % 600)
        gap = (target - site.now).total_seconds()
        if gap > 0:
            site.advance(gap)
        _apply(site, refs, kind, payload)
    _finish(site, refs)
    add_threads(site, refs)  # last, so every id above stays what it always was
    site.advance(max((FINAL - site.now).total_seconds(), 0))
    return site


def _email(ref: str) -> str:
    return PEOPLE[ref][0]


def _apply(site: Site, refs: dict[str, str], kind: str, payload: Any) -> None:
    if kind == "page":
        key, doc = payload
        parent = refs[doc.parent] if doc.parent else None
        page_id = site.add_page(key, doc.title, doc.body, parent_id=parent, labels=doc.labels,
                                author=_email(doc.author))
        refs[doc.ref] = page_id
        if doc.parent is None:
            site.space_by_key(key).homepage_id = page_id
        if doc.restricted_to:
            site.restrict(page_id, set(doc.restricted_to))
    elif kind == "edit":
        ref, body, message, author = payload
        site.edit(refs[ref], body=body, message=message, author=_email(author))
    elif kind == "post":
        key, doc = payload
        refs[doc.ref] = site.add_blog_post(key, doc.title, doc.body, labels=doc.labels,
                                           author=_email(doc.author))
    elif kind == "attachment":
        ref, filename, media_type, source, _day, comment = payload
        data = read_asset(source) if isinstance(source, str) else source
        site.add_attachment(refs[ref], filename, data, media_type, comment=comment)
    elif kind == "calendar":
        key, container, title, body, _day = payload
        site.add_custom_content(CALENDAR_TYPE, key, title, body,
                                container_id=refs[container] if container else None)


def _finish(site: Site, refs: dict[str, str]) -> None:
    """Lifecycle states and access rules that make the demo exercise every code path."""
    site.archive(refs["jenkins"])
    site.trash(refs["old-template"])
    # a second version of an attachment (the on-call schedule was corrected)
    schedule = read_asset("oncall-schedule-q2-2026.csv").replace(b"Ben Carter", b"Noor Haddad", 1)
    site.add_attachment(refs["oncall"], "oncall-schedule-q2-2026.csv", schedule, "text/csv",
                        comment="Swapped week 1 secondary")
    site.set_space_access(GUEST_USER, {"ENG", "OPS"})
    site.set_space_access(HR_USER, {"HR", "ENG"})
    for email, _name, _role in PEOPLE.values():
        if email.endswith("@larkspur.io"):  # employees without API tokens: everyday access
            site.set_space_access(email, {"ENG", "OPS", "HR"})
    site.set_space_access(_email("sara"), None)
    site.set_space_access(_email("tom"), None)
