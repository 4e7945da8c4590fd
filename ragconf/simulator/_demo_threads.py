"""Demo corpus: comment threads, folders, a whiteboard, a database, a Smart Link embed and
labelled custom content, added after everything else so older ids stay as they were.

The comments hold decisions that appear nowhere in the page text (the retention of
backups was raised to 400 days in a comment on "Backup policy", not in its table), so a
search that skips comments misses them.
"""

from __future__ import annotations

from ragconf.simulator._demo_common import PEOPLE
from ragconf.simulator._site import Site
from ragconf.simulator._storage import h, p, table, time, ul

__all__ = ["ARCHIVAL_TITLE", "DECISION_LABELS", "add_threads"]

ARCHIVAL_TITLE = "Design review: ledger archival"
DECISION_LABELS = ("design-review", "calendar")
_HALF_DAY = 12 * 3600

_ARCHIVAL = (
    p("Ledger entries older than 18 months move out of the hot PostgreSQL cluster. The "
      "archiver copies closed months into monthly partitions, verifies the row counts and "
      "checksums, and then detaches the partitions.")
    + h(2, "Where archived data lives")
    + p("Detached partitions are exported as Parquet to cold storage in S3 Glacier, one "
        "object per partition, encrypted with the ledger KMS key.")
    + h(2, "Open questions")
    + ul(["How long must archived entries stay queryable for auditors?",
          "Who approves deleting an archived partition?"])
)
_CHECKLIST = (
    p("Bring these to every design review:")
    + ul(["The problem, in two sentences, and who has it.",
          "The options considered, with the one you recommend.",
          "Data retention and deletion: what is kept, where, and for how long.",
          "Rollout and rollback plan, with the metrics that decide between them."])
)
_COMMANDER = (
    p("The incident commander runs the incident; they do not debug it.")
    + ul(["Open the incident channel and page the owning team.",
          "Post an update every 30 minutes, even when nothing changed.",
          "Hand over explicitly when you leave; write the handover in the channel."])
)
_TRACKER_GUIDE = (
    p("Each row of the hiring pipeline tracker is one candidate. Columns: role, stage, "
      "interviewers, next step and owner.")
    + p("Stages: applied, screen, technical, onsite, offer, hired or declined.")
)
_REVIEW_CALENDAR = table(["Date", "Review"], [
    [time("2026-05-12"), "Ledger archival (second round)"],
    [time("2026-05-26"), "Webhook retries v2"],
])
_REVIEWS_POST = (
    p("Design reviews are booked on the new Design review calendar. Sessions of the "
      "architecture group run every other Tuesday afternoon; bring the design review "
      "checklist filled in.")
)
_TEMPLATE = (b"# Design review: <topic>\n\n## Problem\n\n## Options considered\n\n"
             b"## Decision\n\n## Retention and deletion\n")
_SESSIONS = p("Architecture group sessions: every other Tuesday, 14:00 to 15:00 CET.")


def _email(ref: str) -> str:
    return PEOPLE[ref][0]


def add_threads(site: Site, refs: dict[str, str]) -> None:
    """Add the tree nodes, pages, custom content and comments of this module."""
    # ENG: a folder tree under the homepage, a page two folders deep
    reviews = site.add_folder("ENG", "Design reviews", parent_id=refs["eng-home"],
                              author=_email("aiko"))
    year = site.add_folder("ENG", "2026", parent_id=reviews, author=_email("aiko"))
    refs["folder-reviews"], refs["folder-2026"] = reviews, year
    refs["review-checklist"] = site.add_page(
        "ENG", "Design review checklist", _CHECKLIST, parent_id=reviews,
        labels=("design-review", "guide"), author=_email("aiko"))
    archival = site.add_page("ENG", ARCHIVAL_TITLE, _ARCHIVAL, parent_id=year,
                             labels=("design-review", "ledger"), author=_email("priya"))
    refs["archival"] = archival
    refs["embed-grafana"] = site.add_embed(
        "ENG", "Ledger Grafana dashboard", "https://grafana.larkspur.io/d/ledger-overview",
        parent_id=refs["arch"], author=_email("marco"))
    # OPS: a whiteboard with a page under it; HR: a database with a page under it
    board = site.add_whiteboard("OPS", "Incident response flow", parent_id=refs["ops-home"],
                                author=_email("marco"))
    refs["whiteboard"] = board
    refs["commander"] = site.add_page("OPS", "Incident commander checklist", _COMMANDER,
                                      parent_id=board, labels=("incident",),
                                      author=_email("marco"))
    tracker = site.add_database("HR", "Hiring pipeline tracker", parent_id=refs["hiring"],
                                author=_email("hana"))
    refs["database"] = tracker
    refs["tracker-guide"] = site.add_page("HR", "Hiring tracker field guide", _TRACKER_GUIDE,
                                          parent_id=tracker, labels=("hiring",),
                                          author=_email("hana"))
    # custom content with labels, and custom content inside it
    calendar = site.add_custom_content(
        "ac:com.atlassian.confluence.plugins.calendar:calendar", "ENG",
        "Design review calendar", _REVIEW_CALENDAR, author=_email("aiko"))
    site.set_labels(calendar, DECISION_LABELS)
    refs["review-calendar"] = calendar
    site.add_attachment(calendar, "design-review-template.md", _TEMPLATE, "text/markdown",
                        comment="Template for review notes", author=_email("aiko"))
    refs["review-sessions"] = site.add_custom_content(
        "ac:com.atlassian.confluence.plugins.calendar:calendar", "ENG",
        "Architecture group sessions", _SESSIONS, container_id=calendar,
        author=_email("aiko"))
    refs["post-reviews"] = site.add_blog_post(
        "ENG", "Design reviews now have a shared calendar", _REVIEWS_POST,
        labels=("design-review", "announcement"), author=_email("aiko"))
    site.advance(_HALF_DAY)
    _comments(site, refs)


def _comments(site: Site, refs: dict[str, str]) -> None:
    archival = refs["archival"]
    partitions = site.add_comment(
        archival, p("We agreed in the review to switch to weekly partitions once volume "
                    "passes 50 million rows a month."),
        selection="monthly partitions", author=_email("aiko"))
    site.add_comment(None, p("Agreed. Priya owns the partition migration; target is the "
                             "end of June."), parent_id=partitions, author=_email("tom"))
    glacier = site.add_comment(
        archival, p("Decision: Glacier Instant Retrieval, not Deep Archive, because auditors "
                    "need same-day access to archived entries."),
        selection="cold storage in S3 Glacier", author=_email("jonas"))
    site.advance(_HALF_DAY)
    site.resolve_comment(glacier, author=_email("priya"))
    site.add_comment(archival, p("Sign-off: approved by the architecture group on "
                                 "2026-04-22. Rollout starts in the EU region."),
                     author=_email("tom"))
    site.advance(_HALF_DAY)
    retention = site.add_comment(
        refs["backup"], p("After the review we raised the retention of ledger-db backups to "
                          "400 days, to meet the new audit requirement."),
        author=_email("priya"))
    site.add_comment(None, p("Done in Terraform: the 400-day lifecycle rule is live on every "
                             "backup bucket."), parent_id=retention, author=_email("marco"))
    site.advance(_HALF_DAY)
    site.edit_comment(retention, p(
        "After the review we raised the retention of ledger-db backups to 400 days (it "
        "was 35), to meet the new audit requirement."), author=_email("priya"))
    site.add_comment(refs["post-maintenance"], p(
        "The next major upgrade, to PostgreSQL 17, is planned for October, in the same "
        "Saturday window."), author=_email("priya"))
    schedule = next(a.id for a in site.attachments.values()
                    if a.container_id == refs["oncall"]
                    and a.title == "oncall-schedule-q2-2026.csv")
    site.add_comment(schedule, p("Swap approved: Noor covers the first secondary week."),
                     author=_email("marco"))
    site.add_comment(refs["post-reviews"], p(
        "Heads-up: the architecture group meets weekly until the end of May, then every "
        "other week again."), selection="every other Tuesday afternoon", author=_email("tom"))
    site.add_comment(refs["review-calendar"], p(
        "From June, reviews move to Thursdays at 15:00 CET."), author=_email("aiko"))
    # comments where not everyone may look: a restricted page and the private space
    site.add_comment(refs["secrets"], p("Vault root token rotation moves to every 60 days."),
                     author=_email("jonas"))
    site.add_comment(refs["comp"], p("The board approved a 4% merit budget for 2026."),
                     author=_email("sara"))
