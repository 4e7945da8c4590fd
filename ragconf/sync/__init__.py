"""The sync engine: incremental, crash-safe sync from Confluence into the index.

``Syncer`` lists what exists in each space (cheap listings, no bodies), plans what changed
against the manifest stored in the index, and runs a pipeline of threads that fetch,
convert and chunk (``ragconf.convert``, ``ragconf.index.chunk``), embed only text whose hash
is new, and write to the vector store and the lexical index (``ragconf.index``). Deletions
happen only after a listing that completed. ``SyncReport`` says what happened. Its
collaborators are typed by the Protocols in ``protocols``.

>>> from ragconf.sync import Syncer
>>> report = Syncer(confluence, store, embedder, lexical, state_dir=data_dir).run()
>>> report.to_dict()["added"]

Modules: ``engine`` (the orchestrator), ``protocols`` (its seams), ``_enumerate``
(listings), ``_documents`` (Confluence objects -> documents and metadata), ``_plan`` (the
pure planner), ``_work`` and ``_write`` (the pipeline stages), ``_pipeline`` (bounded
threads), ``_report``, ``_state`` (data-directory lock and checkpoint), ``_lease`` (the
lock held in the store), ``_users``.
"""

from ragconf.sync._report import SpaceReport, SyncReport
from ragconf.sync.engine import DEFAULT_CUSTOM_TYPES, Syncer

__all__ = ["DEFAULT_CUSTOM_TYPES", "SpaceReport", "SyncReport", "Syncer"]
