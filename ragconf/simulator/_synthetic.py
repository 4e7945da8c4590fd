"""Big synthetic sites, built fast, for paging tests and benchmarks."""

from __future__ import annotations

import random

from ragconf.simulator._site import Site
from ragconf.simulator._state import GUEST_USER

__all__ = ["synthetic_site"]

_WORDS = [
    "ledger", "invoice", "payment", "gateway", "retry", "cursor", "index", "shard", "replica",
    "tenant", "quota", "region", "deploy", "rollback", "canary", "metric", "alert", "latency",
    "throughput", "backlog", "schema", "migration", "token", "webhook", "consumer", "producer",
    "topic", "partition", "offset", "snapshot", "backup", "restore", "failover", "cache",
    "eviction", "budget", "review", "release", "branch", "pipeline", "artifact", "runner",
    "secret", "rotation", "audit",
]


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(25, 45))]
        out.append("<p>" + " ".join(words).capitalize() + ".</p>")
    return out


def synthetic_site(
    n_pages: int,
    spaces: int = 4,
    *,
    blogposts: int = 0,
    attachments: int = 0,
    labels_per_page: int = 1,
    seed: int = 0,
) -> Site:
    """A site of ``n_pages`` pages spread round-robin over ``spaces`` spaces (no homepages).

    >>> site = synthetic_site(100, spaces=2)
    >>> len(site.pages), len(site.spaces)
    (100, 2)

    Pages form shallow trees (every tenth page is a root, the rest hang under one), carry
    storage bodies of about 1 kB, and ``labels_per_page`` labels out of a pool of 20. The
    guest account sees every space but the last one (when there is more than one).
    """
    rng = random.Random(seed)
    pool = _paragraphs(rng, 97)
    site = Site(name="synthetic")
    keys = [f"S{i:02d}" for i in range(spaces)]
    for key in keys:
        site.add_space(key, f"Synthetic space {key}", homepage=False,
                       description=f"Generated space {key}")
    roots: dict[str, list[str]] = {key: [] for key in keys}
    for i in range(n_pages):
        key = keys[i % spaces]
        body = (f"<h2>Document {i}</h2>" + pool[i % 97] + pool[(i * 7 + 3) % 97]
                + f"<p>Reference code SYN-{i:06d}.</p>")
        space_roots = roots[key]
        parent = None if (i // spaces) % 10 == 0 or not space_roots else space_roots[-1]
        labels = [f"topic-{(i + k) % 20}" for k in range(labels_per_page)]
        page_id = site.add_page(key, f"Synthetic page {i:06d}", body, parent_id=parent,
                                labels=labels)
        if parent is None:
            space_roots.append(page_id)
    for i in range(blogposts):
        site.add_blog_post(keys[i % spaces], f"Synthetic post {i:05d}",
                           pool[(i * 3) % 97], labels=[f"topic-{i % 20}"])
    page_ids = list(site.pages)
    for i in range(min(attachments, len(page_ids))):
        site.add_attachment(page_ids[i], f"notes-{i:05d}.txt",
                            f"Attachment {i}: {pool[i % 97][3:-4]}".encode(), "text/plain")
    if spaces > 1:
        site.set_space_access(GUEST_USER, set(keys[:-1]))
    return site
