"""[tool.surveybib] in pyproject.toml -> Settings."""

from __future__ import annotations

import os
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from surveybib.errors import ConfigError, FileError, UsageError
from surveybib.files import read_existing, resolve
from surveybib.limits import MAX_TEXT_BYTES
from surveybib.text import closest

_PATH_KEYS = ("bib", "notes", "readme", "metadata", "templates", "intro")
_DEFAULTS: dict[str, Any] = {
    "bib": "survey.bib",
    "notes": "notes",
    "readme": "README.md",
    "metadata": "survey.lock.json",
    "templates": "templates",
    "intro": "INTRO.md",
    "taxonomy": [],
    "group_by": "taxonomy",
    "mailto": "",
    "exports": [],
    "export_skip_fields": [],
    "encoding": "",
    "title": "",
    "check": {},
    "venues": {},
    "columns": [],
    "readme_blocks": ["taxonomy", "years", "contributors"],
    "issue_form": None,  # None: keep the add-paper issue form in step when it exists
    "site": "",
}
COLUMNS = ("citations", "code")  # optional README columns, rendered from the metadata store
DEFAULT_TITLE = "Reading List"  # what the README is called when the config names nothing
README_BLOCKS = ("taxonomy", "years", "contributors")  # the README's optional sections


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """One configured export that `build` writes beside the README."""

    format: str
    path: str
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)


@dataclass(frozen=True, slots=True)
class Settings:
    """Where a survey's files are and how it is organised. Paths are absolute."""

    root: Path
    bib: Path
    notes: Path
    readme: Path
    metadata: Path
    templates: Path
    intro: Path
    taxonomy: tuple[str, ...] = ()
    group_by: str = "taxonomy"
    mailto: str = ""
    exports: tuple[ExportSpec, ...] = ()
    export_skip_fields: tuple[str, ...] = ()
    encoding: str = ""
    title: str = ""
    check: tuple[tuple[str, str], ...] = field(default=())
    venues: tuple[tuple[str, str], ...] = ()  # full venue name -> short name, over the table
    columns: tuple[str, ...] = ()
    readme_blocks: tuple[str, ...] = README_BLOCKS
    issue_form: bool | None = None
    site: Path | None = None  # the paper explorer's folder, when build writes it

    def rel(self, path: Path) -> str:
        """A path as the user sees it: relative to the survey's root, with /."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def has_survey_table(pyproject: Path) -> bool:
    """Whether this pyproject.toml has a [tool.surveybib] table (unreadable: no)."""
    try:
        data = tomllib.loads((read_existing(pyproject, MAX_TEXT_BYTES) or b"").decode("utf-8"))
    except (FileError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False  # a FIFO is never opened to wait on; the reading error comes later
    tool = data.get("tool")
    return isinstance(tool, dict) and "surveybib" in tool


def find_root(start: Path) -> Path:
    """The survey a folder belongs to, found upwards as git finds its repository: the
    nearest folder with [tool.surveybib] in its pyproject.toml, else the nearest with a
    survey.bib, never above the top of a git repository; `start` itself when none has."""
    start = start.resolve()
    with_bib: Path | None = None
    for folder in (start, *start.parents):
        if has_survey_table(folder / "pyproject.toml"):
            return folder
        if with_bib is None and (folder / "survey.bib").is_file():
            with_bib = folder
        if (folder / ".git").exists():
            break
    return with_bib or start


def is_offline(environ: Mapping[str, str] = os.environ) -> bool:
    """SURVEYBIB_OFFLINE=1 (or true/yes/on): never touch the network."""
    return environ.get("SURVEYBIB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def base_url(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    """An API's base URL from the environment variable `name` (else `default`), without a
    trailing slash; a value that is not an http(s) URL is a ConfigError naming it."""
    value = (environ.get(name) or "").strip() or default
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) \
            and (parts.port or 0) >= 0 and not any(c.isspace() for c in value)
    except ValueError:  # "http://[::1", a port that is not a number
        valid = False
    if not valid:
        raise ConfigError(f"{name} is {value!r}, not an http(s) URL such as {default}")
    return value.rstrip("/")


def load_settings(root: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Read [tool.surveybib] from root/pyproject.toml (optional) and apply overrides."""
    root = root.resolve()
    table = _read_table(root / "pyproject.toml")
    values = {**_DEFAULTS, **table, **{k: v for k, v in (overrides or {}).items() if v}}
    paths = {key: _inside(root, str(values[key]), key) for key in _PATH_KEYS}
    exports = tuple(_export_spec(item, root) for item in values["exports"])
    site = _site(values["site"], root)
    _outputs_clear_of_inputs(root, paths, [("readme", paths["readme"])]
                             + [(f"exports path {e.path!r}", root / e.path) for e in exports]
                             + ([("site", site / "index.html")] if site else []))
    return Settings(
        root=root,
        **paths,
        taxonomy=_taxonomy(values["taxonomy"]),
        group_by=str(values["group_by"]).lower(),
        mailto=os.environ.get("SURVEYBIB_MAILTO") or str(values["mailto"]),
        exports=exports,
        export_skip_fields=tuple(s.lower() for s in _strings(values["export_skip_fields"],
                                                                "export_skip_fields")),
        encoding=str(values["encoding"]),
        title=str(values["title"]),
        check=_check_levels(values["check"]),
        venues=_venues(values["venues"]),
        columns=_chosen(values["columns"], "columns", "column", COLUMNS),
        readme_blocks=_chosen(values["readme_blocks"], "readme_blocks", "block", README_BLOCKS),
        issue_form=_optional_bool(values["issue_form"], "issue_form"),
        site=site,
    )


def _outputs_clear_of_inputs(root: Path, paths: dict[str, Path],
                             outputs: list[tuple[str, Path]]) -> None:
    """No output may overwrite survey.bib, the store, the intro, a note, a template, the
    project file or another output: build writes outputs without asking."""
    names = {"bib": "the bibliography", "metadata": "the metadata store", "intro": "the intro"}
    inputs = {paths[k].resolve(): what for k, what in names.items()}
    inputs[(paths["bib"].parent / "pyproject.toml").resolve()] = "pyproject.toml"
    seen: dict[Path, str] = {}
    for name, path in [*outputs, ("metadata", paths["metadata"])]:
        target = path.resolve()
        why = output_problem(root, target)
        if why is not None:
            raise ConfigError(f"[tool.surveybib] {name} ({settings_path(root, target)}) {why}")
        if name == "metadata":
            continue
        clash = inputs.get(target) or seen.get(target)
        if clash is None and (paths["notes"] in target.parents or
                              paths["templates"] in target.parents):
            clash = "a note" if paths["notes"] in target.parents else "a template"
        if clash is not None:
            raise ConfigError(f"[tool.surveybib] {name} would overwrite {clash} "
                              f"({target.name}); choose another path")
        seen[target] = name


def settings_path(root: Path, path: Path) -> str:
    """A path relative to the survey's root when it is inside it (as Settings.rel)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def check_output_path(settings: Settings, path: Path, given: str | None = None) -> None:
    """Refuse an output file (`export -o`) that is one of the survey's own inputs, a
    directory, or inside .git/. `given` is the path as the user wrote it."""
    shown = given if given is not None else str(path)
    try:
        target = resolve(path, shown)
    except FileError as exc:
        raise UsageError(f"-o: {exc}") from None
    why = output_problem(settings.root, target)
    if why is not None:
        raise UsageError(f"-o {shown if shown not in ('', '.') else repr(shown)}: {why}")
    protected = {settings.bib: "survey.bib", settings.metadata: "the metadata store",
                 settings.intro: "the intro", settings.readme: "README.md",
                 settings.root / "pyproject.toml": "pyproject.toml"}
    for own, what in protected.items():
        if target == own.resolve():
            raise UsageError(f"-o {settings.rel(path)}: that is {what}; write the export "
                             "somewhere else")
    if settings.notes in target.parents or settings.templates in target.parents:
        raise UsageError(f"-o {settings.rel(path)}: inside notes/ or templates/; write it "
                         "somewhere else")


def _chosen(value: Any, key: str, what: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """A list setting whose items must be among `allowed` (`readme_blocks`, `columns`),
    each once, in the order given."""
    names = _strings(value, key)
    for name in names:
        if name not in allowed:
            close = closest(name, allowed)
            hint = f"; did you mean '{close}'?" if close else ""
            raise ConfigError(f"[tool.surveybib] {key}: unknown {what} '{name}'{hint} "
                              f"(the {what}s are {', '.join(allowed)})")
    return tuple(dict.fromkeys(names))


def _taxonomy(value: Any) -> tuple[str, ...]:
    names = _strings(value, "taxonomy")
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    if twice:
        raise ConfigError(f"[tool.surveybib] taxonomy lists {', '.join(map(repr, twice))} "
                          "more than once")
    return tuple(names)


def _read_table(pyproject: Path) -> dict[str, Any]:
    try:
        raw = read_existing(pyproject, MAX_TEXT_BYTES)
    except FileError as exc:
        raise ConfigError(str(exc)) from None
    if raw is None:
        return {}
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{pyproject}: its TOML nests too deeply to read") from None
    tool = data.get("tool", {})
    table = tool.get("surveybib", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.surveybib] must be a table")
    for key in table:
        if key not in _DEFAULTS:
            close = closest(key, _DEFAULTS)
            hint = f"; did you mean '{close}'?" if close else ""
            raise ConfigError(f"{pyproject}: [tool.surveybib] has an unknown key '{key}'{hint}")
    return table


def _inside(root: Path, value: str, key: str) -> Path:
    """A configured path, which must stay inside the survey's directory (a pull request
    could otherwise make a build read or write any file through a link)."""
    try:
        path = resolve(root / value, value)
    except FileError as exc:  # it names the path; the default needs no setting named
        raise ConfigError(str(exc)) from None
    if path != root and root not in path.parents:
        link = _link_outside(root, value)
        if link is not None:
            raise ConfigError(
                f"{link} is a symbolic link to {path}, outside the survey ({root}); surveybib "
                f"reads and writes only inside it: put the file itself there "
                f"(cp --remove-destination {path} {link})")
        raise ConfigError(f"[tool.surveybib] {key} = {value!r} points outside {root}")
    return path


def _link_outside(root: Path, value: str) -> str | None:
    """The first symbolic link on the way to a configured path (relative to the root)."""
    current = root
    for part in Path(value).parts:
        current = current / part
        if current.is_symlink():
            return current.relative_to(root).as_posix()
    return None


def output_problem(root: Path, target: Path) -> str | None:
    """Why a resolved output path cannot be written by surveybib, or None."""
    if target.is_dir():
        return "is a directory; name a file"
    try:
        parts = target.relative_to(root).parts
    except ValueError:
        return None
    if ".git" in parts:
        return "is inside .git/, the repository's own files; surveybib never writes there"
    return None


def _check_levels(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError('[tool.surveybib.check] must be a table of rule = "off", "warning" '
                          'or "error", e.g. check = {near-duplicate-title = "off"}')
    return tuple(sorted((str(k), v) for k, v in value.items()))




def _optional_bool(value: Any, key: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"[tool.surveybib] {key} must be true or false")
    return value


def _venues(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError('[tool.surveybib] venues must be a table of "Full Name" = "SHORT", '
                          'e.g. venues = {"Conference on Robot Learning" = "CoRL"}')
    return tuple((str(k), v) for k, v in value.items())


def _strings(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[tool.surveybib] {key} must be a list of strings")
    return list(value)


def _site(value: Any, root: Path) -> Path | None:
    """`site = "site"` or `site = {path = "site"}`: the folder build writes index.html
    into; absent, "" or false: build leaves the site alone."""
    if isinstance(value, dict) and set(value) <= {"path"}:
        value = value.get("path", "site")
    if value is True:
        value = "site"
    if value is False or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError('[tool.surveybib] site must be a folder, e.g. site = "site" or '
                          'site = {path = "site"}')
    return _inside(root, value, "site")


def _export_spec(item: Any, root: Path) -> ExportSpec:
    if not isinstance(item, dict) or "format" not in item or "path" not in item:
        raise ConfigError("[tool.surveybib] exports: each item needs 'format' and 'path', "
                          'e.g. {format = "bibtex", path = "paper/references.bib"}')
    _inside(root, str(item["path"]), "exports.path")
    options = tuple(sorted((k, v) for k, v in item.items() if k not in ("format", "path")))
    return ExportSpec(str(item["format"]), str(item["path"]), options)
