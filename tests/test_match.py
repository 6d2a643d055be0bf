"""The title -> DOI guard. A wrong DOI is worse than none: most cases here must say no."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import DATA

from surveybib.metadata.match import Query, candidates_from_items, judge, normalize_title, query_for
from surveybib.model import Entry


def _item(doi: str, title: str, family: str | None, year: int | None,
          score: float = 50.0, container: str = "", subtitle: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {"DOI": doi, "title": [title], "score": score,
                            "container-title": [container] if container else []}
    if subtitle:
        item["subtitle"] = [subtitle]
    if family is not None:
        item["author"] = [{"given": "A.", "family": family}]
    if year is not None:
        item["issued"] = {"date-parts": [[year]]}
    return item


def _entry(**fields: str) -> Entry:
    return Entry("key", fields.pop("type", "inproceedings"), tuple(fields.items()))


def _verdict(entry: Entry, *items: dict[str, Any]) -> tuple[str, str | None]:
    query = query_for(entry)
    assert query is not None
    verdict = judge(query, candidates_from_items(items))
    return verdict.status, verdict.doi


SPECINFER = "SpecInfer: Accelerating Large Language Model Serving with Tree-based " \
    "Speculative Inference and Verification"


def test_exact_title_author_year_is_matched() -> None:
    entry = _entry(title="{SpecInfer}: Accelerating Large Language Model Serving with "
                         "{T}ree-based Speculative Inference and Verification",
                   author="Miao, Xupeng and Oliaro, Gabriele", year="2024")
    assert _verdict(entry, _item("10.1145/3620666.3651335", SPECINFER, "Miao", 2024, 80),
                    _item("10.5555/other", "Speculative decoding for LLMs", "Leviathan", 2023,
                          40)) == ("matched", "10.1145/3620666.3651335")


def test_title_without_subtitle_matches_main_title() -> None:
    entry = _entry(title="Vector Quotient Filters", author="Prashant Pandey", year="2021")
    item = _item("10.1145/3448016.3452841", "Vector Quotient Filters", "Pandey", 2021,
                 subtitle="Overcoming the Time/Space Trade-Off in Filter Design")
    assert _verdict(entry, item) == ("matched", "10.1145/3448016.3452841")


def test_year_within_one_is_accepted() -> None:
    entry = _entry(title=SPECINFER, author="Miao, Xupeng", year="2023")  # arXiv year
    assert _verdict(entry, _item("10.1145/3620666.3651335", SPECINFER, "Miao", 2024))[0] == \
        "matched"


@pytest.mark.parametrize(
    ("entry", "items"),
    [
        pytest.param(
            _entry(title="Attention Is All You Need", author="Vaswani, Ashish", year="2017",
                   booktitle="Advances in Neural Information Processing Systems"),
            [_item("10.5555/att", "Attention is all you need", "Vaswani", 2017, 99)],
            id="neurips-venue-never-gets-a-doi"),
        pytest.param(
            _entry(title="Attention Is All You Need", author="Vaswani, Ashish", year="2017"),
            [_item("10.5555/att2", "Attention Is All You Need", "Zhang", 2021, 99),
             _item("10.5555/att3", "Attention is all you need: a review", "Vaswani", 2023)],
            id="neurips-paper-same-title-other-author"),
        pytest.param(
            _entry(title="Language Models are Few-Shot Learners", author="Brown, Tom B.",
                   year="2020"),
            [_item("10.5555/llm", "Large Language Models are Few-Shot Clinical Information "
                   "Extractors", "Agrawal", 2022, 60),
             _item("10.5555/llm2", "Language models are few-shot learners for prognostic "
                   "prediction", "Brown", 2021, 55)],
            id="neurips-similar-looking-titles"),
        pytest.param(
            _entry(title="Adam: A Method for Stochastic Optimization", author="Kingma, Diederik",
                   year="2015", booktitle="International Conference on Learning "
                   "Representations ({ICLR})"),
            [_item("10.5555/adam", "Adam: A Method for Stochastic Optimization", "Kingma",
                   2015)],
            id="iclr-venue"),
        pytest.param(
            _entry(title="Flash Attention: Fast and Memory-Efficient Exact Attention with "
                   "IO-Awareness", author="Dao, Tri", year="2022"),
            [_item("10.5555/fa", "FlashAttention-2: Faster Attention with Better Parallelism "
                   "and Work Partitioning", "Dao", 2023, 70)],
            id="same-author-different-paper"),
        pytest.param(
            _entry(title="Scaling Laws for Neural Language Models", author="Kaplan, Jared",
                   year="2020", journal="Journal of Machine Learning Research"),
            [_item("10.5555/sl", "Scaling laws for neural language models", "Kaplan", 2020)],
            id="jmlr-venue"),
        pytest.param(
            _entry(title="Dropout: A Simple Way to Prevent Neural Networks from Overfitting",
                   author="Srivastava, Nitish", year="2014"),
            [_item("10.5555/do", "Dropout: A Simple Way to Prevent Neural Networks from "
                   "Overfitting", "Srivastava", 2019, 90)],
            id="year-too-far-apart"),
        pytest.param(
            _entry(title="Training Compute-Optimal Large Language Models",
                   author="Hoffmann, Jordan", year="2022"),
            [_item("10.5555/chin", "Training Compute-Optimal Large Language Models", None, 2022)],
            id="candidate-without-authors"),
        pytest.param(
            _entry(title="Attention", year="2019"),
            [_item("10.5555/short", "Attention!", "Smith", 2019),
             _item("10.5555/short2", "Attentions", "Jones", 2019)],
            id="short-title-needs-equality-and-is-ambiguous-anyway"),
        pytest.param(
            _entry(title="Proximal Policy Optimization Algorithms", author="Schulman, John",
                   year="2017", type="misc", howpublished="PMLR"),
            [_item("10.5555/ppo", "Proximal Policy Optimization Algorithms", "Schulman", 2017)],
            id="pmlr"),
    ],
)
def test_no_match(entry: Entry, items: list[dict[str, Any]]) -> None:
    status, doi = _verdict(entry, *items)
    assert doi is None
    assert status in ("no match", "ambiguous")


def test_two_fitting_candidates_are_ambiguous() -> None:
    entry = _entry(title=SPECINFER, author="Miao, Xupeng", year="2024")
    status, doi = _verdict(entry, _item("10.1145/3620666.3651335", SPECINFER, "Miao", 2024, 80),
                           _item("10.5555/dup", SPECINFER, "Miao", 2024, 79))
    assert (status, doi) == ("ambiguous", None)


def test_rejected_candidates_say_why() -> None:
    entry = _entry(title=SPECINFER, author="Miao, Xupeng", year="2024")
    query = query_for(entry)
    assert query is not None
    verdict = judge(query, candidates_from_items([
        _item("10.5555/a", SPECINFER, "Zhang", 2024), _item("10.5555/b", SPECINFER, "Miao", 2019),
        _item("10.5555/c", "Something else entirely different here", "Miao", 2024)]))
    assert verdict.status == "no match"
    assert [c.note for c in verdict.candidates] == ["first author Zhang", "year 2019",
                                                    "title differs"]


def test_entry_without_authors_matches_on_title_and_year() -> None:
    entry = _entry(title=SPECINFER, year="2024")
    assert _verdict(entry, _item("10.1145/3620666.3651335", SPECINFER, "Miao", 2024))[0] == \
        "matched"


def test_query_text_is_title_author_year() -> None:
    entry = _entry(title="{SpecInfer}: Fast", author="Miao, Xupeng and Oliaro, G.",
                   year="2024")
    assert query_for(entry) == Query("{SpecInfer}: Fast", "Miao", "2024", "")
    assert query_for(entry).text == "SpecInfer: Fast Miao 2024"  # type: ignore[union-attr]
    assert query_for(_entry(author="X")) is None


def test_normalize_title_folds_latex_markup_case_and_punctuation() -> None:
    assert normalize_title(r"{B}{\"u}hmann's {\em Fast} <i>Attention</i>--Now!") == \
        "buhmann s fast attention now"


def test_real_search_response_candidates() -> None:
    body = json.loads((DATA / "crossref" / "search_works_query=ecology_rows=2.json")
                      .read_text("utf-8"))
    candidates = candidates_from_items(body["message"]["items"])
    assert [(c.doi, c.first_author, c.year, c.score) for c in candidates] == [
        ("10.1093/obo/9780199830060-0238", "", "2022", 11.045),
        ("10.1093/obo/9780199830060-0023", "Kessler", "2012", 10.913),
    ]
    entry = _entry(title="Chemical Ecology", author="Kessler, André", year="2012")
    query = query_for(entry)
    assert query is not None
    assert judge(query, candidates).doi == "10.1093/obo/9780199830060-0023"
