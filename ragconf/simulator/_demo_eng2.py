"""Demo corpus, ENG space (part 2): service catalog, API reference, development guide."""

from __future__ import annotations

from ragconf.simulator._demo_common import Doc, aid
from ragconf.simulator._storage import (
    attachment_link,
    children,
    code,
    expand,
    h,
    include,
    jira,
    mention,
    ol,
    p,
    page_link,
    panel,
    status,
    table,
    ul,
)

__all__ = ["ENG2_DOCS"]

# name, owner, language, port, purpose, dependencies, SLO, special note
_SERVICES = [
    ("ledger-service", "priya", "Go 1.22", 7001,
     "Records every money movement as balanced double-entry postings and serves balances.",
     "PostgreSQL ledger-db (Patroni), Kafka topic ledger.postings",
     "99.99% of posting writes succeed; p99 write latency under 150 ms",
     "Writes are serialised per account; hot merchant accounts are sharded by sub-account."),
    ("invoice-api", "aiko", "Kotlin 2.0 / Spring Boot 3", 7002,
     "Creates, finalises and voids invoices; renders invoice PDFs with Gotenberg.",
     "ledger-service (gRPC), Kafka topic invoice.events, S3 bucket larkspur-invoices",
     "99.95% availability; PDF rendering p95 under 2 s",
     "Invoice numbers are allocated per merchant sequence and are never reused."),
    ("payments-gateway", "aiko", "Go 1.22", 7003,
     "Talks to Adyen for card and SEPA Direct Debit payments and maps their results to ours.",
     "Adyen Checkout API, ledger-service, auth-service, Redis idempotency store",
     "99.95% availability; p99 authorisation latency under 1.2 s (Adyen included)",
     "Adyen webhooks arrive at /internal/adyen/notifications and must answer [accepted]."),
    ("notification-worker", "marco", "TypeScript / Node 20", 7004,
     "Sends transactional e-mail through Amazon SES and delivers merchant webhooks.",
     "Kafka topics invoice.events and payment.events, SES, DynamoDB delivery log",
     "99% of webhooks delivered within 60 s of the event",
     "Webhook retries follow 1 min, 5 min, 30 min, 2 h, 6 h, 24 h; then the endpoint is "
     "disabled and the merchant is e-mailed."),
    ("auth-service", "jonas", "Go 1.22", 7005,
     "Issues and verifies API keys and OAuth 2.0 client credentials; stores dashboard "
     "sessions.",
     "PostgreSQL auth-db, Redis session store",
     "99.99% availability; key verification p99 under 5 ms (cached)",
     "API keys are stored as Argon2id hashes; only the prefix lk_live_ or lk_test_ and the "
     "last four characters are shown again."),
    ("search-indexer", "ben", "Python 3.12", 7006,
     "Consumes invoice events and keeps the OpenSearch invoice index up to date for the "
     "dashboard search box.",
     "Kafka topic invoice.events, OpenSearch 2.13 cluster search-prod",
     "Index freshness under 30 s for 99% of invoices",
     "A full reindex takes about 3 hours; run it from the reindex CronJob, never ad hoc."),
]


def _service_page(name: str, owner: str, lang: str, port: int, purpose: str, deps: str,
                  slo: str, note: str) -> str:
    return (
        table(["Field", "Value"], [
            ["Owner", mention(aid(owner))],
            ["Repository", f"github.com/larkspur/{name}"],
            ["Language", lang],
            ["Port (gRPC)", str(port)],
            ["Lifecycle", status("PRODUCTION", "Green")],
        ])
        + h(2, "Purpose") + p(purpose)
        + h(2, "Dependencies") + p(deps)
        + h(2, "Service level objective") + p(slo)
        + panel("info", p(note), title="Good to know")
        + h(2, "Health check")
        + code(f"grpcurl -plaintext {name}.internal:{port} grpc.health.v1.Health/Check",
               "bash")
        + p("Dashboards: Grafana folder ", f"<em>{name}</em>", ". Alerts page the owning "
            "team's on-call rotation.")
    )


_CATALOG = (
    p("Every production service, its owner and its on-call. Add a page here before a new "
      "service receives production traffic.")
    + table(["Service", "Owner", "Language", "Port"],
            [[page_link(s[0]), mention(aid(s[1])), s[2], str(s[3])] for s in _SERVICES])
    + children()
)

_API = (
    p("Reference documentation for the public Larkspur Payments API (v2). The OpenAPI "
      "document is published at https://api.larkspur.io/v2/openapi.json.")
    + ul([page_link("Authentication and API keys"), page_link("Error codes"),
          page_link("Webhooks"), page_link("Rate limits"), page_link("Pagination")])
)

_AUTH = (
    p("Authenticate every request with a secret API key in the Authorization header. Keys "
      "starting with lk_test_ work only against the sandbox; lk_live_ keys move real money.")
    + code("""curl https://api.larkspur.io/v2/invoices \\
  -H "Authorization: Bearer lk_test_4eC39HqLyjWDarjtT1zdp7dc" \\
  -H "Idempotency-Key: 6f1c2b7e-9d0a-4b8e-a5f2-2c7d8e9f0a1b" \\
  -d customer=cus_81273 -d currency=EUR""", "bash", title="Create an invoice")
    + panel("warning", p("Never embed a live key in a mobile or browser app. Use a "
                         "restricted key with only the scopes the integration needs."))
    + h(2, "Scopes")
    + table(["Scope", "Allows"], [
        ["invoices:read", "List and fetch invoices"],
        ["invoices:write", "Create, finalise and void invoices"],
        ["payments:write", "Create payments and refunds"],
        ["webhooks:manage", "Register and rotate webhook endpoints"],
    ])
    + p("A key without the required scope gets ERR-4030; see ", page_link("Error codes"), ".")
)

_ERRORS = (
    p("Every error response has the shape ",
      '<code>{"error": {"code": "ERR-4031", "message": "...", "request_id": "req_..."}}</code>',
      ". Quote the request_id when you contact support. The full list is also available as ",
      attachment_link("error-codes.csv", "a CSV file"), ".")
    + table(["Code", "HTTP", "Meaning", "What to do"], [
        ["ERR-4001", "400", "Malformed JSON body", "Validate the body against the schema"],
        ["ERR-4010", "401", "Missing or invalid API key", "Send a valid key; rotate leaked keys"],
        ["ERR-4030", "403", "API key lacks the required scope", "Add the scope in the dashboard"],
        ["ERR-4031", "409", "Idempotency key reused with a different payload",
         "Generate a new Idempotency-Key for every new request"],
        ["ERR-4041", "404", "Invoice not found", "Check the invoice id and account"],
        ["ERR-4220", "422", "Currency not supported for this account",
         "Enable the currency in account settings"],
        ["ERR-4290", "429", "Rate limit exceeded", "Wait for Retry-After seconds"],
        ["ERR-5001", "500", "Internal error", "Retry with the same Idempotency-Key"],
        ["ERR-5031", "503", "Ledger temporarily read-only", "Retry after Retry-After seconds"],
    ])
    + expand("Why does ERR-4031 exist?", p(
        "It protects merchants from double charges when a client reuses a key for a "
        "different payment. Background: ", page_link(
            "ADR-004: Idempotency keys for payment requests"), "."))
)

_WEBHOOKS = (
    p("Larkspur sends an HTTPS POST for each event you subscribe to. Respond with any 2xx "
      "status within 10 seconds; otherwise we retry with backoff for up to 24 hours.")
    + h(2, "Verifying signatures")
    + p("Each request carries a Larkspur-Signature header: t=&lt;unix time&gt;,v1=&lt;hex "
        "HMAC-SHA256 of t + '.' + body&gt;. Reject requests older than five minutes.")
    + code("""import hmac, hashlib, time

def verify(secret: bytes, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    if abs(time.time() - int(parts["t"])) > 300:
        return False
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])""", "python",
           title="Verify a webhook signature")
    + panel("tip", p("Deliveries can arrive twice or out of order. Deduplicate on the event "
                     "id and compare the created timestamp before applying an update."))
    + p("Known issue: ", jira("PAY-1423"), " (duplicate deliveries during SES throttling).")
)

_RATE = (
    p("Each API key may send 100 requests per second with bursts up to 200. Search "
      "endpoints are limited to 20 requests per second. Above the limit you get HTTP 429 "
      "with ERR-4290 and a Retry-After header in seconds.")
    + code("""HTTP/1.1 429 Too Many Requests
Retry-After: 2
X-RateLimit-Limit: 100
X-RateLimit-Remaining: 0""", "text")
    + panel("note", p("Honour Retry-After instead of retrying immediately; clients that "
                      "ignore it for more than 10 minutes are blocked for an hour."))
)

_PAGINATION = (
    p("List endpoints return at most 100 objects per page. Pass the id of the last object "
      "you received as starting_after to get the next page; has_more tells you whether "
      "another page exists.")
    + code("""GET /v2/invoices?limit=100&starting_after=inv_1NfJ28
{"data": [...], "has_more": true}""", "text")
    + p("Never paginate by offset: new invoices would shift the pages under you.")
)

_DEVGUIDE = (
    p("How we write, review, test and ship code. New engineers: read these pages in your "
      "first week.") + children()
)

_LOCALDEV = (
    h(2, "Prerequisites")
    + ul(["macOS 14+ or Ubuntu 22.04+", "Docker Desktop or colima with 8 GB of memory",
          "Go 1.22, Node 20, Python 3.12 (use mise to install all three)"])
    + h(2, "Bootstrap")
    + code("""git clone git@github.com:larkspur/monorepo.git && cd monorepo
mise install
make bootstrap          # installs tools and pre-commit hooks
docker compose up -d postgres kafka redis opensearch
make seed               # loads the demo merchant acme-gmbh with 500 invoices""", "bash",
           title="First run")
    + panel("tip", p("If make seed fails with 'role larkspur does not exist', run "
                     "docker compose down -v and start again: an old volume is in the way."))
    + h(2, "Running one service")
    + code("make run SERVICE=invoice-api   # hot reload on http://localhost:8002", "bash")
    + panel("note", p("Local services use the sandbox Adyen account. Never configure a "
                      "live key on a laptop."))
)

_REVIEW = (
    p("Every change needs one approving review; changes to ledger-service, auth-service or "
      "database migrations need two, one of them from the owning team.")
    + h(2, "As an author")
    + ul(["Keep pull requests under 400 changed lines.",
          "Explain why in the description, link the Jira issue.",
          "Add or update tests in the same pull request."])
    + h(2, "As a reviewer")
    + ul(["Review within one working day.",
          "Prefix optional remarks with 'nit:'; block only on correctness, security or "
          "maintainability.",
          "Check migrations for locks: no ALTER TABLE ... ADD COLUMN ... DEFAULT on big "
          "tables."])
)

_RELEASE = (
    p("We use trunk-based development. Short-lived branches merge into main behind feature "
      "flags; main is always deployable.")
    + h(2, "Release trains")
    + table(["Train", "When", "State"], [
        ["Tuesday train", "Tuesdays 10:00 Lisbon", status("ACTIVE", "Green")],
        ["Thursday train", "Thursdays 10:00 Lisbon", status("ACTIVE", "Green")],
        ["Friday deploys", "Emergencies only, with SRE approval", status("FROZEN", "Red")],
    ])
    + ol(["The release captain tags main as vYYYY.MM.DD.N.",
          "Argo CD rolls the tag to staging; smoke tests run automatically.",
          "Canary: 5% of production traffic for 30 minutes, watching error rate and p99.",
          "Full rollout; the captain posts the changelog in #releases."])
    + p("Tracking epic: ", jira("PLAT-310"), ".")
    + panel("warning", p("Rollback with argocd app rollback &lt;app&gt; &lt;revision&gt; "
                         "and tell #releases; never hot-patch production containers."))
)

_TESTING = (
    p("The test pyramid we aim for: many fast unit tests, contract tests between services, "
      "and a thin layer of end-to-end tests against staging.")
    + table(["Layer", "Tooling", "Runs"], [
        ["Unit", "go test, Jest, pytest", "Every push, under 5 minutes"],
        ["Contract", "Pact broker at pact.internal.larkspur.io", "Every push touching APIs"],
        ["End-to-end", "Playwright against staging", "Before each release train"],
        ["Load", "k6, 2x peak traffic", "Monthly and before Black Friday"],
    ])
    + p("Flaky tests are quarantined with the @flaky tag and must be fixed within two weeks.")
    + include("Code review guidelines")
)

ENG2_DOCS: list[Doc] = [
    Doc("catalog", "Service catalog", _CATALOG, 12, "dev", "eng-home", ("services",)),
    *[
        Doc(f"svc-{s[0]}", s[0], _service_page(*s), 13 + i, s[1], "catalog",
            ("services", s[0].split("-")[0]))
        for i, s in enumerate(_SERVICES)
    ],
    Doc("api", "API reference", _API, 25, "aiko", "eng-home", ("api",)),
    Doc("api-auth", "Authentication and API keys", _AUTH, 26, "jonas", "api",
        ("api", "authentication")),
    Doc("api-errors", "Error codes", _ERRORS, 27, "aiko", "api", ("api", "errors"),
        edits=((95, _ERRORS + p("Added ERR-5031 for read-only ledger maintenance windows."),
                "ERR-5031"),)),
    Doc("api-webhooks", "Webhooks", _WEBHOOKS, 28, "marco", "api", ("api", "webhooks")),
    Doc("api-rate", "Rate limits", _RATE, 29, "aiko", "api", ("api", "rate-limits")),
    Doc("api-paging", "Pagination", _PAGINATION, 29, "aiko", "api", ("api",)),
    Doc("devguide", "Development guide", _DEVGUIDE, 35, "dev", "eng-home", ("guide",)),
    Doc("localdev", "Local development setup", _LOCALDEV, 36, "dev", "devguide",
        ("guide", "onboarding"),
        edits=((120, _LOCALDEV.replace("Node 20", "Node 22"), "Node 22"),)),
    Doc("review", "Code review guidelines", _REVIEW, 40, "priya", "devguide", ("guide",)),
    Doc("release", "Branching and release process", _RELEASE, 45, "dev", "devguide",
        ("guide", "release")),
    Doc("testing", "Testing strategy", _TESTING, 50, "lucia", "devguide", ("guide", "testing")),
]
