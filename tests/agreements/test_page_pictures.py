"""The document's pages as pictures (agreements.pages): drawn once, whole, even when several
readers open a newly signed document at the same moment."""

from __future__ import annotations

import threading

from weasyprint import HTML

from agreements import pages


def test_readers_drawing_the_same_page_at_once_all_get_the_whole_picture(tmp_path):
    pdf = tmp_path / "agreement.pdf"
    HTML(string='<p>第一页</p><p style="break-before: page">第二页</p>').write_pdf(pdf)
    folder = tmp_path / "pages"
    got, failed = [], []

    def read() -> None:
        try:
            got.append(pages.picture(pdf, "ab" * 32, 1, folder))
        except Exception as error:  # what the reader's browser got as a broken picture
            failed.append(error)

    readers = [threading.Thread(target=read) for _ in range(6)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()

    assert failed == []
    assert len(set(got)) == 1 and got[0].read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in folder.iterdir()] == [got[0].name]  # no half-drawn file left


def test_a_page_the_document_does_not_have_is_none(tmp_path):
    pdf = tmp_path / "agreement.pdf"
    HTML(string="<p>一页</p>").write_pdf(pdf)
    assert pages.picture(pdf, "cd" * 32, 2, tmp_path / "pages") is None
