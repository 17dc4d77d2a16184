"""Text normalisation and model-number extraction, the parts of lexical vectors that are words.

Normalising runs once over a whole column joined into one string (NFKD, ASCII folding and the
separator regex are C loops over the big string), so building a million-product index does not
pay Python's per-call overhead a million times.
"""

import re
import unicodedata

MODEL_MIN_CHARS = 3  # "4k", "3d", "2x" are specs, not model numbers
WORD_PATTERN = r"[a-z0-9]+(?:[-/.][a-z0-9]+)*"
WORD_RE = re.compile(WORD_PATTERN)
SEPARATORS_RE = re.compile(r"[-/.]")
MARKS = str.maketrans({"™": " ", "℠": " ", "\n": " ", "\r": " "})  # NFKD spells marks out
SUFFIX_RE = re.compile(r"(.*\d)[a-z]+")  # "ea650green" -> "ea650": a colour or pack suffix
# A code: a word of three or more characters holding a digit (separators inside allowed).
CODE_RE = re.compile(r"(?<![a-z0-9])(?=[a-z0-9\-/.]*\d)[a-z0-9]+(?:[-/.][a-z0-9]+)*")
_OTHER_RE = re.compile(r"[^a-z0-9\-/.\n]+")
_STRAY_SEPARATORS_RE = re.compile(r"(?<![a-z0-9])[-/.]+|[-/.]+(?![a-z0-9])")
_SPACES_RE = re.compile(r" {2,}| *\n *")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore")
    return text.decode("ascii").lower()


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
