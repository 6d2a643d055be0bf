"""Survey repositories made up for the explorer's tests and benchmarks: a seeded,
reproducible generator (any size, with categories, sub-categories, readers, venues,
DOIs, arXiv ids and notes), a survey of two real corpora (for the corpus sweep, when
SURVEYBIB_CORPORA names them), and a survey whose every field tries to run script."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

CATEGORIES = ("Survey/Review", "Quantization", "Quantization/Weight-only",
              "Quantization/KV Cache", "Pruning", "Distillation", "Speculative Decoding",
              "Serving Systems", "Kernels", "Retrieval")
READERS = ("Yin, Lihao", "Doe, Jane", "Müller, Jörg", "Zhang, Wei", "Okafor, Ada")
VENUES = ("NeurIPS", "ICML", "ICLR", "ACL", "EMNLP", "NAACL", "MLSys", "OSDI", "SOSP",
          "ASPLOS", "ISCA", "MICRO", "SC", "EuroSys", "AAAI", "IJCAI", "CVPR", "TACL",
          "JMLR", "TMLR", "COLM", "KDD", "WWW", "SIGIR", "VLDB", "SIGMOD", "USENIX ATC",
          "NSDI", "HPCA", "DAC")
WORDS = (
    "attention", "transformer", "language", "model", "models", "large", "efficient",
    "inference", "training", "quantization", "sparse", "pruning", "distillation", "kernel",
    "memory", "cache", "decoding", "speculative", "serving", "throughput", "latency",
    "scaling", "retrieval", "augmented", "generation", "low-rank", "adapter", "mixture",
    "experts", "routing", "activation", "weight", "outlier", "calibration", "hessian",
    "second-order", "structured", "unstructured", "token", "sequence", "context", "long",
    "window", "sliding", "flash", "fused", "GPU", "TPU", "accelerator", "hardware",
    "software", "co-design", "compiler", "graph", "operator", "tensor", "parallelism",
    "pipeline", "batching", "continuous", "paged", "offloading", "heterogeneous", "edge",
    "device", "mobile", "energy", "power", "carbon", "benchmark", "evaluation", "analysis",
    "study", "survey", "review", "taxonomy", "framework", "system", "method", "approach",
    "algorithm", "theory", "bound", "guarantee", "robust", "accurate", "fast", "faster",
    "lightweight", "compact", "compression", "mixed-precision", "integer", "floating-point",
    "FP8", "INT4", "rotation", "Hadamard", "smoothing", "clipping", "rounding", "search",
    "tree", "draft", "verification", "acceptance", "early-exit", "adaptive", "dynamic",
    "conditional", "computation", "state-space", "recurrent", "linear", "softmax",
    "normalization", "embedding", "vocabulary", "multilingual", "instruction", "alignment",
    "reasoning", "chain-of-thought", "agents", "tools", "planning", "multimodal", "vision",
)
NOTE_OPENERS = ("Problem", "Key idea", "Result", "Caveat", "Method", "Why it matters")


def _title(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 11))]
    title = " ".join(words)
    if rng.random() < 0.4:  # a short name before a colon, as in `GPTQ: ...`
        title = f"{rng.choice(WORDS).capitalize()}{rng.randint(2, 99)}: {title}"
    return title[0].upper() + title[1:]


def _authors(rng: random.Random) -> str:
    given = ("Ada", "Wei", "Jane", "Ravi", "Sofía", "Lars", "Mei", "Omar", "Yuki", "Pierre")
    family = ("Chen", "Smith", "García", "Kumar", "Nguyen", "Müller", "Okafor", "Sato",
              "Dubois", "Ivanova", "Kim", "Rossi", "Haddad", "Novak", "Silva")
    people = [f"{rng.choice(family)}, {rng.choice(given)}" for _ in range(rng.randint(1, 8))]
    if rng.random() < 0.2:
        people.append("others")
    return " and ".join(people)


def _note(rng: random.Random) -> str:
    lines = []
    for opener in rng.sample(NOTE_OPENERS, rng.randint(2, 4)):
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30)))
        lines.append(f"- **{opener}:** {sentence}.")
    return "\n".join(lines) + "\n"


def synthetic_entry(rng: random.Random, i: int) -> tuple[str, str, str | None]:
    """(key, BibTeX entry, note or None) of paper number i."""
    key = f"paper{i:05d}"
    year = rng.randint(1995, 2025) if rng.random() < 0.98 else None
    fields = [("title", _title(rng)), ("author", _authors(rng))]
    if rng.random() < 0.75:
        fields.append(("booktitle", "Proceedings of " + rng.choice(VENUES)))
        fields.append(("venue", rng.choice(VENUES)))
        kind = "inproceedings"
    else:
        fields.append(("journal", f"arXiv preprint arXiv:{2000 + i % 999}.{i:05d}"))
        fields.append(("eprint", f"{2000 + i % 999}.{i:05d}"))
        fields.append(("archiveprefix", "arXiv"))
        kind = "article"
    if year is not None:
        fields.append(("year", str(year)))
    if rng.random() < 0.5:
        fields.append(("doi", f"10.5555/synthetic.{i}"))
    categories = rng.sample(CATEGORIES, 1 if rng.random() < 0.85 else 2)
    fields.append(("taxonomy", "; ".join(categories)))
    if rng.random() < 0.6:
        fields.append(("reader", rng.choice(READERS)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    note = _note(rng) if rng.random() < 0.3 else None
    return key, f"@{kind}{{{key},\n{body},\n}}\n", note


def write_synthetic_survey(root: Path, size: int, seed: int = 12) -> Path:
    """A survey repository of `size` generated papers under root: about 30% with notes,
    and a metadata store with citation counts for about 40% and code for about 15%."""
    rng = random.Random(seed)
    (root / "notes").mkdir(parents=True, exist_ok=True)
    entries = []
    citations: dict[str, dict[str, object]] = {}
    code: dict[str, dict[str, object]] = {}
    for i in range(size):
        key, entry, note = synthetic_entry(rng, i)
        entries.append(entry)
        if note is not None:
            (root / "notes" / f"{key}.md").write_text(note, encoding="utf-8")
        stored = _store_key(entry)
        if stored and rng.random() < 0.4:
            citations[stored] = {"count": int(rng.paretovariate(1.2) * 3) - 3,
                                 "source": "semanticscholar", "fetched": "2026-11-29"}
        if stored and rng.random() < 0.15:
            code[stored] = {"repo": f"https://github.com/synthetic/{key}",
                            "stars": rng.randint(0, 30000), "source": "huggingface",
                            "fetched": "2026-11-29"}
    (root / "survey.bib").write_text("\n".join(entries), encoding="utf-8")
    store = {"surveybib-metadata": 1, "works": {}, "not-found": {}, "searches": {},
             "citations": citations, "code": code}
    (root / "survey.lock.json").write_text(json.dumps(store, indent=2, sort_keys=True) + "\n",
                                           encoding="utf-8")
    taxonomy = ", ".join(f'"{c}"' for c in CATEGORIES)
    (root / "pyproject.toml").write_text(
        f'[tool.surveybib]\ntitle = "A generated survey of {size:,} papers"\n'
        f"taxonomy = [{taxonomy}]\n", encoding="utf-8")
    return root


def _store_key(entry: str) -> str:
    """The key the metadata store files a generated entry under (as identifiers.paper_key)."""
    arxiv = re.search(r"eprint = \{([^}]*)\}", entry)
    if arxiv:
        return f"arxiv:{arxiv.group(1)}"
    doi = re.search(r"doi = \{([^}]*)\}", entry)
    return f"doi:{doi.group(1)}" if doi else ""


CORPUS_FILES = ("large/tugboat_beebe_biber-etc.bib", "large/icml2023_b-vitamins.bib")
_KEY = re.compile(r"^@\w+\{([A-Za-z0-9_-]+),")
_ABSTRACT = re.compile(r"^\s*abstract = \{(.*)\},$", re.M)


def write_corpus_survey(root: Path, folder: Path) -> Path:
    """TUGboat's and ICML 2023's bibliographies (under folder, the SURVEYBIB_CORPORA
    folder) as one survey of 5,472 entries, ICML's abstracts as notes."""
    texts = [(folder / name).read_text(encoding="utf-8") for name in CORPUS_FILES]
    (root / "notes").mkdir(parents=True, exist_ok=True)
    for block in texts[1].split("\n@"):
        key, abstract = _KEY.match("@" + block.lstrip("@")), _ABSTRACT.search(block)
        if key and abstract:
            (root / "notes" / f"{key.group(1)}.md").write_text(abstract.group(1).strip() + "\n",
                                                                encoding="utf-8")
    (root / "survey.bib").write_text("\n\n".join(texts), encoding="utf-8")
    (root / "pyproject.toml").write_text('[tool.surveybib]\ntitle = "TUGboat and ICML 2023"\n',
                                         encoding="utf-8")
    return root


# ---------------------------------------------------------------- hostile input

HOSTILE_BIB = r"""
@article{evil1,
  title = {<img src=x onerror="top.pwned='title'">},
  author = {</script><script>top.pwned='author'</script> and Doe, Jane},
  journal = {<svg/onload=top.pwned='venue'>},
  year = {2024},
  url = {javascript:top.pwned='url'},
  taxonomy = {"><img src=x onerror=top.pwned='category'>},
  reader = {<b onmouseover=top.pwned='reader'>Mallory</b>},
}

@misc{evil2,
  title = {A fine title with a hostile note},
  doi = {10.5555/evil.2},
  url = {data:text/html,<script>top.pwned='data-url'</script>},
  year = {2023},
}
"""

HOSTILE_NOTE = """\
<script>top.pwned='note-script'</script>
<img src=x onerror="top.pwned='note-img'">
<a href="#top" onclick="top.pwned='onclick'">click me</a>
[markdown javascript](javascript:top.pwned='md-js')
<a href="javascript:top.pwned='html-js'">html javascript</a>
<a href="data:text/html,<script>top.pwned='data'</script>">data link</a>
<svg><a href="javascript:top.pwned='svg'"><text>svg</text></a></svg>
<iframe srcdoc="<script>top.pwned='iframe'</script>"></iframe>
<details open ontoggle="top.pwned='ontoggle'"><summary>s</summary></details>
</textarea></pre></details></li></ol><script>top.pwned='breakout'</script>
"""


def hostile_survey(root: Path) -> Path:
    """A survey whose every field and note tries to run script (tests and the browser)."""
    (root / "notes").mkdir(parents=True)
    (root / "survey.bib").write_text(HOSTILE_BIB, encoding="utf-8")
    (root / "notes" / "evil1.md").write_text(HOSTILE_NOTE, encoding="utf-8")
    (root / "notes" / "evil2.md").write_text(HOSTILE_NOTE, encoding="utf-8")
    store = {"surveybib-metadata": 1, "works": {}, "not-found": {}, "searches": {},
             "citations": {"doi:10.5555/evil.2": {"count": "<b>9</b>", "fetched": "2026-11-29"}},
             "code": {"doi:10.5555/evil.2": {
                 "repo": "javascript:top.pwned='code'", "stars": "<img src=x>",
                 "project": "data:text/html,<script>top.pwned='project'</script>",
                 "fetched": "2026-11-29"}}}
    (root / "survey.lock.json").write_text(json.dumps(store), encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[tool.surveybib]\ntitle = "<script>top.pwned=\'t\'</script>"\n',
        encoding="utf-8")
    return root
