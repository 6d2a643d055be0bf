"""Mapping Crossref/DataCite JSON to BibTeX fields. The real records are the bodies in
tests/data (sources named in tests/data/SOURCES.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import DATA

from surveybib.metadata.records import (
    acronym_venue,
    crossref_date,
    format_pages,
    map_crossref,
    map_datacite,
    plain_text,
)


def _message(name: str) -> dict[str, Any]:
    body = json.loads((DATA / "crossref" / f"{name}.json").read_text("utf-8"))
    return body.get("message", body)  # type: ignore[no-any-return]


def test_springer_lncs_chapter() -> None:
    record = map_crossref(_message("10.1007_978-3-642-33191-6_49"))
    assert record.type == "incollection"
    assert dict(record.fields) == {
        "title": "Human Body Orientation Estimation in Multiview Scenarios",
        "author": "Chen, Lili and Panin, Giorgio and Knoll, Alois",
        "booktitle": "Advances in Visual Computing",  # the book title first ...
        "series": "Lecture Notes in Computer Science",  # ... then the series
        "year": "2012",
        "pages": "499--508",
        "publisher": "Springer Berlin Heidelberg",
        "address": "Berlin, Heidelberg",
        "issn": "0302-9743",
        "isbn": "9783642331909",
        "doi": "10.1007/978-3-642-33191-6_49",
        "url": "https://doi.org/10.1007/978-3-642-33191-6_49",
    }


def test_biorxiv_preprint_with_published_version() -> None:
    record = map_crossref(_message("10.1101_097196"))
    fields = dict(record.fields)
    assert record.type == "misc"
    assert fields["title"] == "A Data Citation Roadmap for Scholarly Data Repositories"
    assert fields["author"].startswith("Fenner, Martin and Crosas, Mercè and Grethe, Jeffrey")
    assert fields["author"].count(" and ") == 10
    assert fields["howpublished"] == "bioRxiv"
    assert fields["year"] == "2016"
    assert record.preprint_of == ("10.1038/s41597-019-0031-8",)
    assert "journal" not in fields and "booktitle" not in fields


def test_ieee_proceedings_with_null_issued_date_has_no_year() -> None:
    message = _message("10.1109_icdcsw.2003.1203662")
    assert message["issued"] == {"date-parts": [[None]]}
    record = map_crossref(message)
    fields = dict(record.fields)
    assert record.type == "inproceedings"
    assert "year" not in fields and record.year == ""
    assert fields["booktitle"] == ("23rd International Conference on Distributed Computing "
                                   "Systems Workshops, 2003. Proceedings.")
    assert fields["author"] == "Arya, V. and Turletti, T."
    assert fields["pages"] == "877--882"
    assert "venue" not in fields  # the event has a name but no acronym


def test_acm_www_companion_event_acronym_and_non_ascii_author() -> None:
    record = map_crossref(_message("10.1145_3184558.3186235"))
    fields = dict(record.fields)
    assert record.type == "inproceedings"
    assert record.venue == "WWW" and fields["venue"] == "WWW"
    assert record.year == "2018"
    assert fields["author"].startswith("Bühmann, Lorenz and Lehmann, Jens")
    assert fields["isbn"] == "9781450356404"
    assert "pages" not in fields  # this record has no page
    # Two spaces in Crossref's container title collapse to one.
    assert fields["booktitle"] == ("Companion of the The Web Conference 2018 on The Web "
                                   "Conference 2018 - WWW '18")


def test_acm_sigmod_subtitle_print_date_and_acronym() -> None:
    record = map_crossref(_message("10.1145_3448016.3452841"))
    fields = dict(record.fields)
    assert fields["title"] == ("Vector Quotient Filters: Overcoming the Time/Space Trade-Off "
                               "in Filter Design")
    assert fields["year"] == "2021"  # published-print 2021-06-09 over published-online
    assert fields["venue"] == "SIGMOD/PODS"
    assert fields["booktitle"] == "Proceedings of the 2021 International Conference on " \
        "Management of Data"
    assert fields["author"].split(" and ")[4] == "Farach-Colton, Martin"
    assert fields["pages"] == "1386--1399"
    assert fields["publisher"] == "ACM"


def test_csl_json_transform_plain_string_titles() -> None:
    # Crossref's CSL transform gives title/container-title as plain strings.
    record = map_crossref(_message("10.1126_science.169.3946.635.csl"))
    fields = dict(record.fields)
    assert record.type == "article"
    assert fields["journal"] == "Science"
    assert fields["title"].startswith("The Structure of Ordinary Water: New data")
    assert (fields["volume"], fields["number"], fields["pages"]) == ("169", "3946", "635--641")
    assert fields["year"] == "1970"


def test_search_items_map_like_works() -> None:
    items = _message("search_works_query=ecology_rows=2")["items"]
    first, second = (map_crossref(i) for i in items)
    assert first.type == "incollection" and first.get("booktitle") == "Ecology"
    assert first.get("year") == "2022" and first.get("author") == ""
    assert second.get("author") == "Kessler, André"


def test_datacite_lipics_conference_paper() -> None:
    body = json.loads((DATA / "datacite" / "datacite_10.4230_lipics.tqc.2013.93.json")
                      .read_text("utf-8"))
    record = map_datacite(body["data"]["attributes"])
    assert record.source == "datacite" and record.type == "inproceedings"
    assert dict(record.fields) == {
        "title": "The Minimum Size of Qubit Unextendible Product Bases",
        "author": "Johnston, Nathaniel",
        "booktitle": "LIPIcs, Volume 22, TQC 2013",
        "series": "Leibniz International Proceedings in Informatics (LIPIcs)",
        "year": "2013",
        "volume": "22",
        "pages": "93--105",
        "publisher": "Schloss Dagstuhl – Leibniz-Zentrum für Informatik",
        "doi": "10.4230/lipics.tqc.2013.93",
        "url": "https://drops.dagstuhl.de/entities/document/10.4230/LIPIcs.TQC.2013.93",
    }


def test_datacite_arxiv_preprint() -> None:
    attributes = {
        "doi": "10.48550/arxiv.2305.09781",
        "identifiers": [{"identifier": "2305.09781", "identifierType": "arXiv"}],
        "creators": [
            {"name": "Miao, Xupeng", "nameType": "Personal", "givenName": "Xupeng",
             "familyName": "Miao"},
            {"name": "Oliaro, Gabriele", "nameType": "Personal"},
            {"name": "The SpecInfer Team", "nameType": "Organizational"},
        ],
        "titles": [{"title": "SpecInfer: Accelerating Generative Large Language Model Serving"}],
        "publisher": {"name": "arXiv"},
        "publicationYear": 2023,
        "types": {"bibtex": "misc", "resourceTypeGeneral": "Preprint"},
        "url": "https://arxiv.org/abs/2305.09781",
        "relatedIdentifiers": [{"relationType": "IsPreprintOf", "relatedIdentifierType": "DOI",
                                "relatedIdentifier": "10.1145/3620666.3651335"}],
    }
    record = map_datacite(attributes)
    fields = dict(record.fields)
    assert record.type == "misc"
    assert fields["author"] == "Miao, Xupeng and Oliaro, Gabriele and {The SpecInfer Team}"
    assert fields["publisher"] == "arXiv"
    assert (fields["eprint"], fields["archiveprefix"]) == ("2305.09781", "arXiv")
    assert fields["year"] == "2023"
    assert record.preprint_of == ("10.1145/3620666.3651335",)


def _work(**extra: Any) -> dict[str, Any]:
    return {"DOI": "10.5555/x", "type": "journal-article", "title": ["T"], **extra}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Deep <i>learning</i> for H<sub>2</sub>O", "Deep learning for H2O",
                     id="html-inline"),
        pytest.param("<jats:title>A</jats:title> <jats:italic>B</jats:italic>", "A B", id="jats"),
        pytest.param("<mml:math><mml:msub><mml:mi>x</mml:mi><mml:mn>1</mml:mn></mml:msub>"
                     "</mml:math>-norm", "x1-norm", id="mathml"),
        pytest.param("Fish &amp; Chips &lt;3 &#x00E9;t&eacute;", "Fish \\& Chips <3 été",
                     id="entities"),
        pytest.param("  spaced\n\tout  ", "spaced out", id="whitespace"),
        pytest.param("50% of $x_1$ ~ #1 {a}^b", "50\\% of \\$x\\_1\\$ \\textasciitilde{} \\#1 "
                     "\\{a\\}\\textasciicircum{}b", id="latex-specials-escaped"),
    ],
)
def test_titles_lose_markup_and_are_bibtex_safe(raw: str, expected: str) -> None:
    assert map_crossref(_work(title=[raw])).get("title") == expected


def test_title_subtitle_join() -> None:
    assert map_crossref(_work(title=["Why?"], subtitle=["Because"])).get("title") == \
        "Why? Because"
    assert map_crossref(_work(title=["A: B"], subtitle=["B"])).get("title") == "A: B"


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        pytest.param([{"given": "Jane", "family": "Doe"}], "Doe, Jane", id="given-family"),
        pytest.param([{"name": "OpenAI"}], "{OpenAI}", id="organisation"),
        pytest.param([{"name": "Research and Development Team, Inc."}],
                     "{Research and Development Team, Inc.}", id="organisation-and-comma"),
        pytest.param([{"family": "Plato"}], "Plato", id="family-only"),
        pytest.param([{"given": "Martin Luther", "family": "King", "suffix": "Jr."}],
                     "King, Jr., Martin Luther", id="suffix"),
        pytest.param([{"given": "Ľubomír", "family": "Šťastný"}, {"given": "李", "family": "王"}],
                     "Šťastný, Ľubomír and 王, 李", id="non-ascii"),
        pytest.param([{"given": "A", "family": "Smith & Sons"}], "Smith \\& Sons, A",
                     id="special-in-name"),
    ],
)
def test_authors(authors: list[dict[str, str]], expected: str) -> None:
    assert map_crossref(_work(author=authors)).get("author") == expected


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        pytest.param({"published-print": {"date-parts": [[2024, 4]]},
                      "published-online": {"date-parts": [[2023, 12, 1]]}}, (2024, 4),
                     id="print-over-online"),
        pytest.param({"published-online": {"date-parts": [[2023, 12, 1]]},
                      "issued": {"date-parts": [[2022]]}}, (2023, 12, 1), id="online-over-issued"),
        pytest.param({"issued": {"date-parts": [[2022]]}}, (2022,), id="year-only"),
        pytest.param({"published-print": {"date-parts": [[None]]},
                      "issued": {"date-parts": [["2020", "5"]]}}, (2020, 5),
                     id="null-print-falls-through"),
        pytest.param({"issued": {"date-parts": [[None]]},
                      "created": {"date-parts": [[2004, 6, 22]]},
                      "deposited": {"date-parts": [[2017, 3, 13]]}}, (), id="never-created"),
    ],
)
def test_dates(dates: dict[str, Any], expected: tuple[int, ...]) -> None:
    assert crossref_date(dates) == expected


@pytest.mark.parametrize(
    ("kind", "bibtype", "container_field"),
    [
        ("journal-article", "article", "journal"),
        ("proceedings-article", "inproceedings", "booktitle"),
        ("book-chapter", "incollection", "booktitle"),
        ("reference-entry", "incollection", "booktitle"),
        ("book", "book", "series"),
        ("monograph", "book", "series"),
        ("proceedings", "proceedings", "series"),
        ("dissertation", "phdthesis", "howpublished"),
        ("report", "techreport", "howpublished"),
        ("dataset", "misc", "howpublished"),
        ("posted-content", "misc", None),
        ("peer-review", "misc", "howpublished"),
        ("something-new", "misc", "howpublished"),
    ],
)
def test_types(kind: str, bibtype: str, container_field: str | None) -> None:
    record = map_crossref(_work(type=kind, **{"container-title": ["Box"]}))
    assert record.type == bibtype
    if container_field:
        assert record.get(container_field) == "Box"


def test_pages_and_article_number() -> None:
    assert format_pages("499–508") == "499--508"
    assert format_pages("e1001 - e1010") == "e1001--e1010"
    assert format_pages("12") == "12"
    record = map_crossref(_work(**{"article-number": "e1002"}))
    assert record.get("eid") == "e1002" and record.get("pages") == ""
    record = map_crossref(_work(page="1-2", **{"article-number": "7"}))
    assert record.get("pages") == "1--2" and record.get("eid") == ""


@pytest.mark.parametrize(
    ("acronym", "venue"),
    [("ASPLOS '24", "ASPLOS"), ("SIGMOD/PODS '21", "SIGMOD/PODS"), ("ICSE 2020", "ICSE"),
     ("MLSys", "MLSys"), ("EuroSys ’23", "EuroSys"), ("SC '22", "SC"), ("SOSP'23", "SOSP")],
)
def test_short_venue(acronym: str, venue: str) -> None:
    assert acronym_venue(acronym) == venue


def test_plain_text_double_encoded_entity() -> None:
    assert plain_text("Lab &amp;amp; University") == "Lab & University"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        pytest.param("x < y and z > w", "x < y and z > w", id="comparison-signs-are-text"),
        pytest.param("A <i>B</i> <sub>2</sub>", "A B 2", id="inline-markup"),
        pytest.param('<mml:math xmlns:mml="u"><mml:mi>x</mml:mi></mml:math>', "x",
                     id="mathml"),
        pytest.param("<jats:p>&amp; C</jats:p><br/>", "& C", id="jats-and-void-tags"),
    ],
)
def test_plain_text_strips_tags_but_keeps_angle_brackets(raw: str, text: str) -> None:
    assert plain_text(raw) == text
