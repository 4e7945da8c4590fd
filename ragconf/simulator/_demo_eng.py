"""Demo corpus, ENG space (part 1): home, architecture, ADRs and the security section."""

from __future__ import annotations

from ragconf.simulator._demo_common import Doc, aid
from ragconf.simulator._storage import (
    children,
    code,
    emoticon,
    h,
    image,
    layout,
    mention,
    ol,
    p,
    page_link,
    panel,
    status,
    table,
    task_list,
    time,
    toc,
    ul,
)

__all__ = ["ENG_DOCS"]

_HOME = layout(
    ("two_equal", [
        h(2, "Welcome to Engineering") + p(
            "This space is the source of truth for how Larkspur builds and runs its invoicing "
            "and payments platform. Start with the ", page_link("System overview"),
            ", then read the ", page_link("Local development setup"), " guide. ",
            emoticon("smile")),
        h(2, "Quick links") + ul([
            page_link("Service catalog"), page_link("API reference"),
            page_link("Branching and release process"),
            page_link("Runbooks", space_key="OPS"),
        ]),
    ]),
    ("single", [h(2, "In this space") + children()]),
)

_ARCH = (
    p("Architecture notes, diagrams and Architecture Decision Records (ADRs). An ADR is "
      "short, dated and never edited after acceptance: supersede it with a new one.")
    + image("architecture-overview.png", "Larkspur architecture overview")
    + h(2, "How to write an ADR")
    + ol([
        "Copy the template from the latest ADR and take the next number.",
        "Describe the context and the forces, then the decision in one sentence.",
        "Set the status macro to PROPOSED and ask two reviewers from different teams.",
        "After the architecture review on Wednesday, set it to ACCEPTED or REJECTED.",
    ])
    + children()
)

_OVERVIEW = (
    toc()
    + h(2, "Request flow")
    + p("Customers call the public Payments API at api.larkspur.io. Requests enter through "
        "the Envoy edge proxy, are authenticated by auth-service, and are routed to "
        "invoice-api or payments-gateway. Every money movement is recorded as a pair of "
        "double-entry postings by ledger-service, which owns the only writable copy of "
        "balances.")
    + image("architecture-overview.png", "Request flow from edge to ledger", 720)
    + h(2, "Services")
    + table(["Service", "Owns", "Talks to"], [
        ["invoice-api", "Invoices, line items, PDF rendering", "ledger-service, Kafka"],
        ["payments-gateway", "Card and SEPA payments via Adyen", "ledger-service, auth-service"],
        ["ledger-service", "Accounts, postings, balances", "PostgreSQL ledger-db"],
        ["notification-worker", "E-mail and webhook delivery", "Kafka, SES"],
        ["search-indexer", "Invoice search in OpenSearch", "Kafka, OpenSearch"],
        ["auth-service", "API keys, OAuth clients, sessions", "Redis, PostgreSQL"],
    ])
    + h(2, "Events")
    + p("Services publish domain events (invoice.created, payment.settled, "
        "ledger.posting.created) to Kafka; see ", page_link("ADR-002: Kafka as the event bus"),
        ". Consumers must be idempotent because delivery is at-least-once.")
    + panel("note", p("Data never leaves the eu-west-1 and eu-central-1 regions: this is a "
                      "contractual commitment to our EU customers."), title="Data residency")
)


def _adr(number: int, title: str, state: str, colour: str, context: str, decision: str,
         consequences: list[str], extra: str = "") -> str:
    return (
        p("Status: ", status(state, colour))
        + h(2, "Context") + p(context)
        + h(2, "Decision") + p(decision)
        + h(2, "Consequences") + ul(consequences)
        + extra
        + p(f"Recorded as ADR-{number:03d} ({title}).")
    )


_ADR1 = _adr(
    1, "PostgreSQL for the ledger", "ACCEPTED", "Green",
    "The ledger must never lose or double-count a posting. We need serialisable "
    "transactions across accounts, mature point-in-time recovery and operators who know "
    "the database well. Candidates were PostgreSQL 16, CockroachDB and DynamoDB.",
    "We store the ledger in PostgreSQL 16 with synchronous replication to one replica in "
    "another availability zone (Patroni manages failover). Postings are append-only; "
    "balances are derived in the same transaction with SELECT ... FOR UPDATE on the account "
    "row.",
    ["Vertical scaling limits: we expect to shard by merchant after 40,000 postings/s.",
     "Failover is a runbook step, see " + page_link("Runbook: Postgres failover",
                                                    space_key="OPS") + ".",
     "Schema changes follow the expand/contract pattern, never locking tables."],
    image("ledger-erd.png", "Ledger entity-relationship diagram")
    + code("""CREATE TABLE posting (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journal_id  uuid        NOT NULL,
    account_id  bigint      NOT NULL REFERENCES account(id),
    amount      numeric(20,4) NOT NULL,  -- positive = debit, negative = credit
    currency    char(3)     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);""", "sql", title="posting table"),
)

_ADR2 = _adr(
    2, "Kafka as the event bus", "ACCEPTED", "Green",
    "Invoice, payment and ledger events fan out to notification-worker, search-indexer and "
    "the reporting ETL. RabbitMQ queues made replaying history impossible after a consumer "
    "bug in 2024.",
    "We use Amazon MSK (Kafka 3.7) with topics partitioned by merchant id, 7 days of "
    "retention and a compacted topic per aggregate. Producers use idempotent mode and "
    "acks=all.",
    ["Consumers must handle duplicates: store the last processed offset with the side "
     "effect.",
     "Consumer lag is an alerting signal, see " + page_link(
         "Runbook: Kafka consumer lag", space_key="OPS") + ".",
     "Schemas live in the Glue schema registry with BACKWARD compatibility."],
)

_ADR3 = _adr(
    3, "gRPC between internal services", "ACCEPTED", "Green",
    "Internal REST calls had inconsistent error handling and no shared contracts. "
    "Timeouts were set ad hoc.",
    "Synchronous service-to-service calls use gRPC with protobuf contracts in the "
    "larkspur/protos repository. Every call sets a deadline (default 800 ms) and retries "
    "only UNAVAILABLE with exponential backoff.",
    ["buf lint and buf breaking run in CI on every change to protos.",
     "The public API stays JSON over HTTPS; only internal traffic uses gRPC.",
     "Envoy sidecars provide mTLS between services."],
)

_ADR4 = _adr(
    4, "Idempotency keys for payment requests", "ACCEPTED", "Green",
    "Clients retry on timeouts. Without protection a retried POST /v2/payments could "
    "charge a card twice. Two merchants reported double charges in Q2 2025.",
    "Every mutating request must carry an Idempotency-Key header (a UUID). We store the key, "
    "a SHA-256 hash of the request body and the response for 24 hours. A repeated key with "
    "the same body returns the stored response; a repeated key with a different body is "
    "rejected with ERR-4031 (HTTP 409).",
    ["Keys are scoped per API key, so two merchants cannot collide.",
     "The idempotency store is Redis with AOF persistence; losing it degrades to "
     "best-effort, which the on-call must report as SEV2.",
     "Documented for customers in " + page_link("Error codes") + "."],
    code("""def handle(request):
    key = request.headers["Idempotency-Key"]
    seen = store.get(request.api_key, key)
    if seen and seen.body_hash != sha256(request.body):
        raise ApiError("ERR-4031", status=409)   # same key, different payload
    if seen:
        return seen.response
    response = process(request)
    store.put(request.api_key, key, sha256(request.body), response, ttl=86400)
    return response""", "python", title="Idempotency check (simplified)"),
)

_ADR5 = _adr(
    5, "Feature flags with Unleash", "PROPOSED", "Yellow",
    "Feature toggles are environment variables today, so turning a feature off needs a "
    "deploy. Product wants percentage rollouts per merchant.",
    "Adopt self-hosted Unleash 5 with the Go and TypeScript SDKs. Flags are owned by a team "
    "and expire after 90 days unless renewed.",
    ["One more stateful service to run (Unleash + PostgreSQL).",
     "A flag cleanup report goes to each team every month."],
    h(2, "Follow-ups") + task_list([
        (1, True, mention(aid("dev")) + " Deploy Unleash to staging " + time("2026-03-20")),
        (2, False, mention(aid("lucia")) + " Integrate the TypeScript SDK in the dashboard "
         + time("2026-05-15")),
        (3, False, mention(aid("aiko")) + " Decide on flag ownership rules "
         + time("2026-05-29")),
    ]),
)

_SECURITY = (
    panel("warning", p("This page is restricted to the security team and site admins. "
                       "Do not copy its contents to other spaces.")) +
    h(2, "Contacts")
    + table(["Topic", "Contact", "Channel"], [
        ["Vulnerability reports", mention(aid("jonas")), "security@larkspur.io"],
        ["Incident response lead", mention(aid("marco")), "#sec-incident (private)"],
        ["Compliance (PCI DSS, SOC 2)", mention(aid("tom")), "compliance@larkspur.io"],
    ])
    + h(2, "Calendar")
    + ul(["External penetration test by NCC Group: " + time("2026-06-08"),
          "PCI DSS QSA on-site assessment: " + time("2026-09-14"),
          "Quarterly access review: first Monday of each quarter"])
    + children()
)

_SECRETS = (
    p("Secrets live in HashiCorp Vault under ", "<code>kv/prod/&lt;service&gt;/</code>",
      ". Rotation is automated for database credentials (dynamic secrets, 24 h TTL); the "
      "items below are rotated by hand every 90 days.")
    + table(["Secret", "Vault path", "Last rotated"], [
        ["Adyen API key", "kv/prod/payments-gateway/adyen", time("2026-02-02")],
        ["SES SMTP credentials", "kv/prod/notification-worker/ses", time("2026-03-10")],
        ["Webhook signing master key", "kv/prod/notification-worker/hmac", time("2026-01-19")],
    ])
    + code("""vault kv put kv/prod/payments-gateway/adyen api_key=@new-key.txt
kubectl rollout restart deploy/payments-gateway -n payments
vault kv metadata get kv/prod/payments-gateway/adyen   # check the new version""", "bash",
           title="Rotate the Adyen key")
    + panel("warning", p("Never rotate the webhook signing master key without notifying "
                         "merchants 14 days ahead: their signature checks would fail."))
)

ENG_DOCS: list[Doc] = [
    Doc("eng-home", "Engineering Home", _HOME, 0, "tom", labels=("home",)),
    Doc("arch", "Architecture", _ARCH, 3, "tom", "eng-home", ("architecture",)),
    Doc("overview", "System overview", _OVERVIEW, 4, "priya", "arch",
        ("architecture", "onboarding"),
        edits=((60, _OVERVIEW + p("Updated: search-indexer moved to OpenSearch 2.13."),
                "OpenSearch upgrade"),)),
    Doc("adr1", "ADR-001: PostgreSQL for the ledger", _ADR1, 6, "priya", "arch",
        ("adr", "ledger", "postgres")),
    Doc("adr2", "ADR-002: Kafka as the event bus", _ADR2, 9, "priya", "arch", ("adr", "kafka")),
    Doc("adr3", "ADR-003: gRPC between internal services", _ADR3, 15, "dev", "arch",
        ("adr", "grpc")),
    Doc("adr4", "ADR-004: Idempotency keys for payment requests", _ADR4, 21, "aiko", "arch",
        ("adr", "payments", "idempotency")),
    Doc("adr5", "ADR-005: Feature flags with Unleash", _ADR5, 150, "dev", "arch",
        ("adr", "feature-flags")),
    Doc("security", "Security", _SECURITY, 30, "jonas", "eng-home", ("security",),
        restricted_to=("demo@ragconf.dev", "jonas.weber@larkspur.io")),
    Doc("secrets", "Secrets rotation procedure", _SECRETS, 31, "jonas", "security",
        ("security", "vault")),
]
