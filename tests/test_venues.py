"""One venue table (surveybib/data/venues.toml, read by surveybib.venues) for the README and
for `enrich --upgrade`: the short venue an upgrade writes is the one the README shows, the
survey's own `[tool.surveybib] venues` included, and Semantic Scholar's alternate names
("NIPS", "Trans. Mach. Learn. Res.", a lower-case acronym) are looked up in the same table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from fakescholar import FakeScholar, fake_scholar, s2_paper  # noqa: F401

from surveybib.bibtex.parse import parse_bib
from surveybib.metadata.published import s2_short_name
from surveybib.readme.papers import display_title

SMOOTHING = """\
@misc{smoothing,
  title = {When Does Label Smoothing Help?},
  author = {M{\\"u}ller, Rafael and Kornblith, Simon and Hinton, Geoffrey},
  year = {2019},
  eprint = {1906.02629},
  archiveprefix = {arXiv},
  taxonomy = {Regularisation},
}
"""


@pytest.mark.parametrize(("own", "venue"), [
    pytest.param("NIPS", "NIPS", id="renamed"),
    pytest.param("", "Neural Information Processing Systems", id="turned-off"),
])
def test_the_survey_s_own_venue_names_reach_the_upgrade_and_the_readme(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli,  # noqa: F811
        own: str, venue: str) -> None:
    """The upgrade wrote the packaged `venue = {NeurIPS}` whatever the survey said, and a
    `venue` field wins in the README: the survey's own name never showed."""
    (tmp_path / "survey.bib").write_text(SMOOTHING, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.surveybib]\ntitle = "Tricks"\ntaxonomy = ["Regularisation"]\n'
        f'venues = {{"Neural Information Processing Systems" = "{own}"}}\n', encoding="utf-8")
    fake_scholar.add(s2_paper("1906.02629", "When Does Label Smoothing Help?",
                              ["Rafael Mueller", "Simon Kornblith", "Geoffrey E. Hinton"], 2019,
                              venue="NeurIPS"))
    result = cli("enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "survey.bib").read_text(encoding="utf-8")
    assert ("  booktitle = {Neural Information Processing Systems},\n"
            f"  venue = {{{venue}}},\n}}\n") in text
    build = cli("build", "--offline")
    assert build.exit_code == 0, build.output
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert f"When Does Label Smoothing Help? ({venue} 2019)" in readme


NIPS_PLACE = {"name": "Neural Information Processing Systems",
              "alternate_names": ["Neural Inf Process Syst", "NeurIPS", "NIPS"]}


@pytest.mark.parametrize(("venue", "place", "overrides", "short"), [
    pytest.param("Neural Information Processing Systems", NIPS_PLACE, (), "NeurIPS",
                 id="packaged"),
    pytest.param("Conf Neural Inf Process Syst", {"alternate_names": ["NIPS", "NeurIPS"]}, (),
                 "NeurIPS", id="by-an-alternate-name-not-the-first-acronym"),
    pytest.param("Trans. Mach. Learn. Res.", {}, (), "TMLR", id="abbreviated-journal"),
    pytest.param("icml", {}, (), "ICML", id="lower-case-acronym"),
    pytest.param("Proceedings of the 40th International Conference on Machine Learning", {},
                 (), "ICML", id="proceedings-ordinal"),
    pytest.param("IEEE Transactions on Pattern Analysis and Machine Intelligence",
                 {"alternate_names": ["IEEE Trans Pattern Anal Mach Intell", "PAMI"]}, (),
                 "TPAMI", id="a-venue-the-readme-table-knows"),
    pytest.param("Symposium on Widgets", {"alternate_names": ["Symp Widgets", "SoW"]}, (),
                 "SoW", id="unknown-with-an-acronym"),
    pytest.param("Symposium on Widgets", {"alternate_names": ["Symp Widgets"]}, (),
                 "Symposium on Widgets", id="unknown"),
    pytest.param("Neural Information Processing Systems", NIPS_PLACE,
                 (("Neural Information Processing Systems", "NIPS"),), "NIPS", id="user-name"),
    pytest.param("Neural Information Processing Systems", NIPS_PLACE,
                 (("Neural Information Processing Systems", ""),),
                 "Neural Information Processing Systems", id="user-turned-off"),
])
def test_semantic_scholar_venue_names_are_looked_up_in_the_venue_table(
        venue: str, place: dict[str, Any], overrides: tuple[tuple[str, str], ...],
        short: str) -> None:
    assert s2_short_name(venue, place, overrides) == short


@pytest.mark.parametrize(("booktitle", "shown"), [
    pytest.param("NIPS", "NeurIPS", id="old-name"),
    pytest.param("Proc. ICML", "ICML", id="abbreviated"),
    pytest.param("KDD '20", "KDD", id="acronym-and-year"),
    pytest.param("Findings of ACL: EMNLP 2021", "EMNLP Findings", id="findings-not-main"),
    pytest.param("Findings of the Association for Computational Linguistics: NAACL 2022",
                 "NAACL Findings", id="findings-long"),
    pytest.param("Findings of ACL: ACL 2021", "ACL Findings", id="acl-findings-not-acl"),
    pytest.param("NeurIPS 2019, Workshop on Machine Learning for Health",
                 "NeurIPS 2019, Workshop on Machine Learning for Health",
                 id="a-workshop-is-not-its-venue"),
    pytest.param("Deep RL Workshop: NeurIPS 2021", "Deep RL Workshop: NeurIPS 2021",
                 id="workshop-before-colon"),
])
def test_the_readme_knows_the_acronyms_the_upgrade_knows(booktitle: str, shown: str) -> None:
    bib = f"@inproceedings{{k, title = {{Paper}}, booktitle = {{{booktitle}}}, year = 2021}}\n"
    (entry,) = parse_bib(bib, "survey.bib").entries
    assert display_title(entry) == f"Paper ({shown} 2021)"
