"""``--space`` keys that name no visible space: an error that shows what *is* visible.

A typo in a cron job's ``--space`` must not index nothing forever with exit 0, so the
sync refuses to start (``NotFoundError``, CLI exit 6) and lists the keys the account can
see; a key that differs only in case gets a "did you mean" (space keys are case-sensitive).

>>> unknown_spaces_error(["eng"], ["ENG", "OPS"]).message
"no visible space has the key 'eng' (did you mean 'ENG'? space keys are case-sensitive)"
"""

from __future__ import annotations

from collections.abc import Sequence

from ragconf.errors import NotFoundError

__all__ = ["unknown_spaces_error"]

#: keys shown in the hint; a big site lists the rest with `ragconf spaces`
_SHOWN = 30


def unknown_spaces_error(missing: Sequence[str], visible: Sequence[str]) -> NotFoundError:
    by_lower = {key.lower(): key for key in visible}
    parts = []
    for key in missing:
        near = by_lower.get(key.lower())
        hint = f" (did you mean {near!r}? space keys are case-sensitive)" if near else ""
        parts.append(f"{key!r}{hint}")
    noun = "key" if len(missing) == 1 else "keys"
    keys = sorted(visible)
    shown = ", ".join(keys[:_SHOWN]) + (f", … ({len(keys)} in all)" if len(keys) > _SHOWN else "")
    return NotFoundError(
        f"no visible space has the {noun} {', '.join(parts)}",
        hint=(f"spaces this account can see: {shown}" if keys else
              "this account can see no spaces at all; check its access in Confluence")
        + " — `ragconf spaces` lists them; nothing was synced",
    )
