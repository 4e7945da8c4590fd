"""The simulator's in-memory site: corpora, mutations, permissions and the oracle (no HTTP)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from lxml import etree

import ragconf.simulator as simulator
from ragconf.simulator import (
    CALENDAR_TYPE,
    DEMO_USER,
    GUEST_USER,
    HR_USER,
    Site,
    beir_site,
    demo_site,
    html_site,
    synthetic_site,
)
from ragconf.simulator._tasks import parse_tasks
from ragconf.simulator.corpus_demo import read_asset
from tests.shared_data import need


def _well_formed(xhtml: str) -> None:
    etree.fromstring(f'<r xmlns:ac="urn:ac" xmlns:ri="urn:ri">{xhtml}</r>'.encode())


def test_public_names_match_all() -> None:
    exported = {n for n in dir(simulator) if not n.startswith("_")}
    modules = {"corpus_beir", "corpus_demo", "corpus_html"}
    assert len(set(simulator.__all__)) == len(simulator.__all__)  # ruff RUF022 keeps order
    assert set(simulator.__all__) == exported - modules


def test_demo_has_the_promised_size_and_shape(demo_site: Site) -> None:
    assert {s.key for s in demo_site.spaces.values()} == {"ENG", "OPS", "HR", "LEAD"}
    assert len(demo_site.pages) >= 60
    assert len(demo_site.blogposts) >= 10
    assert len(demo_site.attachments) >= 20
    assert {c.custom_type for c in demo_site.custom_content.values()} == {CALENDAR_TYPE}
    assert len(demo_site.tasks) >= 10
    assert any(t.assigned_to and t.due_at for t in demo_site.tasks.values())
    # page trees, versions, lifecycle states
    assert sum(1 for p in demo_site.pages.values() if p.parent_id) >= 50
    assert any(p.version >= 3 for p in demo_site.pages.values())
    assert {p.status for p in demo_site.pages.values()} == {"current", "archived", "trashed"}
    for space in demo_site.spaces.values():
        assert demo_site.pages[space.homepage_id].parent_id is None  # type: ignore[index]


def test_demo_is_deterministic() -> None:
    a, b = demo_site(), demo_site()
    assert a.state() == b.state()
    assert [(p.id, p.title, p.body, p.modified_at) for p in a.pages.values()] == [
        (p.id, p.title, p.body, p.modified_at) for p in b.pages.values()
    ]


def test_demo_bodies_use_real_storage_markup(demo_site: Site) -> None:
    bodies = "".join(r.body for t in (demo_site.pages, demo_site.blogposts)
                     for r in t.values())
    for construct in ('ac:name="code"', "<![CDATA[", 'ac:name="info"', 'ac:name="note"',
                      'ac:name="warning"', 'ac:name="tip"', "<table", "<ac:task-list>",
                      'ac:name="status"', 'ac:name="expand"', 'ac:name="include"',
                      "<ri:page ", "<ri:attachment ", "<ac:image", "ri:account-id=",
                      'ac:name="jira"', "<ac:emoticon", "<ac:layout>", "<h2>", "<time "):
        assert construct in bodies, construct
    for table in (demo_site.pages, demo_site.blogposts, demo_site.custom_content):
        for rec in table.values():
            _well_formed(rec.body)


def test_demo_mentions_resolve_to_display_names(demo_site: Site) -> None:
    names = demo_site.users_by_account_id()
    mentioned = set(re.findall(r'ri:account-id="([^"]+)"', "".join(
        p.body for p in demo_site.pages.values())))
    assert mentioned and mentioned <= set(names)
    assert "Priya Raman" in names.values()


def test_demo_phrases_are_distinct(demo_site: Site) -> None:
    hits = [p.title for p in demo_site.pages.values() if "ERR-4031" in p.body]
    assert "Error codes" in hits
    assert sum("patronictl" in p.body for p in demo_site.pages.values()) <= 3


def test_demo_assets_are_real_files() -> None:
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(read_asset("employee-handbook.pdf"))).pages[0].extract_text()
    assert "Larkspur Employee Handbook 2026" in text and "25 days" in text
    import docx

    doc = docx.Document(io.BytesIO(read_asset("interview-scorecard.docx")))
    assert "scorecard" in doc.paragraphs[0].text.lower()
    assert read_asset("error-codes.csv").decode().splitlines()[0].startswith("code,")
    assert read_asset("architecture-overview.png").startswith(b"\x89PNG")


def test_guest_sees_fewer_spaces_and_no_restricted_pages(demo_site: Site) -> None:
    security = next(p for p in demo_site.pages.values() if p.title == "Security")
    child = next(p for p in demo_site.pages.values() if p.parent_id == security.id)
    assert demo_site.can_view(DEMO_USER, security.id)
    assert not demo_site.can_view(GUEST_USER, security.id)
    assert not demo_site.can_view(GUEST_USER, child.id)  # restriction is inherited
    guest_spaces = {demo_site.spaces[i].key for i in demo_site.visible_ids(GUEST_USER, "spaces")}
    assert guest_spaces == {"ENG", "OPS"}
    assert len(demo_site.visible_ids(GUEST_USER, "pages")) < len(
        demo_site.visible_ids(DEMO_USER, "pages"))
    hidden_att = next(a for a in demo_site.attachments.values()
                      if a.container_id == security.id)
    assert not demo_site.can_view(GUEST_USER, hidden_att.id)
    assert demo_site.can_view(HR_USER, next(iter(
        i for i in demo_site.visible_ids(HR_USER, "pages")
        if demo_site.spaces[demo_site.pages[i].space_id].key == "HR")))


def test_edit_bumps_version_and_time_but_labels_do_not(demo_site: Site) -> None:
    page_id = demo_site.visible_ids(DEMO_USER, "pages")[5]
    page = demo_site.pages[page_id]
    before_version, before_time = page.version, page.modified_at
    demo_site.edit(page_id, body="<p>New text</p>", message="rewrite")
    assert page.version == before_version + 1 and page.modified_at > before_time
    assert page.history[-1].number == before_version
    stamp = page.modified_at
    demo_site.set_labels(page_id, ["fresh", "team:owned"])
    assert page.version == before_version + 1 and page.modified_at == stamp
    assert [(demo_site.labels[i].prefix, demo_site.labels[i].name) for i in page.label_ids] == [
        ("global", "fresh"), ("team", "owned")]


def test_titles_are_unique_per_space_including_trash() -> None:
    site = Site()
    site.add_space("A", "A", homepage=False)
    page_id = site.add_page("A", "Same", "<p>x</p>")
    site.trash(page_id)
    with pytest.raises(ValueError):
        site.add_page("A", "Same", "<p>y</p>")
    site.purge(page_id)
    site.add_page("A", "Same", "<p>y</p>")


def test_trash_reparents_children_and_purge_removes_dependents() -> None:
    site = Site()
    site.add_space("A", "A", homepage=False)
    root = site.add_page("A", "Root", "<p>r</p>")
    mid = site.add_page("A", "Mid", "<p>m</p>", parent_id=root)
    leaf = site.add_page("A", "Leaf", '<ac:task-list><ac:task><ac:task-id>1</ac:task-id>'
                         '<ac:task-status>incomplete</ac:task-status><ac:task-body>do'
                         '</ac:task-body></ac:task></ac:task-list>', parent_id=mid)
    att = site.add_attachment(mid, "a.txt", b"hello", "text/plain")
    site.trash(mid)
    assert site.pages[leaf].parent_id == root
    assert site.attachment_status(att) == "trashed"
    assert mid not in site.visible_ids(DEMO_USER, "pages")
    assert att not in site.visible_ids(DEMO_USER, "attachments")
    site.purge(mid)
    assert mid not in site.pages and att not in site.attachments
    assert len(site.tasks) == 1
    site.purge(leaf)
    assert not site.tasks


def test_move_takes_the_subtree_and_rejects_cycles() -> None:
    site = Site()
    site.add_space("A", "A", homepage=False)
    site.add_space("B", "B", homepage=False)
    top = site.add_page("A", "Top", "<p>t</p>")
    kid = site.add_page("A", "Kid", "<p>k</p>", parent_id=top)
    with pytest.raises(ValueError):
        site.move(top, parent_id=kid)
    site.move(top, space_key="B")
    b_id = site.space_by_key("B").id
    assert site.pages[top].space_id == b_id and site.pages[kid].space_id == b_id
    assert site.pages[top].parent_id is None and site.pages[kid].parent_id == top


def test_restriction_and_space_access_changes(demo_site: Site) -> None:
    page_id = next(p.id for p in demo_site.pages.values() if p.title == "Runbooks")
    children = [p.id for p in demo_site.pages.values() if p.parent_id == page_id]
    demo_site.restrict(page_id, {DEMO_USER})
    assert not any(demo_site.can_view(GUEST_USER, i) for i in [page_id, *children])
    demo_site.restrict(page_id, None)
    assert all(demo_site.can_view(GUEST_USER, i) for i in [page_id, *children])
    demo_site.set_space_access(GUEST_USER, None)
    assert len(demo_site.visible_ids(GUEST_USER, "spaces")) == 4


def test_attachment_same_name_is_a_new_version() -> None:
    site = Site()
    site.add_space("A", "A")
    home = site.space_by_key("A").homepage_id
    assert home is not None
    first = site.add_attachment(home, "notes.txt", b"v1", "text/plain")
    again = site.add_attachment(home, "notes.txt", b"v2!", "text/plain")
    assert first == again
    att = site.attachments[first]
    assert (att.version, att.data, att.history[0][2]) == (2, b"v2!", b"v1")


def test_tasks_are_parsed_from_storage_including_nested_lists() -> None:
    samples = need("confluence", "storage-samples")
    xml = (samples / "perceval-opnfv-nested-tasklists.xml").read_text()
    tasks = parse_tasks(xml)
    ids = [t.local_id for t in tasks]
    assert "15" in ids and "13" in ids and len(ids) == len(set(ids))
    outer = next(t for t in tasks if t.local_id == "13")
    assert "Requires" not in outer.body  # the nested list belongs to tasks 15/16
    assert {t.status for t in parse_tasks((samples / "mark-tasklists.html").read_text())} == {
        "complete", "incomplete"}


def test_editing_a_task_list_updates_tasks_in_place(demo_site: Site) -> None:
    page = next(p for p in demo_site.pages.values() if p.title == "First week checklist")
    tasks = [t for t in demo_site.tasks.values() if t.container_id == page.id]
    assert any(t.blank for t in tasks)
    yubikey = next(t for t in tasks if "YubiKey" in t.body)
    assert yubikey.status == "complete" and yubikey.completed_at is not None
    demo_site.edit(page.id, body=page.body.replace("<ac:task-id>7</ac:task-id>", ""))
    after = {t.local_id: t.id for t in demo_site.tasks.values() if t.container_id == page.id}
    assert after["3"] == yubikey.id


def test_clock_moves_forward_only() -> None:
    site = Site()
    before = site.now
    site.advance(3600)
    assert (site.now - before).total_seconds() == 3600
    with pytest.raises(ValueError):
        site.advance(-1)


def test_beir_site_maps_documents_to_pages(tmp_path: Path) -> None:
    rows = [{"_id": "d1", "title": "Alpha & beta", "text": "x < y"},
            {"_id": "d2", "title": "", "text": "no title"},
            {"_id": "d3", "title": "Alpha & beta", "text": "same title, other doc"},
            {"_id": "d4", "title": "Gamma", "text": "fourth"},
            {"_id": "d5", "title": "Alpha & beta", "text": "third with that title"}]
    corpus = tmp_path / "mini"
    corpus.mkdir()
    (corpus / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    site = beir_site(corpus, spaces=2)
    assert len(site.spaces) == 2 and len(site.pages) == 5
    for row in rows:
        page = site.pages[site.page_id_for(row["_id"])]
        assert site.doc_id_for(page.id) == row["_id"]
        assert page.body.startswith("<p>") and "&lt;" not in row["text"]
    assert site.pages[site.page_id_for("d1")].body == "<p>x &lt; y</p>"
    assert site.pages[site.page_id_for("d2")].title == "d2"
    assert site.pages[site.page_id_for("d5")].title == "Alpha & beta (d5)"
    assert len(beir_site(corpus, spaces=2, limit=2).pages) == 2


def test_beir_site_loads_scifact() -> None:
    site = beir_site(need("data", "scifact", "corpus.jsonl").parent, spaces=4)
    assert len(site.pages) == 5183
    assert site.pages[site.page_id_for("4983")].title.startswith("Microstructural development")


def test_html_site_turns_files_into_pages(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(
        "<html><head><title>Getting started</title><script>x()</script></head>"
        "<body>Intro<p>Hello<br>world</p><h1>Ignored</h1></body></html>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.htm").write_text("<h1>Second page</h1><p>Text &amp; more</p>")
    (tmp_path / "sub" / "no-title.html").write_text("<p>bare</p>")
    site = html_site(tmp_path)
    titles = {p.title: p for p in site.pages.values()}
    assert set(titles) == {"Getting started", "Second page", "no title"}
    body = titles["Getting started"].body
    assert "x()" not in body and "<br/>" in body and "<p>Intro</p>" in body
    for page in site.pages.values():
        _well_formed(page.body)


def test_synthetic_site_is_big_and_fast_to_build() -> None:
    site = synthetic_site(3000, spaces=3, blogposts=5, attachments=4)
    assert len(site.pages) == 3000 and len(site.blogposts) == 5 and len(site.attachments) == 4
    guest_spaces = site.visible_ids(GUEST_USER, "spaces")
    assert len(guest_spaces) == 2
    assert sum(1 for p in site.pages.values() if p.parent_id) > 2000


def test_committed_assets_are_reproducible() -> None:
    from ragconf.simulator._make_assets import REPRODUCIBLE

    for name, build in REPRODUCIBLE.items():
        assert build() == read_asset(name), name


def test_pdf_writer_escapes_and_extracts() -> None:
    from pypdf import PdfReader

    from ragconf.simulator._pdf import write_pdf

    data = write_pdf([["Costs (EUR) \\ per day", "Café"], ["Second page"]], title="T (1)")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    assert "Costs (EUR) \\ per day" in reader.pages[0].extract_text()
    assert "Café" in reader.pages[0].extract_text()


@pytest.mark.parametrize("module", [
    "ragconf.simulator._tasks", "ragconf.simulator._site", "ragconf.simulator._params",
    "ragconf.simulator._storage", "ragconf.simulator._faults", "ragconf.simulator._pdf",
    "ragconf.simulator._synthetic", "ragconf.simulator.corpus_demo",
    "ragconf.simulator._paging",
])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
