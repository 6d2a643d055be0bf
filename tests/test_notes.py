"""notes/<key>.md: the key <-> file-name mapping, and matching notes to entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveybib.model import Entry
from surveybib.notes import attach_notes, key_from_filename, note_filename
from surveybib.survey import read_note_files

P = pytest.param

MAPPING = [
    P("vaswani2017attention", "vaswani2017attention.md", id="plain"),
    P("Dao_2022-flash.v2", "Dao_2022-flash.v2.md", id="plain-punctuation"),
    P("DBLP:conf/x/Y", "DBLP%3Aconf%2Fx%2FY.md", id="dblp"),
    P("a/b", "a%2Fb.md", id="slash"),
    P("a\\b", "a%5Cb.md", id="backslash"),
    P("..", "%2E..md", id="dot-dot"),
    P(".", "%2E.md", id="dot"),
    P(".hidden", "%2Ehidden.md", id="leading-dot"),
    P("con", "%63on.md", id="windows-con"),
    P("NUL", "%4EUL.md", id="windows-nul-upper"),
    P("com1.x", "%63om1.x.md", id="windows-com1-with-suffix"),
    P("console", "console.md", id="not-reserved"),
    P("a\x00b", "a%00b.md", id="nul-character"),
    P("a\nb", "a%0Ab.md", id="newline"),
    P("a b", "a%20b.md", id="space"),
    P("50%", "50%25.md", id="percent"),
    P('a<b>:c"d|e?f*', "a%3Cb%3E%3Ac%22d%7Ce%3Ff%2A.md", id="windows-forbidden"),
    P("Müller2020", "Müller2020.md", id="non-ascii-letters-kept"),
    P("凯撒2013", "凯撒2013.md", id="cjk"),
    P("a\u200bb", "a%E2%80%8Bb.md", id="invisible-format-char"),
]


@pytest.mark.parametrize(("key", "name"), MAPPING)
def test_note_filename(key: str, name: str) -> None:
    assert note_filename(key) == name


@pytest.mark.parametrize(("key", "name"), MAPPING)
def test_round_trip(key: str, name: str) -> None:
    assert key_from_filename(note_filename(key)) == key


def _stays_in(notes: Path, key: str) -> None:
    name = note_filename(key)
    assert name.endswith(".md") and name not in (".md", "..md")
    assert not any(ch in name for ch in '/\\\x00\n\r:<>"|?*'), name
    assert (notes / name).resolve().parent == notes.resolve()
    assert key_from_filename(name) == key


@pytest.mark.parametrize(("key", "name"), MAPPING)
def test_no_key_names_a_file_outside_notes(tmp_path: Path, key: str, name: str) -> None:
    _stays_in(tmp_path / "notes", key)


@given(st.text(min_size=1, max_size=40))
def test_any_key_round_trips_inside_notes(key: str) -> None:
    _stays_in(Path("/survey/notes"), key)


@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12))
def test_different_keys_get_different_files(a: str, b: str) -> None:
    assert (note_filename(a) == note_filename(b)) == (a == b)


def _entries(*keys: str) -> list[Entry]:
    return [Entry(key, "misc", (("title", key),)) for key in keys]


def test_notes_attach_to_their_entries() -> None:
    entries = _entries("plain", "DBLP:conf/x/Y")
    files = [("plain.md", "\n  Plain note.\n\n"), ("DBLP%3Aconf%2Fx%2FY.md", "DBLP note")]
    notes, problems = attach_notes(entries, files, "notes")
    assert problems == ()
    assert {k: (n.path, n.body) for k, n in notes.items()} == {
        "plain": ("notes/plain.md", "Plain note."),
        "DBLP:conf/x/Y": ("notes/DBLP%3Aconf%2Fx%2FY.md", "DBLP note"),
    }


@pytest.mark.parametrize(
    ("name", "key"),
    [
        P("orphan.md", "orphan", id="unknown-key"),
        P("Plain.md", "Plain", id="differs-in-case"),
        P("DBLP%3aconf%2fx%2fY.md", "DBLP:conf/x/Y", id="lower-case-hex"),
        P("%70lain.md", "plain", id="needless-escape"),
    ],
)
def test_a_note_that_is_not_an_entrys_file_is_reported(name: str, key: str) -> None:
    """Only the canonical file name attaches; anything else is a diagnostic, never lost."""
    notes, problems = attach_notes(_entries("plain", "DBLP:conf/x/Y"), [(name, "text")], "notes")
    assert notes == {}
    (problem,) = problems
    assert (problem.path, problem.line, problem.rule) == (f"notes/{name}", None, "orphan-note")
    assert str(problem) == f"notes/{name}: no entry with key '{key}' in the bibliography"


def test_keys_differing_only_in_case_are_a_warning() -> None:
    _, problems = attach_notes(_entries("Smith2020", "smith2020", "other"), [], "notes")
    (problem,) = problems
    assert (problem.rule, problem.level, problem.key) == ("note-collision", "warning", "smith2020")
    assert problem.path == "notes/smith2020.md"
    assert "'Smith2020'" in problem.message


def test_unreadable_note_is_reported_and_the_others_read(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "good.md").write_text("Good.\n", encoding="utf-8")
    (notes / "bad.md").write_bytes(b"caf\xe9\n")
    (notes / "ignored.txt").write_text("not a note", encoding="utf-8")
    files, problems = read_note_files(notes)
    assert files == [("good.md", "Good.\n")]
    (problem,) = problems
    assert (problem.path, problem.rule) == ("notes/bad.md", "note-unreadable")


def test_no_notes_directory_is_fine(tmp_path: Path) -> None:
    assert read_note_files(tmp_path / "notes") == ([], [])
