"""LaTeX as BibTeX exports write it in titles and abstracts (accents, escaped specials,
dashes, quotes, Greek and common math, text macros), as plain Unicode text.

One regular-expression pass over the text: the work is linear in its length whatever it
holds (a long run of macros, braces nested a thousand deep), and nothing recurses. A full
LaTeX parser is neither (bibtexparser's pylatexenc middleware took 28 s on a 1 MB
abstract, and raised on 250 nested braces): what a library needs of these fields is their
words, to match papers by title and to embed the others.
"""

from __future__ import annotations

import re
import unicodedata

ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
    "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
    "c": "\u0327", "k": "\u0328", "d": "\u0323", "b": "\u0331", "r": "\u030a",
}  # fmt: skip
SYMBOLS = {
    "ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "o": "ø", "O": "Ø", "l": "ł",
    "L": "Ł", "aa": "å", "AA": "Å", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ",
    "TH": "Þ", "ng": "ŋ", "NG": "Ŋ", "textendash": "–", "textemdash": "—",
    "textquoteleft": "‘", "textquoteright": "’", "textquotedblleft": "“",
    "textquotedblright": "”", "ldots": "…", "dots": "…", "textellipsis": "…", "S": "§",
    "P": "¶", "copyright": "©", "textregistered": "®", "texttrademark": "™", "pounds": "£",
    "euro": "€", "textdegree": "°", "textbackslash": "\\", "textasciitilde": "~",
    "textasciicircum": "^", "textunderscore": "_", "textbar": "|", "textless": "<",
    "textgreater": ">", "times": "×", "pm": "±", "mp": "∓", "leq": "≤", "le": "≤",
    "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼", "simeq": "≃",
    "equiv": "≡", "propto": "∝", "infty": "∞", "cdot": "·", "cdots": "⋯", "circ": "∘",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "Leftarrow": "⇐",
    "leftrightarrow": "↔", "mapsto": "↦", "partial": "∂", "nabla": "∇", "sum": "∑",
    "prod": "∏", "int": "∫", "sqrt": "√", "in": "∈", "notin": "∉", "subset": "⊂",
    "subseteq": "⊆", "cup": "∪", "cap": "∩", "emptyset": "∅", "forall": "∀", "exists": "∃",
    "neg": "¬", "wedge": "∧", "vee": "∨", "ell": "ℓ", "hbar": "ℏ", "degree": "°",
    "prime": "′", "langle": "⟨", "rangle": "⟩", "star": "⋆", "ast": "∗", "dagger": "†",
    "quad": " ", "qquad": " ", "enspace": " ", "thinspace": " ", "newline": " ", "par": " ",
    "TeX": "TeX", "LaTeX": "LaTeX", "BibTeX": "BibTeX",
}  # fmt: skip
GREEK_NAMES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
               "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau",
               "upsilon", "phi", "chi", "psi", "omega")  # fmt: skip
GREEK = dict(zip(GREEK_NAMES, "αβγδεζηθικλμνξοπρστυφχψω", strict=True))
SYMBOLS.update(GREEK)
SYMBOLS.update({name.capitalize(): letter.upper() for name, letter in GREEK.items()})
SYMBOLS.update(varepsilon="ε", vartheta="ϑ", varphi="φ", varrho="ϱ", varsigma="ς", varpi="ϖ")
# \{ \} \$ stand in as private-use characters while braces and dollars are dropped.
KEPT = {"{": "\ue000", "}": "\ue001", "$": "\ue002"}
ESCAPED = {**{c: c for c in "&%#_"}, **KEPT, **{c: " " for c in " ,;:!/@\\\n\t"}}
TYPOGRAPHY = {"---": "—", "--": "–", "``": "“", "''": "”", "~": " "}

# Everything that is not plain text: a macro with its accented letter, a macro, an escaped
# character, a dash or quote; each alternative matches a bounded stretch of text.
_TOKEN = re.compile(
    r"""\\(?:
        (?P<accent>[`'^"~=.]) [\ \t]* (?: \{[\ \t]*(?P<braced>\\?[A-Za-z]+)[\ \t]*\}
                                      | (?P<bare>\\?[A-Za-z]) )
      | (?P<letter_accent>[uvHckdbr]) (?: \{[\ \t]*(?P<lbraced>\\?[A-Za-z]+)[\ \t]*\}
                                        | [\ \t]+(?P<lbare>[A-Za-z]) )
      | (?P<name>[A-Za-z]+) [\ \t]?
      | (?P<escaped>.)
    ) | (?P<typography>---|--|``|''|~)""",
    re.S | re.X,
)
_DROPPED = str.maketrans("", "", "{}$")
_RESTORED = str.maketrans({kept: char for char, kept in KEPT.items()})


def latex_to_text(text: str) -> str:
    """``text`` with its LaTeX made plain: accents combined (NFC), specials unescaped,
    known symbols as Unicode, other macros dropped (their arguments kept), braces and
    math delimiters removed, whitespace made single spaces."""
    plain = _TOKEN.sub(_replace, text).translate(_DROPPED).translate(_RESTORED)
    return " ".join(unicodedata.normalize("NFC", plain).split())


def _replace(match: re.Match) -> str:
    groups = match.groupdict()
    if groups["typography"] is not None:
        return TYPOGRAPHY[groups["typography"]]
    accent = groups["accent"] or groups["letter_accent"]
    if accent is not None:
        base = next(g for g in ("braced", "bare", "lbraced", "lbare") if groups[g])
        letters = groups[base]
        if letters.startswith("\\"):  # \'{\i}
            letters = SYMBOLS.get(letters[1:], letters[1:]).replace("ı", "i").replace("ȷ", "j")
        return letters[:1] + ACCENTS[accent] + letters[1:]
    if groups["name"] is not None:
        return SYMBOLS.get(groups["name"], "")
    return ESCAPED.get(groups["escaped"], "")
