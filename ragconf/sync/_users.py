"""Display names for user mentions during a sync (private helper of engine.py and _work.py).

Storage bodies name people by account id: mentions and task assignees are
``<ac:link><ri:user ri:account-id="…"/></ac:link>``. The converter renders them as
"@Display Name" from the ``users`` mapping passed to ``convert`` ("@user" when unknown,
never the id). A :class:`UserNames` learns names as a run goes: after each batch of
bodies is fetched, the account ids in it that were not asked about yet go to Confluence
in one bulk lookup (the connector splits it into requests of 100 ids), and every answer,
"unknown" included, is kept for the rest of the run. ``resolve`` returns the batch's own
names (a private copy that travels with the batch to the converter, so no thread reads
the cache while another fills it). A batch whose people are all known costs nothing; a
document never costs a request of its own.

>>> names = UserNames(None, known={"a1": "Ada"})
>>> sorted(account_ids(['<ri:user ri:account-id="a1"/>', "<ri:user ri:account-id='b2'/>"]))
['a1', 'b2']
>>> names.resolve(['<ri:user ri:account-id="a1"/>'], print)   # known: nothing to ask
{'a1': 'Ada'}
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping

from ragconf.sync.protocols import UserDirectory

__all__ = ["UserNames", "account_ids"]

log = logging.getLogger("ragconf.sync")

# cheap on purpose: no parse, just the attribute, in either quote style
_QUERY = re.compile(r"\?accountId=[^\s)]*")
_ACCOUNT_ID = re.compile(r"""ri:account-id\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)')""")


def account_ids(bodies: Iterable[str | None]) -> set[str]:
    """The account ids that storage bodies refer to (mentions, task assignees)."""
    found: set[str] = set()
    for body in bodies:
        if body and "ri:account-id" in body:
            for double, single in _ACCOUNT_ID.findall(body):
                value = (double or single).strip()
                if value:
                    found.add(value)
    return found


class UserNames:
    """A run's cache of account id -> display name, filled by bulk lookups.

    ``names`` is the cache (guarded by a lock; read it between runs, not during one);
    ``known`` seeds it and those ids are never looked up. ``conf`` answers
    ``get_users(ids) -> {id: name}``; None looks nothing up. ``lookups`` counts the
    ``get_users`` calls made.

    A failed lookup does not fail any document: their mentions stay "@user", one
    warning says so, and no further lookups are tried this run (the client already
    retried; a missing scope or a down endpoint would only fail again, slowly).
    """

    def __init__(self, conf: UserDirectory | None, known: Mapping[str, str] | None = None) -> None:
        self.names: dict[str, str] = dict(known or {})
        self.lookups = 0
        self.failure: str | None = None
        self._lookup: Callable[[list[str]], Mapping[str, str]] | None = (
            conf.get_users if conf is not None else None
        )
        #: ids whose lookup has finished (answered or unknown)
        self._done: set[str] = set(self.names)
        # fetch threads call resolve() concurrently. One lookup at a time, and a batch
        # whose ids are not all done waits for the lookup in flight: its conversion must
        # not start before the names it needs are known.
        self._lock = threading.Lock()

    def resolve(self, bodies: Iterable[str | None], warn: Callable[[str], None]) -> dict[str, str]:
        """The display names of the people ``bodies`` mention, looking up those not asked
        about yet (at most one bulk lookup); unknown ids are left out.

        On return every id in ``bodies`` is in ``names`` or known to be unknown (or the
        lookups failed this run).
        """
        return self.resolve_ids(account_ids(bodies), warn)

    def resolve_ids(self, ids: set[str], warn: Callable[[str], None]) -> dict[str, str]:
        """Like :meth:`resolve`, for account ids known already (e.g. comment authors)."""
        ids = {i for i in ids if i}
        with self._lock:
            if self._lookup is not None and self.failure is None:
                self._ask(sorted(ids - self._done), warn)
            return {i: self.names[i] for i in ids if i in self.names}

    def _ask(self, new: list[str], warn: Callable[[str], None]) -> None:
        """One bulk lookup (under the lock: a batch waits for the names it needs)."""
        if new and self._lookup is not None:
            self.lookups += 1
            try:
                found = self._lookup(new)
            except Exception as exc:  # names are a nicety: never fail a document for them
                log.debug("user lookup failed", exc_info=True)
                # the URL's query lists up to 100 ids: a warning needs none of them
                reason = " ".join(_QUERY.sub("?accountId=…", str(exc)).split())
                self.failure = f"{type(exc).__name__}: {reason}"
                warn(
                    f"user names could not be looked up ({self.failure}); mentions are "
                    "indexed as @user this run (a later `ragconf sync --full` fixes them)"
                )
                return
            asked = set(new)
            self.names.update({str(k): str(v) for k, v in found.items() if k in asked and v})
            self._done.update(new)  # after the names: a reader that sees done sees them
