"""LaTeX <-> Unicode: what a reader sees in the README, and what an export writes."""

from __future__ import annotations

import pytest

from surveybib.latex import escape_latex, to_ascii_latex, to_unicode, url_from_latex

P = pytest.param


@pytest.mark.parametrize(
    ("latex", "shown"),
    [
        # accents, in all the ways people write them
        P(r"M{\"u}ller", "Müller", id="braced-umlaut"),
        P(r"M\"{u}ller", "Müller", id="umlaut-braced-letter"),
        P(r"M\"uller", "Müller", id="bare-umlaut"),
        P(r"{\"{o}}", "ö", id="doubly-braced-umlaut"),
        P(r"Ren{\'e}", "René", id="braced-acute"),
        P(r"{\'E}cole", "École", id="braced-acute-capital"),
        P(r"\'E", "É", id="bare-acute-capital"),
        P(r"\`a \^o \~n", "à ô ñ", id="grave-circumflex-tilde"),
        P(r"\c{c}a", "ça", id="cedilla-braced"),
        P(r"\c c", "ç", id="cedilla-space"),
        P(r"\c{C}", "Ç", id="cedilla-capital"),
        P(r"\v{S}koda", "Škoda", id="caron"),
        P(r"\H{o} \k{a} \={a} \.{z} \u{g} \r{u}", "ő ą ā ż ğ ů", id="other-accents"),
        P(r"\'{\i}", "í", id="accent-on-dotless-i"),
        P(r"Na{\"\i}ve", "Naïve", id="umlaut-on-dotless-i"),
        # letter commands
        P(r"Stra{\ss}e", "Straße", id="braced-ss"),
        P(r"Stra\ss e", "Straße", id="bare-ss-space"),
        P(r"\ss{}", "ß", id="ss-empty-group"),
        P(r"{\o}re {\aa} \AA{}ngstr{\"o}m", "øre å Ångström", id="o-slash-a-ring"),
        P(r"\L{}ukasz", "Łukasz", id="l-stroke"),
        # escaped specials
        P(r"A \& B", "A & B", id="ampersand"),
        P(r"50\% \$5 C\# a\_b", "50% $5 C# a_b", id="percent-dollar-hash-underscore"),
        P(r"Set \{1, 2\}", "Set {1, 2}", id="escaped-braces-kept"),
        P(r"\textasciitilde{}x \textasciicircum{}y", "~x ^y", id="text-tilde-circumflex"),
        P(r"a\~{}b", "a~b", id="tilde-on-nothing"),
        P(r"\textless{}tag\textgreater{} x \textbar{} y", "<tag> x | y", id="text-symbols"),
        # dashes, ties, quotes, spacing
        P("1--2", "1–2", id="en-dash"),
        P("a---b", "a—b", id="em-dash"),
        P("Fig.~1", "Fig. 1", id="tie-is-space"),
        P("``quoted''", "“quoted”", id="tex-quotes"),
        P(r"a \\ b", "a b", id="forced-line-break"),
        P(r"e\,f", "e f", id="thin-space"),
        P("Line\n   break  and   spaces", "Line break and spaces", id="whitespace-collapsed"),
        # case-protecting braces and formatting commands
        P("{LLM}s for {GPU} {I/O}", "LLMs for GPU I/O", id="case-protecting-braces"),
        P(r"{{FlashAttention}}: Fast", "FlashAttention: Fast", id="double-braces"),
        P(r"\emph{Fast} \textbf{Bold} {\em LLM}", "Fast Bold LLM", id="formatting-commands"),
        P(r"\url{http://x.org}", "http://x.org", id="url-command-keeps-argument"),
        P(r"{\TeX} and \LaTeX", "TeX and LaTeX", id="tex-logos"),
        # math is GitHub's to render
        P(r"The {GPT} $O(n^2)$ bound", "The GPT $O(n^2)$ bound", id="math-kept"),
        P(r"$\alpha$-net and $\{a\}$", r"$\alpha$-net and $\{a\}$", id="math-with-commands"),
        P("$a$ and {B} $b$", "$a$ and B $b$", id="two-math-spans"),
        P("costs $5", "costs $5", id="lone-dollar"),
        # nothing to do
        P("Plain title", "Plain title", id="plain"),
        P("凯撒 测试期刊", "凯撒 测试期刊", id="cjk"),
        P("", "", id="empty"),
    ],
)
def test_to_unicode(latex: str, shown: str) -> None:
    assert to_unicode(latex) == shown


@pytest.mark.parametrize(
    ("text", "value"),
    [
        P("A & B", r"A \& B", id="ampersand"),
        P("50% of $5, #1", r"50\% of \$5, \#1", id="percent-dollar-hash"),
        P("snake_case", r"snake\_case", id="underscore"),
        P("{x}", r"\{x\}", id="braces"),
        P("7}, note = {x", r"7\textbraceright{}, note = \textbraceleft{}x", id="unpaired-braces"),
        P("x}{y", r"x\textbraceright{}\textbraceleft{}y", id="braces-in-wrong-order"),
        P("~/x ^2", r"\textasciitilde{}/x \textasciicircum{}2", id="tilde-circumflex"),
        P("a\\b", r"a\textbackslash{}b", id="backslash"),
        P("Müller 中文", "Müller 中文", id="non-ascii-kept"),
        P("Plain", "Plain", id="plain"),
    ],
)
def test_escape_latex(text: str, value: str) -> None:
    assert escape_latex(text) == value


@pytest.mark.parametrize(
    "text",
    [
        P("A & B {x} 50% $5 #1 a_b ~ ^ \\ ü 中文", id="every-special"),
        P("Set {1, 2}: a ~ b", id="braces-and-tilde"),
        P("7}, note = {injected", id="unpaired-braces"),
        P("Gödel, Escher, Bach", id="accents"),
        P("<tag> [link] | pipe *star*", id="markdown-specials"),
    ],
)
def test_escaped_text_displays_as_itself(text: str) -> None:
    """A Crossref title stored with escape_latex shows in the README as Crossref wrote it."""
    assert to_unicode(escape_latex(text)) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        P("Müller", r"M{\"u}ller", id="umlaut"),
        P("René", r"Ren{\'e}", id="acute"),
        P("ça", r"{\c{c}}a", id="cedilla"),
        P("Škoda", r"{\v{S}}koda", id="caron"),
        P("Straße", r"Stra{\ss}e", id="ss"),
        P("Łukasz", r"{\L}ukasz", id="l-stroke"),
        P("naïve", r"na{\"\i}ve", id="dotless-i"),
        P("Øre", r"{\O}re", id="o-slash"),
        P("a–b—c", "a--b---c", id="dashes"),
        P("中文", "中文", id="cjk-kept"),
        P("plain", "plain", id="ascii-untouched"),
    ],
)
def test_to_ascii_latex(text: str, value: str) -> None:
    assert to_ascii_latex(text) == value


@pytest.mark.parametrize(
    "text", ["Müller", "René", "ça", "Škoda", "Straße", "Łukasz", "naïve", "Øre", "Ångström",
             "Ő ą ā ż ğ ů ñ", "Dvořák", "Erdős"],
)
def test_ascii_latex_displays_as_the_original(text: str) -> None:
    value = to_ascii_latex(text)
    assert value.isascii()
    assert to_unicode(value) == text


@pytest.mark.parametrize(
    ("value", "url"),
    [
        P("http://x.edu/~user/p.pdf", "http://x.edu/~user/p.pdf", id="raw-tilde"),
        P(r"http://x.edu/\~user/", "http://x.edu/~user/", id="escaped-tilde"),
        P(r"http://x.edu/\~{}user/", "http://x.edu/~user/", id="tilde-on-nothing"),
        P(r"http://x.edu/{\textasciitilde}user", "http://x.edu/~user", id="text-tilde"),
        P(r"http://x.org/a\_b\%20c\&d\#e", "http://x.org/a_b%20c&d#e", id="escapes"),
        P("  https://x.org/a  ", "https://x.org/a", id="spaces-trimmed"),
        P(r"10.1007/978-3-642-33191-6\_49", "10.1007/978-3-642-33191-6_49", id="doi"),
    ],
)
def test_url_from_latex(value: str, url: str) -> None:
    assert url_from_latex(value) == url
