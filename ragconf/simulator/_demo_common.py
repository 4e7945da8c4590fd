"""Shared pieces of the demo corpus: its people and the shape of a document spec."""

from __future__ import annotations

from dataclasses import dataclass

from ragconf.simulator._state import DEMO_USER, GUEST_USER, account_id_for

__all__ = ["HR_TOKEN", "HR_USER", "PEOPLE", "Doc", "aid"]

HR_USER = "hr@ragconf.dev"
HR_TOKEN = "hr-token"

# ref -> (email, display name, role)
PEOPLE: dict[str, tuple[str, str, str]] = {
    "admin": (DEMO_USER, "Demo Admin", "Site administrator"),
    "guest": (GUEST_USER, "Guest Reader", "Contractor (read-only)"),
    "hana": (HR_USER, "Hana Okafor", "Head of People Operations"),
    "priya": ("priya.raman@larkspur.io", "Priya Raman", "Staff Engineer, Ledger"),
    "marco": ("marco.bellini@larkspur.io", "Marco Bellini", "SRE Lead"),
    "aiko": ("aiko.tanaka@larkspur.io", "Aiko Tanaka", "Engineering Manager, Payments"),
    "jonas": ("jonas.weber@larkspur.io", "Jonas Weber", "Security Engineer"),
    "lucia": ("lucia.fernandez@larkspur.io", "Lucía Fernández", "Frontend Engineer"),
    "tom": ("tom.becker@larkspur.io", "Tom Becker", "CTO"),
    "sara": ("sara.lindqvist@larkspur.io", "Sara Lindqvist", "CEO"),
    "dev": ("dev.patel@larkspur.io", "Dev Patel", "Platform Engineer"),
    "noor": ("noor.haddad@larkspur.io", "Noor Haddad", "Support Lead"),
    "ben": ("ben.carter@larkspur.io", "Ben Carter", "Data Engineer"),
}


def aid(ref: str) -> str:
    """The account id of a person in PEOPLE."""
    return account_id_for(PEOPLE[ref][0])


@dataclass(frozen=True)
class Doc:
    """One page or blog post of the demo: where it goes, when, by whom, and its body.

    ``day`` counts from the corpus start (2025-10-01); ``edits`` are (day, new body,
    version message) applied later, so pages have real version histories.
    """

    ref: str
    title: str
    body: str
    day: int
    author: str = "admin"
    parent: str | None = None
    labels: tuple[str, ...] = ()
    edits: tuple[tuple[int, str, str], ...] = ()
    restricted_to: tuple[str, ...] = ()
    archived: bool = False
