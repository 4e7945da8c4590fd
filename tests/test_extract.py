"""Attachment text extraction: txt, md, csv, pdf, docx; junk never raises."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragconf.convert.extract import extract_text, text_kind

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def make_pdf(pages: list[str]) -> bytes:
    """A small valid PDF with one line of Helvetica text per page (xref offsets computed)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # pages, filled in below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for text in pages:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_ref
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Release checklist", level=1)
    document.add_paragraph("Run the   smoke tests before tagging.")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Step", "Owner", "When"], ["Tag", "Ada", "Fri"], ["Ship", "", ""]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(2, 1).merge(table.cell(2, 2)).text = "Bob | ops"
    document.add_heading("Afterwards", level=2)
    document.add_paragraph("Announce it.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------ text
def test_plain_text_and_markdown_are_decoded_and_tidied() -> None:
    data = "Héllo wörld\r\n\r\n\r\n\r\nline 2   \r\n".encode()
    assert extract_text(data, "text/plain", "a.txt") == "Héllo wörld\n\nline 2"
    assert extract_text(b"# Title\n\n- item", "text/markdown", "a.md") == "# Title\n\n- item"
    assert extract_text(b"\xef\xbb\xbfbom text", "text/plain; charset=utf-8", "a.txt") == "bom text"
    assert extract_text("utf16 ✓".encode("utf-16"), "text/plain", "a.txt") == "utf16 ✓"
    assert extract_text("café".encode("cp1252"), "text/plain", "a.txt") == "café"


def test_text_is_capped_at_max_chars() -> None:
    assert (
        extract_text(b"abcdefghij" * 100, "text/plain", "a.txt", max_chars=15) == "abcdefghijabcde"
    )


def test_binary_junk_labelled_as_text_gives_none() -> None:
    junk = bytes(range(256)) * 8
    assert extract_text(junk, "text/plain", "a.txt") is None


def test_zero_bytes() -> None:
    assert extract_text(b"", "text/plain", "a.txt") == ""
    assert extract_text(b"", "text/csv", "a.csv") == ""
    assert extract_text(b"", "application/pdf", "a.pdf") is None
    assert extract_text(b"", DOCX, "a.docx") is None


# ------------------------------------------------------------------------- csv
def test_csv_becomes_a_markdown_table_with_its_header() -> None:
    data = b'name,role,notes\nAda,eng,"likes, commas"\nBob,ops,"a | pipe"\n,,\nCy,qa\n'
    assert extract_text(data, "text/csv", "team.csv") == (
        "| name | role | notes |\n| --- | --- | --- |\n| Ada | eng | likes, commas |\n"
        "| Bob | ops | a \\| pipe |\n| Cy | qa |  |"
    )


def test_csv_delimiters_and_generic_labels() -> None:
    assert extract_text(b"a;b\n1;2\n", "application/vnd.ms-excel", "x.csv") == (
        "| a | b |\n| --- | --- |\n| 1 | 2 |"
    )
    assert extract_text(b"a\tb\n1\t2\n", "application/octet-stream", "x.tsv") == (
        "| a | b |\n| --- | --- |\n| 1 | 2 |"
    )
    assert extract_text(b"single\nvalue\n", "text/csv", "x.csv") == (
        "| single |\n| --- |\n| value |"
    )


def test_csv_is_cut_at_a_row_boundary() -> None:
    data = b"k,v\n" + b"".join(b"key%d,value%d\n" % (i, i) for i in range(1000))
    text = extract_text(data, "text/csv", "big.csv", max_chars=200)
    assert text is not None and len(text) <= 200
    assert all(line.startswith("| ") and line.endswith(" |") for line in text.split("\n"))


def test_text_kind() -> None:
    assert text_kind("text/csv", "a.csv") == "table"
    assert text_kind("application/pdf", "a.pdf") == "text"
    assert text_kind("image/png", "a.png") is None


# ------------------------------------------------------------------------- pdf
def test_pdf_text_page_by_page() -> None:
    data = make_pdf(["First page about deployments", "Second page (rollback)"])
    text = extract_text(data, "application/pdf", "guide.pdf")
    assert text is not None
    assert "First page about deployments" in text and "Second page (rollback)" in text
    assert text.index("First") < text.index("Second")
    assert "\n\n" in text


def test_pdf_stops_at_max_chars() -> None:
    data = make_pdf([f"page number {i} " + "x" * 50 for i in range(20)])
    text = extract_text(data, "application/pdf", "long.pdf", max_chars=150)
    assert text is not None and len(text) <= 150
    assert "page number 0" in text and "page number 19" not in text


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 not really a pdf",
        b"garbage",
        make_pdf(["truncated document"])[:60],
        make_pdf(["bad xref"]).replace(b"/Root 1 0 R", b"/Root 9 0 R"),
    ],
)
def test_malformed_pdfs_give_none_or_text_but_never_raise(data: bytes) -> None:
    result = extract_text(data, "application/pdf", "broken.pdf")
    assert result is None or isinstance(result, str)


@pytest.mark.parametrize(("password", "expected"), [("", "secret plans"), ("hunter2", None)])
def test_encrypted_pdf_opens_only_with_an_empty_user_password(
    password: str, expected: str | None
) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(make_pdf(["secret plans"]))))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert extract_text(buffer.getvalue(), "application/pdf", "locked.pdf") == expected


# ------------------------------------------------------------------------ docx
def test_docx_paragraphs_headings_and_tables_in_order() -> None:
    text = extract_text(make_docx(), DOCX, "checklist.docx")
    assert text == (
        "# Release checklist\n\nRun the smoke tests before tagging.\n\n"
        "| Step | Owner | When |\n| --- | --- | --- |\n| Tag | Ada | Fri |\n"
        "| Ship | Bob \\| ops |  |\n\n## Afterwards\n\nAnnounce it."
    )


def test_docx_labelled_generically_and_capped() -> None:
    data = make_docx()
    assert extract_text(data, "application/octet-stream", "c.docx", max_chars=10) == ("# Release ")


def test_docx_that_would_inflate_too_far_is_refused() -> None:
    assert extract_text(make_docx(), DOCX, "c.docx", max_unpacked_bytes=1000) is None


def test_broken_docx_gives_none() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    assert extract_text(buffer.getvalue(), DOCX, "fake.docx") is None
    assert extract_text(b"PK\x03\x04junk", DOCX, "fake.docx") is None
    assert extract_text(make_docx()[:500], DOCX, "cut.docx") is None


# ------------------------------------------------------------------ unsupported
@pytest.mark.parametrize(
    ("media_type", "filename"),
    [("image/png", "a.png"), ("application/zip", "a.zip"), ("application/octet-stream", "a.bin"),
     ("application/vnd.ms-excel", "a.xls"), ("", "noextension")],
)  # fmt: skip
def test_unsupported_types_give_none(media_type: str, filename: str) -> None:
    assert extract_text(b"some bytes", media_type, filename) is None


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=2000),
    st.sampled_from(["text/plain", "text/csv", "application/pdf", DOCX, "text/markdown"]),
)
def test_junk_bytes_never_raise(data: bytes, media_type: str) -> None:
    result = extract_text(data, media_type, "file")
    assert result is None or isinstance(result, str)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=400), st.integers(0, 3000))
def test_corrupted_pdfs_and_docx_never_raise(noise: bytes, at: int) -> None:
    for data, media_type in ((make_pdf(["hello world"]), "application/pdf"), (make_docx(), DOCX)):
        at_ = at % len(data)
        broken = data[:at_] + noise + data[at_ + len(noise) :]
        result = extract_text(broken, media_type, "file")
        assert result is None or isinstance(result, str)
