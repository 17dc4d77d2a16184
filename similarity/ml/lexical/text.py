"""Text normalisation and model-number extraction, the parts of lexical vectors that are words.

Normalising runs once over a whole column joined into one string (NFKD, ASCII folding and the
separator regex are C loops over the big string), so building a million-product index does not
pay Python's per-call overhead a million times.
"""

import functools
import re
import unicodedata

MODEL_MIN_CHARS = 3  # "4k", "3d", "2x" are specs, not model numbers
WORD_PATTERN = r"[^\W_]+(?:[-/.][^\W_]+)*"  # letters and digits of any script
WORD_RE = re.compile(WORD_PATTERN)
SEPARATORS_RE = re.compile(r"[-/.]")
MARKS = str.maketrans({"™": " ", "℠": " ", "\n": " ", "\r": " "})  # NFKD spells marks out
SUFFIX_RE = re.compile(r"(.*\d)[a-z]+")  # "ea650green" -> "ea650": a colour or pack suffix
# A code: a word of three or more characters holding a digit (separators inside allowed).
CODE_RE = re.compile(r"(?<![a-z0-9])(?=[a-z0-9\-/.]*\d)[a-z0-9]+(?:[-/.][a-z0-9]+)*")
# Folded text holds ASCII and letters or digits of other scripts: every non-ASCII character
# left is part of a word (a class of ranges, not \w: these two run over whole columns).
_WORD_CHAR = "a-z0-9\u0080-\U0010ffff"
_OTHER_RE = re.compile(rf"[^{_WORD_CHAR}\-/.\n]+")
_STRAY_SEPARATORS_RE = re.compile(rf"(?<![{_WORD_CHAR}])[-/.]+|[-/.]+(?![{_WORD_CHAR}])")
_SPACES_RE = re.compile(r" {2,}| *\n *")


_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ", 1)[0]


@functools.cache
def _fold_char(char: str) -> str:
    """One non-ASCII character folded: its ASCII letters and digits once accents are stripped
    (exactly what the ASCII fold kept), else its letters and digits when they are of another
    script than Latin ("к", "α", "杯"). Latin letters without an ASCII base ("ø", "ß") and signs
    that only decompose into another script ("µ") are dropped, as before."""
    decomposed = unicodedata.normalize("NFKD", char)
    kept = decomposed.encode("ascii", "ignore").decode("ascii")
    if kept or not char.isalnum() or _script(char) == "LATIN":
        return kept.lower()
    letters = "".join(c for c in decomposed if c.isalnum() and _script(c) == _script(char))
    return letters.casefold()


def _fold(text: str) -> str:
    # Most text is ASCII: only runs of other characters pay for the per-character fold.
    if not text.isascii():
        text = _NON_ASCII_RE.sub(lambda run: "".join(map(_fold_char, run[0])), text)
    return text.lower()


def normalise(text: str) -> str:
    """Lower case, accents folded, runs of anything but letters, digits, - / . made one space."""
    return _OTHER_RE.sub(" ", _fold(text.translate(MARKS))).strip()


def normalise_many(texts: list[str]) -> list[str]:
    """`words(text)` joined by single spaces for every text, computed over one joined string.

    Stray separators ("a - b", "x/") are dropped, as WORD_RE would; "" stays "".
    """
    joined = _fold("\n".join(text.translate(MARKS) for text in texts))
    joined = _STRAY_SEPARATORS_RE.sub(" ", _OTHER_RE.sub(" ", joined))
    joined = _SPACES_RE.sub(lambda match: "\n" if "\n" in match[0] else " ", joined)
    return [line.strip() for line in joined.split("\n")]


def model_numbers(text: str, variants: bool = True) -> list[str]:
    """Codes of a normalised text, separators removed; with `variants`, parts and stems too.

    "a3l791-03-blu-s" yields "a3l79103blus", "a3l791" and "a3l79103" (the stem), so it meets
    "A3L791-S" through "a3l791"; a stem must keep a letter ("500gb" does not yield "500").
    """
    codes = []
    for word in CODE_RE.findall(text):
        if len(word) < MODEL_MIN_CHARS:
            continue
        joined = SEPARATORS_RE.sub("", word)
        codes.append(joined)
        if not variants:
            continue
        codes.extend(
            part
            for part in SEPARATORS_RE.split(word)
            if part != joined and len(part) >= MODEL_MIN_CHARS and _has_digit(part)
        )
        stem = SUFFIX_RE.fullmatch(joined)
        if stem and len(stem[1]) >= MODEL_MIN_CHARS and not stem[1].isdigit():
            codes.append(stem[1])
    return codes


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)
