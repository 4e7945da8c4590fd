"""Regenerate the bundled demo assets: ``python -m ragconf.simulator._make_assets``.

PDFs, text, CSV and PNG files are byte-for-byte reproducible (a test checks the committed
files against these functions); the .docx embeds timestamps, so it is only regenerated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import struct
import sys
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from ragconf.simulator._pdf import write_pdf

__all__ = ["REPRODUCIBLE", "main", "scorecard_docx"]

_HANDBOOK = [
    ["Welcome to Larkspur. This handbook explains how we work together: our hours, our",
     "tools, how we spend company money and how we keep customer data safe.",
     "",
     "1. Working hours",
     "Larkspur is remote-first. Core collaboration hours are 10:00 to 15:00 Lisbon time;",
     "outside them, nobody is expected to answer chat messages. Meetings are not booked",
     "on Friday afternoons (Focus Friday).",
     "",
     "2. Time off",
     "Everyone gets 25 days of paid vacation plus the public holidays of their country.",
     "Book time off in BambooHR at least two weeks ahead for absences over three days.",
     "Sick leave does not need approval: tell your manager and log it on the same day.",
     "",
     "3. Equipment",
     "You choose a MacBook Pro or a ThinkPad X1 on day one. Laptops are refreshed every",
     "three years. A one-off home office budget of EUR 1,200 covers desk, chair and screen.",
    ],
    ["4. Expenses",
     "Submit expenses in Navan within 30 days, with a receipt. Meals while travelling are",
     "covered up to EUR 60 per day. Anything above EUR 500 needs approval before you buy.",
     "",
     "5. Security basics",
     "Single sign-on with a hardware security key (YubiKey) is mandatory for every account.",
     "Never paste customer data into chat tools or AI assistants. Report a lost laptop to",
     "security@larkspur.io within one hour so the device can be wiped remotely.",
     "",
     "6. Learning",
     "Each employee has a learning budget of EUR 1,500 per year for books, courses and",
     "conferences, and may spend up to five working days per year on learning.",
     "",
     "7. Code of conduct",
     "We expect respectful, inclusive behaviour in every channel. Harassment is never",
     "tolerated; report concerns to People Ops or anonymously through the Speak Up form.",
    ]]

_SEVERITY = [[
    "Severity levels decide who gets paged and how fast we communicate.",
    "",
    "SEV1 - Customer-facing outage or data loss. Payments API error rate above 5 percent",
    "for 5 minutes, or ledger writes failing. Page the incident commander immediately;",
    "status page update within 15 minutes; executive update every 30 minutes.",
    "",
    "SEV2 - Major degradation. p99 latency of the Payments API above 2 seconds, webhook",
    "delivery delayed by more than 10 minutes, or one region impaired. Page primary",
    "on-call; status page update within 30 minutes.",
    "",
    "SEV3 - Minor impact with a workaround, e.g. reporting exports delayed. Handle during",
    "business hours; no status page update needed.",
    "",
    "SEV4 - Internal tooling only. Create a ticket in the OPS Jira project.",
    "",
    "Every SEV1 and SEV2 gets a blameless postmortem within five working days.",
]]

_FAILOVER = """POSTGRES FAILOVER CHECKLIST (ledger-db, prod-eu-west-1)
======================================================

Before you start
[ ] Declare an incident in #inc-ledger and name an incident commander
[ ] Confirm the primary is really down: pg_isready -h ledger-db-primary.internal -p 5432
[ ] Check replication lag on both replicas (must be under 16 MB of WAL)

Promote
[ ] Pause ledger-service writers: kubectl scale deploy/ledger-writer --replicas=0 -n ledger
[ ] Promote the replica with the least lag: patronictl failover ledger-db --candidate ledger-db-1
[ ] Verify the new primary accepts writes: SELECT pg_is_in_recovery();  -- must return false
[ ] Update the ledger-db-primary DNS record (TTL 30 s) if Patroni did not do it

After
[ ] Scale ledger-writer back to 6 replicas
[ ] Watch the ledger_write_errors_total dashboard for 15 minutes
[ ] Rebuild the old primary as a replica (pg_basebackup) before the next business day
[ ] Write the postmortem within five working days
"""

_ERROR_ROWS = [
    ("code", "http_status", "meaning", "what to do"),
    ("ERR-4001", "400", "Malformed JSON body", "Check the request body against the schema"),
    ("ERR-4010", "401", "Missing or invalid API key",
     "Send Authorization: Bearer <key>; rotate the key if it leaked"),
    ("ERR-4030", "403", "API key lacks the required scope",
     "Add the payments:write scope in the dashboard"),
    ("ERR-4031", "409", "Idempotency key reused with a different payload",
     "Generate a new Idempotency-Key for a new request"),
    ("ERR-4041", "404", "Invoice not found", "Check the invoice id and the account it belongs to"),
    ("ERR-4220", "422", "Currency not supported for this account",
     "Enable the currency in account settings"),
    ("ERR-4290", "429", "Rate limit exceeded", "Back off and retry after the Retry-After header"),
    ("ERR-5001", "500", "Internal error",
     "Retry with the same Idempotency-Key; contact support with the request id"),
    ("ERR-5031", "503", "Ledger temporarily read-only (maintenance or failover)",
     "Retry after Retry-After seconds"),
]

_PEOPLE = ["Marco Bellini", "Dev Patel", "Priya Raman", "Jonas Weber", "Aiko Tanaka",
           "Ben Carter"]


def _csv(rows: Sequence[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _oncall() -> bytes:
    rows = [("week_starting", "primary", "secondary", "incident_commander")]
    start = dt.date(2026, 4, 6)
    for i in range(13):
        rows.append((str(start + dt.timedelta(weeks=i)), _PEOPLE[i % 6], _PEOPLE[(i + 2) % 6],
                     _PEOPLE[(i + 4) % 6]))
    return _csv(rows)


def _png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    raw = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))
                   for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


REPRODUCIBLE: dict[str, Callable[[], bytes]] = {
    "employee-handbook.pdf": lambda: write_pdf(
        _HANDBOOK, title="Larkspur Employee Handbook 2026",
        headings=["Larkspur Employee Handbook 2026",
                  "Larkspur Employee Handbook 2026 (continued)"]),
    "incident-severity-matrix.pdf": lambda: write_pdf(
        _SEVERITY, title="Incident severity matrix", headings=["Incident severity matrix"]),
    "failover-checklist.txt": lambda: _FAILOVER.encode("utf-8"),
    "error-codes.csv": lambda: _csv(_ERROR_ROWS),
    "oncall-schedule-q2-2026.csv": _oncall,
    "architecture-overview.png": lambda: _png(
        96, 64, lambda x, y: (40, 90, 160) if (x // 24 + y // 16) % 2 else (230, 236, 245)),
    "ledger-erd.png": lambda: _png(
        80, 60, lambda x, y: (20, 120, 80) if x % 20 < 2 or y % 15 < 2 else (245, 245, 240)),
}

_SCORECARD_AREAS = [
    ("Problem solving", "Breaks the problem down, states assumptions, tests edge cases"),
    ("System design", "Discusses data model, failure modes and idempotency of payment flows"),
    ("Code quality", "Readable code, meaningful names, tests before refactoring"),
    ("Collaboration", "Asks clarifying questions, takes hints, explains trade-offs"),
    ("Ownership", "Talks about on-call, postmortems and following work through to production"),
]


def scorecard_docx(path: Path) -> None:
    """Write the interview scorecard .docx (python-docx)."""
    import docx

    doc = docx.Document()
    doc.core_properties.author = "Larkspur People Ops"
    doc.core_properties.title = "Engineering interview scorecard"
    doc.add_heading("Engineering interview scorecard", 0)
    doc.add_paragraph(
        "Fill in one scorecard per interview within 24 hours. Score each area from 1 (no "
        "evidence) to 4 (strong evidence) and write down the evidence, not impressions.")
    table = doc.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Area", "What good looks like", "Score (1-4)"),
                          strict=True):
        cell.text = text
    for area, good in _SCORECARD_AREAS:
        row = table.add_row().cells
        row[0].text, row[1].text, row[2].text = area, good, ""
    doc.add_paragraph(
        "Overall recommendation: strong hire / hire / no hire / strong no hire. A 'no hire' "
        "needs at least two concrete pieces of evidence.")
    doc.save(str(path))


def main(out_dir: Path | None = None) -> None:
    target = out_dir or Path(__file__).with_name("assets")
    target.mkdir(parents=True, exist_ok=True)
    for name, build in REPRODUCIBLE.items():
        (target / name).write_bytes(build())
    scorecard_docx(target / "interview-scorecard.docx")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
