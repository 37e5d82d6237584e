"""Whether a free-text field holds written reasons or padding (art. 7.7: the reasons are recorded).

The justification of an override, the explanation of a waiver and the summary of a refusal
discussion must say something: a field filled with spaces, dots, one word over and over or
placeholder text records nothing. These are heuristics about prose, not rules of the regulation;
`exchange.override_rules` applies them with the minimum length each field needs. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

MIN_DISTINCT_WORDS = 5
"""A substantive text contains at least this many different words (more for longer minimums)."""


# A "word" is a run of at least two letters (any script, no digits or underscores), so
# "a b c d e" or numbered filler does not count as prose.
_WORD = re.compile(r"[^\W\d_]{2,}")
# Four or more of the same character count as three: "!!!!!!!!" and "........" pad nothing.
_CHARACTER_RUN = re.compile(r"(.)\1{3,}", re.DOTALL)
_MAX_WORD_SHARE = 0.3
_MIN_LETTER_SHARE = 0.6
_FILLER_WORDS = frozenset(
    {
        # lorem ipsum
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "eiusmod",
        "tempor",
        "incididunt",
        "labore",
        "dolore",
        "magna",
        "aliqua",
        # keyboard and placeholder filler
        "asdf",
        "qwerty",
        "blabla",
        "bla",
        "test",
        "xxx",
        "todo",
        "tbd",
        "nvt",
    }
)
_MAX_FILLER_SHARE = 0.25


def is_substantive_text(text: str, min_chars: int) -> bool:
    """Whether ``text`` is real written reasoning of at least ``min_chars`` characters.

    The reasons for an override must be recorded (art. 7.7); a field filled with padding
    records nothing. Before measuring, invisible format and control characters are dropped,
    runs of whitespace count once, a run of four or more of the same character counts as
    three and a word that is a short pattern repeated ("testtesttest") counts as one repeat,
    so none of them can pad a text to the minimum. The text must then:

    - not be one short pattern repeated ("abcabc…", a sentence pasted twice);
    - consist mostly of words: at least 60 % of its visible characters are letters of words;
    - contain at least :data:`MIN_DISTINCT_WORDS` different words, or one per 12 characters of
      the minimum if that is more (8 for a 100-character minimum);
    - not lean on one word: no word makes up more than 30 % of the words (three uses are always
      allowed);
    - not be placeholder text: lorem ipsum and keyboard filler ("asdf", "test", "blabla") make
      up at most 25 % of the words.
    """
    visible = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cf"})
    tokens = visible.split()
    spaced = " ".join(tokens)
    if not spaced or _is_repetition(spaced) or _is_repetition(spaced.casefold()):
        return False
    collapsed = " ".join(_reduce_repeated_word(token) for token in tokens)
    collapsed = _CHARACTER_RUN.sub(lambda match: match.group(1) * 3, collapsed)
    if len(collapsed) < min_chars or _is_repetition(collapsed) or _is_repetition(collapsed.casefold()):
        return False
    words = [word.casefold() for word in _WORD.findall(collapsed)]
    if not words:
        return False
    visible_chars = sum(1 for ch in collapsed if not ch.isspace())
    if sum(len(word) for word in words) < _MIN_LETTER_SHARE * visible_chars:
        return False
    counts = Counter(words)
    if len(counts) < max(MIN_DISTINCT_WORDS, min_chars // 12):
        return False
    if counts.most_common(1)[0][1] > max(3, _MAX_WORD_SHARE * len(words)):
        return False
    filler = sum(count for word, count in counts.items() if word in _FILLER_WORDS)
    return filler <= _MAX_FILLER_SHARE * len(words)


def _reduce_repeated_word(token: str) -> str:
    """A token that is one short pattern three or more times ("testtesttest") counts once."""
    period = _period(token.casefold())
    return token[:period] if period > 0 and len(token) >= 3 * period else token


def _period(text: str) -> int:
    """The smallest period of ``text`` (KMP failure function): text[i] == text[i + period]."""
    border = [0] * len(text)
    k = 0
    for i in range(1, len(text)):
        while k and text[i] != text[k]:
            k = border[k - 1]
        if text[i] == text[k]:
            k += 1
        border[i] = k
    return len(text) - border[-1] if text else 0


def _is_repetition(text: str) -> bool:
    """Whether ``text`` is a shorter pattern repeated (the last repeat may be cut short)."""
    period = _period(text)
    # At least two repeats, allowing the collapsed whitespace at the join to shorten the
    # text by one character.
    return 0 < period <= (len(text) + 1) // 2
