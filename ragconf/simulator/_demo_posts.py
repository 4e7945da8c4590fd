"""Demo corpus: blog posts, attachments and team calendars (custom content)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from ragconf.simulator._demo_common import Doc, aid
from ragconf.simulator._storage import (
    attachment_link,
    code,
    emoticon,
    h,
    mention,
    p,
    page_link,
    panel,
    status,
    table,
    task_list,
    time,
    ul,
)

__all__ = ["ATTACHMENTS", "CALENDARS", "POSTS"]


def _csv(rows: Sequence[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


POSTS: dict[str, list[Doc]] = {
    "ENG": [
        Doc("post-buildkite", "Announcing Buildkite: CI is 40% faster", p(
            "We finished moving every pipeline from Jenkins to Buildkite. Median CI time for "
            "the monorepo dropped from 19 to 11 minutes thanks to autoscaled agents and "
            "Docker layer caching. ", emoticon("thumbs-up"))
            + ul(["Pipelines live in .buildkite/pipeline.yml in each repository.",
                  "Agents scale to zero at night, saving about EUR 2,100 a month.",
                  "Questions go to #platform."]), 20, "dev", labels=("ci", "announcement")),
        Doc("post-allhands", "Engineering all-hands recap: January 2026", p(
            "Highlights from the first all-hands of the year, hosted by ",
            mention(aid("tom")), ".")
            + ul(["2025 in numbers: 1,284 deploys, 3 SEV1 incidents, 99.991% availability.",
                  "Priorities for H1: SEPA Instant, sharding the ledger, API v1 sunset.",
                  "New team: Data Platform, led by " + mention(aid("ben")) + "."]),
            108, "tom", labels=("all-hands",)),
        Doc("post-pdf", "How we made invoice PDFs render in under a second", p(
            "Invoice PDFs used to take 3.8 seconds at p95. We replaced wkhtmltopdf with a "
            "warm pool of Gotenberg Chromium workers and pre-rendered the fonts.")
            + code("""gotenberg:
  replicas: 6
  chromium:
    maxQueueSize: 50
    restartAfter: 500""", "yaml", title="Gotenberg settings")
            + p("Result: p95 of 740 ms, and memory use halved."), 130, "lucia",
            labels=("performance", "invoice-api")),
        Doc("post-v1", "Deprecating API v1 on 2026-09-30", panel("warning", p(
            "API v1 stops answering on ", time("2026-09-30"), ". Merchants still on v1 get "
            "monthly e-mails from support."))
            + p("Migration guide: every v1 endpoint has a v2 equivalent; the main change is "
                "cursor pagination (see ", page_link("Pagination"), ")."), 150, "aiko",
            labels=("api", "announcement")),
    ],
    "OPS": [
        Doc("post-pagerduty", "On-call tooling: moving from Opsgenie to PagerDuty", p(
            "From 1 December all alerts route through PagerDuty. Install the app, add your "
            "phone number and test a page with ", "<code>/pd trigger test</code>", ".")
            + task_list([(1, False, mention(aid("marco")) + " Decommission Opsgenie "
                          + time("2026-01-15"))]), 60, "marco", labels=("on-call",)),
        Doc("post-availability", "March 2026 availability report: 99.993%", p(
            "The Payments API was available 99.993% of March (target 99.99%). Error budget "
            "used: 70%, mostly by the search indexer incident on 30 March. Daily numbers: ",
            attachment_link("availability-march-2026.csv", "availability-march-2026.csv"),
            "."), 183, "marco", labels=("availability", "report")),
        Doc("post-maintenance", "Maintenance window: ledger-db upgrade on 2026-04-18", p(
            "On Saturday 18 April from 06:00 to 06:30 UTC the ledger will be read-only "
            "while we upgrade PostgreSQL from 16.2 to 16.4. The API answers ERR-5031 with "
            "Retry-After during the window. Plan: ",
            attachment_link("maintenance-plan.md", "maintenance-plan.md"), ".")
            + p("Status: ", status("SCHEDULED", "Blue")), 190, "priya",
            labels=("maintenance", "postgres")),
    ],
    "HR": [
        Doc("post-enrollment", "Open enrollment for health benefits starts 1 May", p(
            "Between 1 and 31 May you can add family members or change your plan. Changes "
            "take effect on 1 July. See ", page_link("Health insurance"), "."), 205, "hana",
            labels=("benefits",)),
        Doc("post-summer", "Summer hours 2026", p(
            "From 1 July to 31 August, Fridays end at 13:00. On-call rotations are not "
            "affected. Enjoy the sun! ", emoticon("sunny")), 200, "hana",
            labels=("announcement",)),
        Doc("post-interns", "Welcome to our spring interns", p(
            "Please welcome Inês, Mateo and Zofia, who join Payments, Platform and Data for "
            "six months. Their buddies are ", mention(aid("aiko")), ", ",
            mention(aid("dev")), " and ", mention(aid("ben")), "."), 170, "hana",
            labels=("welcome",)),
    ],
    "LEAD": [
        Doc("post-ceo", "Letter from the CEO: our FY26 plan", p(
            "We closed 2025 at EUR 18M ARR, up 64%. In 2026 we focus on three things: "
            "SEPA Instant, reliability, and opening Kraków.")
            + h(2, "Hiring") + p("22 new roles, 14 in engineering. Hiring managers get "
                                 "their approved headcount this week."), 96, "sara",
            labels=("strategy",)),
    ],
}

_WEBHOOK_EXAMPLE = json.dumps({
    "id": "evt_1Pq9c2", "type": "invoice.finalized", "created": 1767261600,
    "data": {"id": "inv_1NfJ28", "amount_due": 129900, "currency": "EUR",
             "customer": "cus_81273", "status": "open"},
}, indent=2).encode()

_TIMELINE_LOG = b"""2026-01-09T00:00:00Z api-eu-lb TLS handshake failed: certificate has expired
2026-01-09T00:00:03Z synthetic-probe api.larkspur.io OK (cert-manager certificate)
2026-01-09T00:41:12Z support ticket #88213 merchant acme-gmbh: "SSL error on api-eu"
2026-01-09T02:30:40Z marco: imported ACM certificate never renewed, requesting new one
2026-01-09T03:12:05Z api-eu-lb listener updated, handshakes succeed
"""

# (container ref, file name, media type, asset name or bytes, day, comment)
ATTACHMENTS: list[tuple[str, str, str, str | bytes, int, str]] = [
    ("arch", "architecture-overview.png", "image/png", "architecture-overview.png", 3,
     "Architecture overview diagram"),
    ("overview", "architecture-overview.png", "image/png", "architecture-overview.png", 4,
     "Request flow"),
    ("adr1", "ledger-erd.png", "image/png", "ledger-erd.png", 6, "Ledger ERD"),
    ("api-errors", "error-codes.csv", "text/csv", "error-codes.csv", 27,
     "All API error codes"),
    ("api-webhooks", "webhook-payload-example.json", "application/json", _WEBHOOK_EXAMPLE, 28,
     "Example invoice.finalized event"),
    ("localdev", "docker-compose.override.yml", "application/x-yaml",
     b"services:\n  postgres:\n    ports: ['5433:5432']\n  kafka:\n    environment:\n"
     b"      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true'\n", 36, "Optional local overrides"),
    ("security", "pentest-scope-2026.txt", "text/plain",
     b"Scope for the June 2026 penetration test: api.larkspur.io, dashboard.larkspur.io, "
     b"auth-service OAuth flows, webhook signing. Out of scope: Adyen, AWS control plane.\n",
     30, "NCC Group scope"),
    ("rb-pg", "failover-checklist.txt", "text/plain", "failover-checklist.txt", 8,
     "Printable checklist"),
    ("rb-kafka", "consumer-lag-dashboard.json", "application/json", json.dumps(
        {"title": "Kafka consumer lag", "panels": [
            {"type": "timeseries", "expr": "sum by (group) (kafka_consumergroup_lag)"}]},
        indent=2).encode(), 10, "Grafana dashboard export"),
    ("oncall", "oncall-schedule-q2-2026.csv", "text/csv", "oncall-schedule-q2-2026.csv", 5,
     "Q2 2026 rotation"),
    ("paging", "incident-severity-matrix.pdf", "application/pdf",
     "incident-severity-matrix.pdf", 6, "One-page severity matrix"),
    ("pm-tls", "incident-2026-01-09-timeline.log", "text/plain", _TIMELINE_LOG, 101,
     "Raw timeline"),
    ("pm-webhooks", "duplicate-deliveries.csv", "text/csv", _csv([
        ("merchant", "events", "duplicates"), ("acme-gmbh", "6120", "2310"),
        ("nordlicht-shop", "4870", "1902"), ("casa-verde", "7010", "2455")]), 144,
     "Duplicates per merchant"),
    ("backup", "restore-test-2026-03.md", "text/markdown",
     b"# Restore test March 2026\n\n- ledger-db PITR to 2026-03-03T04:00Z: 38 min, "
     b"balances match the warehouse.\n- auth-db snapshot restore: 12 min.\n", 160,
     "Monthly restore test"),
    ("hr-home", "employee-handbook.pdf", "application/pdf", "employee-handbook.pdf", 0,
     "Employee handbook 2026"),
    ("remote", "employee-handbook.pdf", "application/pdf", "employee-handbook.pdf", 5,
     "Employee handbook 2026"),
    ("travel", "expense-categories.csv", "text/csv", _csv([
        ("category", "limit_eur", "needs_receipt"), ("meals", "60/day", "yes"),
        ("hotel", "180/night", "yes"), ("taxi", "none", "yes"), ("books", "learning budget",
                                                                 "yes")]), 8,
     "Expense categories in Navan"),
    ("rubric", "interview-scorecard.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "interview-scorecard.docx", 12, "Scorecard template"),
    ("comp", "compensation-bands-2026.csv", "text/csv", _csv([
        ("level", "min_eur", "mid_eur", "max_eur"), ("Engineer II", "52000", "61000", "70000"),
        ("Senior Engineer", "68000", "80000", "92000"),
        ("Staff Engineer", "88000", "102000", "116000")]), 190, "Confidential"),
    ("okrs", "okr-scoring-guide.md", "text/markdown",
     b"# OKR scoring\n\n0.0-0.3 red, 0.4-0.6 yellow, 0.7-1.0 green. "
     b"A consistent 1.0 means the goal was not ambitious enough.\n", 95, "How we score"),
    ("post-availability", "availability-march-2026.csv", "text/csv", _csv(
        [("date", "availability_pct")] + [(f"2026-03-{d:02d}", "100.000" if d != 30
                                           else "99.790") for d in range(1, 32)]), 183,
     "Daily availability"),
    ("post-maintenance", "maintenance-plan.md", "text/markdown",
     b"# ledger-db 16.2 -> 16.4\n\n1. 06:00 set ledger read-only (ERR-5031)\n"
     b"2. 06:05 upgrade replica, fail over, upgrade old primary\n3. 06:25 writes back on\n",
     190, "Step-by-step plan"),
]

# (space key, container ref or None, title, body, day)
CALENDARS: list[tuple[str, str | None, str, str, int]] = [
    ("ENG", None, "Engineering release calendar",
     table(["Date", "Event"], [[time("2026-05-05"), "Tuesday release train"],
                               [time("2026-05-07"), "Thursday release train"],
                               [time("2026-05-26"), "Release freeze for the Q2 audit"]]), 100),
    ("OPS", "oncall", "On-call calendar Q2 2026",
     p("Primary and secondary on-call per week; imported from PagerDuty.")
     + table(["Week", "Primary", "Secondary"], [
         [time("2026-05-04"), mention(aid("dev")), mention(aid("jonas"))],
         [time("2026-05-11"), mention(aid("priya")), mention(aid("aiko"))]]), 150),
    ("HR", None, "Company holidays 2026",
     ul(["Company-wide day off: " + time("2026-06-12"),
         "Winter break: " + time("2026-12-24") + " to " + time("2026-12-31")]), 60),
    ("LEAD", None, "Leadership offsite calendar",
     p("Leadership offsite in Sintra: ", time("2026-06-23"), " to ", time("2026-06-25"),
       "."), 160),
]
