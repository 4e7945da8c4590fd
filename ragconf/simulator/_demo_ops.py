"""Demo corpus, OPS space: runbooks, on-call, postmortems, infrastructure."""

from __future__ import annotations

from ragconf.simulator._demo_common import Doc, aid
from ragconf.simulator._storage import (
    attachment_link,
    children,
    code,
    emoticon,
    expand,
    h,
    jira,
    mention,
    ol,
    p,
    page_link,
    panel,
    status,
    table,
    task_list,
    time,
    ul,
)

__all__ = ["OPS_DOCS"]

_HOME = (
    p("Operations runs Larkspur's production: on-call, incident response, infrastructure "
      "and capacity. If production is on fire, open ", page_link("On-call rotation and "
                                                                  "escalation"), " first. ",
      emoticon("warning"))
    + children()
)


def _runbook(alert: str, impact: str, steps: list[str], commands: str, lang: str,
             escalate: str, extra: str = "") -> str:
    return (
        panel("info", p(f"Alert: <strong>{alert}</strong>. {impact}"), title="When to use")
        + h(2, "Diagnose and fix") + ol(steps)
        + code(commands, lang)
        + extra
        + h(2, "Escalation") + p(escalate)
    )


_RB_POSTGRES = _runbook(
    "LedgerDBPrimaryDown", "Ledger writes fail; the Payments API answers ERR-5031.",
    ["Confirm the primary is down from two hosts (pg_isready).",
     "Follow the printed checklist: " + attachment_link("failover-checklist.txt",
                                                        "failover checklist") + ".",
     "Promote the replica with the least replication lag using patronictl.",
     "Scale ledger-writer back up and watch ledger_write_errors_total for 15 minutes."],
    """patronictl -c /etc/patroni.yml list ledger-db
patronictl -c /etc/patroni.yml failover ledger-db --candidate ledger-db-1 --force
psql -h ledger-db-primary.internal -c 'SELECT pg_is_in_recovery();'""", "bash",
    "Page " + mention(aid("priya")) + " (ledger owner) if promotion fails or lag on every "
    "replica is above 16 MB.",
    panel("warning", p("Never promote a replica whose lag is unknown: you may lose "
                       "postings. If in doubt, keep the ledger read-only (ERR-5031) and "
                       "escalate.")),
)

_RB_KAFKA = _runbook(
    "ConsumerLagHigh (lag above 50,000 messages for 10 minutes)",
    "Webhooks and search results fall behind; no money is at risk.",
    ["Find the lagging consumer group in the Kafka UI or with kafka-consumer-groups.",
     "Check the consumer's logs for poison messages (deserialisation errors).",
     "If a poison message blocks a partition, move it to the dead-letter topic with the "
     "skip tool and restart the consumer.",
     "If lag grows evenly on all partitions, scale the consumer deployment (max 12)."],
    """kafka-consumer-groups.sh --bootstrap-server $MSK_BROKERS \\
  --describe --group notification-worker
./tools/kafka-skip --group notification-worker --topic invoice.events \\
  --partition 7 --offset 1882731 --to invoice.events.dlq""", "bash",
    "Page the owning team of the consumer (see the " + page_link(
        "Service catalog", space_key="ENG") + ").",
)

_RB_5XX = _runbook(
    "PaymentsGateway5xxRate above 2% for 5 minutes",
    "Payments fail; this is SEV1 if above 5%.",
    ["Check the Adyen status page and our Adyen error dashboard.",
     "If Adyen is healthy, check the latest deploy of payments-gateway and roll back.",
     "Check Redis (idempotency store) latency: above 50 ms causes timeouts.",
     "Post updates in #inc-payments every 15 minutes."],
    """argocd app history payments-gateway
argocd app rollback payments-gateway 412
kubectl -n payments logs deploy/payments-gateway --since=15m | grep -c 'adyen timeout'""",
    "bash",
    "Incident commander per the " + page_link("Paging policy") + "; Adyen support line "
    "is in the vault note 'adyen-support'.",
)

_RB_TLS = _runbook(
    "CertificateExpiresSoon (less than 14 days)",
    "Customers will see TLS errors when the certificate expires.",
    ["Check which certificate: cert-manager manages *.larkspur.io automatically.",
     "If cert-manager's order is stuck, describe the Certificate and the Order objects.",
     "For the legacy api-eu.larkspur.io certificate on the AWS load balancer, request a new "
     "ACM certificate and swap it on the listener."],
    """kubectl get certificate -A | grep -v True
kubectl describe order -n edge $(kubectl get order -n edge -o name | tail -1)
aws acm list-certificates --certificate-statuses ISSUED --region eu-west-1""", "bash",
    "Page " + mention(aid("marco")) + ". Background: " + page_link(
        "Postmortem 2026-01-09: Expired TLS certificate on api-eu") + ".",
)

_RB_DISK = _runbook(
    "BuildAgentDiskPressure (free disk below 10%)",
    "CI jobs fail with 'no space left on device'.",
    ["Drain the agent in Buildkite so it takes no new jobs.",
     "Prune Docker images and build caches older than 3 days.",
     "If the disk is still above 80%, replace the agent (the autoscaling group will)."],
    """buildkite-agent stop --graceful
docker system prune --all --force --filter 'until=72h'
df -h /var/lib/docker""", "bash",
    "Not urgent out of hours: leave a note in #platform.",
)

_RB_RESTORE = _runbook(
    "Manual: restore a database from backup",
    "Use for data corruption or an accidental DELETE; never for a simple failover.",
    ["Pick the recovery point: the last known good time, in UTC.",
     "Restore into a new cluster with point-in-time recovery (never over the original).",
     "Verify row counts and balances against the reporting warehouse.",
     "Switch the service's DATABASE_URL and restart; keep the old cluster for 7 days."],
    """aws rds restore-db-cluster-to-point-in-time \\
  --source-db-cluster-identifier auth-db-prod \\
  --db-cluster-identifier auth-db-restore-20260412 \\
  --restore-to-time 2026-04-12T08:55:00Z""", "bash",
    "Needs approval from " + mention(aid("tom")) + " before switching production.",
    p("Backups are described in ", page_link("Backup policy"), "."),
)

_ONCALL = (
    p("Two rotations, each one week long, hand over on Mondays at 10:00 Lisbon time. The "
      "schedule for this quarter is in ", attachment_link("oncall-schedule-q2-2026.csv",
                                                         "the on-call schedule"), ".")
    + table(["Rotation", "Covers", "Pager"], [
        ["Payments &amp; Ledger", "payments-gateway, ledger-service, invoice-api", "PagerDuty P1"],
        ["Platform", "Kubernetes, Kafka, databases, CI", "PagerDuty P2"],
    ])
    + h(2, "Escalation")
    + ol(["Primary on-call acknowledges within 5 minutes.",
          "Secondary is paged automatically after 10 minutes.",
          "Incident commander: " + mention(aid("marco")) + ", then "
          + mention(aid("tom")) + "."])
    + panel("tip", p("On-call engineers get a EUR 350 weekly stipend plus time off in lieu "
                     "for pages between 22:00 and 07:00."))
)

_PAGING = (
    p("Severity decides who is paged and how fast we talk to customers. The one-page "
      "summary is ", attachment_link("incident-severity-matrix.pdf",
                                     "the severity matrix (PDF)"), ".")
    + table(["Severity", "Example", "Status page"], [
        [status("SEV1", "Red"), "Payments API error rate above 5%", "Within 15 minutes"],
        [status("SEV2", "Yellow"), "Webhooks delayed more than 10 minutes", "Within 30 minutes"],
        [status("SEV3", "Blue"), "Reporting exports delayed", "Not needed"],
        [status("SEV4", "Grey"), "Internal tooling broken", "Not needed"],
    ])
    + p("Every SEV1 and SEV2 gets a blameless postmortem within five working days.")
)


def _postmortem(summary: str, timeline: list[tuple[str, str]], cause: str,
                actions: list[tuple[int, bool, str]], lessons: str) -> str:
    return (
        panel("info", p(summary), title="Summary")
        + h(2, "Timeline (UTC)")
        + table(["Time", "Event"], [[t, e] for t, e in timeline])
        + h(2, "Root cause") + p(cause)
        + h(2, "Action items") + task_list(actions)
        + h(2, "What we learned") + p(lessons)
    )


_PM_LEDGER = _postmortem(
    "On 2025-11-14 ledger replication lag reached 9 minutes; balances in the dashboard "
    "were stale for 47 minutes. No postings were lost. Severity SEV2.",
    [("13:02", "Nightly vacuum of the posting table starts on the replica"),
     ("13:10", "ReplicationLagHigh alert fires"),
     ("13:31", "Dashboard reads switched to the primary"),
     ("13:49", "Vacuum cancelled; lag recovers")],
    "A manual VACUUM FULL on the replica held an exclusive lock, so WAL replay stopped. "
    "max_standby_streaming_delay was set to -1 (wait forever).",
    [(1, True, mention(aid("priya")) + " Set max_standby_streaming_delay to 30s "
      + time("2025-11-21")),
     (2, True, mention(aid("marco")) + " Alert on replay lag, not only on byte lag "
      + time("2025-12-05")),
     (3, False, mention(aid("ben")) + " Move dashboard balance reads to a cache with "
      "explicit staleness " + time("2026-05-30"))],
    "Replica maintenance is production maintenance: it needs a change ticket.",
)

_PM_TLS = _postmortem(
    "On 2026-01-09 the certificate of api-eu.larkspur.io expired at 00:00 UTC. For 3 hours "
    "and 12 minutes, merchants on the legacy EU hostname could not reach the API. SEV1.",
    [("00:00", "Certificate expires; TLS handshakes fail"),
     ("00:41", "First merchant report through support (" + mention(aid("noor")) + ")"),
     ("02:30", "Root cause found: ACM certificate was imported, so it did not auto-renew"),
     ("03:12", "New ACM-issued certificate attached to the load balancer")],
    "The legacy hostname used an imported certificate that cert-manager and ACM never "
    "renewed. The CertificateExpiresSoon alert only watched Kubernetes certificates.",
    [(1, True, mention(aid("marco")) + " Alert on every public endpoint with a synthetic "
      "TLS probe " + time("2026-01-23")),
     (2, False, mention(aid("dev")) + " Move api-eu.larkspur.io behind the Envoy edge "
      + time("2026-06-15")),
     (3, False, mention(aid("aiko")) + " E-mail the 14 merchants still on api-eu "
      + time("2026-05-20"))],
    "Monitor what customers use, not what our tooling manages.",
)

_PM_WEBHOOKS = _postmortem(
    "Between 2026-02-21 09:15 and 11:40 UTC about 18,000 webhook events were delivered two "
    "or three times. Two merchants shipped duplicate orders. SEV2.",
    [("09:15", "SES throttling makes notification-worker batches time out"),
     ("09:20", "Timed-out batches are retried although the webhooks had been sent"),
     ("10:55", "Merchant escalation; incident declared"),
     ("11:40", "Delivery log write moved before the Kafka commit; duplicates stop")],
    "notification-worker committed the Kafka offset after the whole batch, so a timeout in "
    "the e-mail step re-delivered the batch's webhooks. Tracked in " + jira("PAY-1423") + ".",
    [(1, True, mention(aid("marco")) + " Commit offsets per event " + time("2026-03-06")),
     (2, False, mention(aid("lucia")) + " Document deduplication on event id for merchants "
      + time("2026-05-22"))],
    "At-least-once delivery is a promise to customers: our docs must say it loudly.",
)

_PM_SEARCH = _postmortem(
    "On 2026-03-30 search-indexer pods were OOM-killed in a loop for 2 hours; invoice "
    "search in the dashboard returned stale results. SEV3.",
    [("06:10", "A merchant imports 240,000 invoices through the bulk API"),
     ("06:14", "search-indexer memory grows to the 2 GiB limit; pods restart"),
     ("08:05", "Batch size capped at 500 and memory limit raised to 4 GiB")],
    "The indexer buffered a whole Kafka poll (max.poll.records=5000) of large invoices "
    "before bulk-indexing.",
    [(1, True, mention(aid("ben")) + " Cap bulk requests at 10 MB " + time("2026-04-03")),
     (2, False, mention(aid("ben")) + " Load test the indexer with the bulk import fixture "
      + time("2026-05-27"))],
    "Bulk APIs need load tests with realistic payload sizes.",
)

_INFRA = p("Where production runs and how it is built.") + children()

_AWS = (
    table(["Account", "Purpose", "Regions"], [
        ["larkspur-prod (4411-2290-8812)", "Production", "eu-west-1, eu-central-1"],
        ["larkspur-staging (5520-1187-0043)", "Staging", "eu-west-1"],
        ["larkspur-shared (6671-0098-2314)", "CI, ECR, DNS", "eu-west-1"],
    ])
    + p("Access goes through AWS IAM Identity Center; production write access needs a "
        "break-glass request approved in #platform.")
)

_K8S = (
    p("Production runs on two EKS 1.30 clusters, prod-euw1 and prod-euc1, with Karpenter "
      "for node autoscaling and Argo CD for deployments.")
    + code("""aws eks update-kubeconfig --name prod-euw1 --region eu-west-1 --alias prod-euw1
kubectl --context prod-euw1 get pods -n payments""", "bash")
    + expand("Node pools", ul(["general: m7i.2xlarge, on-demand",
                               "batch: c7i.4xlarge, spot, taint batch=true:NoSchedule",
                               "ledger: r7i.2xlarge, on-demand, dedicated"]))
)

_OBS = (
    p("Metrics: Prometheus with Thanos (13 months retention). Logs: Loki (30 days). Traces: "
      "Tempo (7 days). Dashboards and alerts live in Grafana; alert rules are code in the "
      "observability repository.")
    + panel("tip", p("Use the 'Service overview' dashboard and pick the service: it shows "
                     "the four golden signals side by side."))
)

_BACKUP = (
    table(["Data", "Backup", "Retention", "Restore test"], [
        ["ledger-db", "WAL archiving to S3 + nightly base backup", "35 days", "Monthly"],
        ["auth-db", "RDS automated backups (PITR)", "35 days", "Quarterly"],
        ["Invoice PDFs (S3)", "Versioning + cross-region replication", "7 years", "Yearly"],
        ["Kafka", "None: topics are rebuilt from the databases", "-", "-"],
    ])
    + p("Restores follow ", page_link("Runbook: Restoring from backup"), ".")
)

_JENKINS = (
    panel("note", p("Archived: Jenkins was replaced by Buildkite in October 2025. Kept for "
                    "the history of old build numbers.")),
    p("The Jenkins controller ran on jenkins.internal.larkspur.io with 14 static agents. "
      "Pipelines were defined in Jenkinsfile-legacy at the root of each repository."),
)

OPS_DOCS: list[Doc] = [
    Doc("ops-home", "Operations Home", _HOME, 1, "marco", labels=("home",)),
    Doc("runbooks", "Runbooks", p("Step-by-step fixes for alerts.") + children(), 2, "marco",
        "ops-home", ("runbook",)),
    Doc("rb-pg", "Runbook: Postgres failover", _RB_POSTGRES, 8, "priya", "runbooks",
        ("runbook", "postgres", "ledger"),
        edits=((70, _RB_POSTGRES + p("Tested in the January game day."), "game day"),
               (140, _RB_POSTGRES + p("Tested in the April game day (failover took 41 s)."),
                "April game day"))),
    Doc("rb-kafka", "Runbook: Kafka consumer lag", _RB_KAFKA, 10, "marco", "runbooks",
        ("runbook", "kafka")),
    Doc("rb-5xx", "Runbook: Payments gateway 5xx spike", _RB_5XX, 18, "aiko", "runbooks",
        ("runbook", "payments")),
    Doc("rb-tls", "Runbook: Rotating TLS certificates", _RB_TLS, 102, "marco", "runbooks",
        ("runbook", "tls")),
    Doc("rb-disk", "Runbook: Disk pressure on build agents", _RB_DISK, 33, "dev", "runbooks",
        ("runbook", "ci")),
    Doc("rb-restore", "Runbook: Restoring from backup", _RB_RESTORE, 55, "priya", "runbooks",
        ("runbook", "backup")),
    Doc("oncall", "On-call rotation and escalation", _ONCALL, 5, "marco", "ops-home",
        ("on-call",)),
    Doc("paging", "Paging policy", _PAGING, 6, "marco", "oncall", ("on-call", "incident")),
    Doc("postmortems", "Incident postmortems", p("Blameless postmortems, newest last.")
        + children(), 20, "marco", "ops-home", ("postmortem",)),
    Doc("pm-ledger", "Postmortem 2025-11-14: Ledger replication lag", _PM_LEDGER, 46,
        "priya", "postmortems", ("postmortem", "ledger")),
    Doc("pm-tls", "Postmortem 2026-01-09: Expired TLS certificate on api-eu", _PM_TLS, 101,
        "marco", "postmortems", ("postmortem", "tls")),
    Doc("pm-webhooks", "Postmortem 2026-02-21: Duplicate webhook deliveries", _PM_WEBHOOKS,
        144, "marco", "postmortems", ("postmortem", "webhooks")),
    Doc("pm-search", "Postmortem 2026-03-30: Search indexer OOM", _PM_SEARCH, 182, "ben",
        "postmortems", ("postmortem", "search")),
    Doc("infra", "Infrastructure", _INFRA, 3, "dev", "ops-home", ("infrastructure",)),
    Doc("aws", "AWS accounts and regions", _AWS, 4, "dev", "infra", ("infrastructure", "aws")),
    Doc("k8s", "Kubernetes clusters", _K8S, 7, "dev", "infra", ("infrastructure",
                                                              "kubernetes")),
    Doc("obs", "Observability stack", _OBS, 11, "marco", "infra", ("infrastructure",
                                                                  "observability")),
    Doc("backup", "Backup policy", _BACKUP, 14, "priya", "infra", ("infrastructure",
                                                                  "backup")),
    Doc("jenkins", "Legacy Jenkins setup", "".join(_JENKINS), 4, "dev", "infra", ("ci",),
        archived=True),
]
