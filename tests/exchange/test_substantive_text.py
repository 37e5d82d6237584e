"""Unit tests for telling written reasons from padding (exchange.substantive_text, art. 7.7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.substantive_text import is_substantive_text
from tests.exchange.test_override_rules import JUSTIFICATION

# Real justifications, written as a professional at night would: short sentences, abbreviations,
# a number or two. Each must pass at the 100-character minimum.
GENUINE = [
    JUSTIFICATION,
    "Kind (6) vertelt dat papa hem gisteren sloeg met riem. Blauwe plekken op rug gezien. "
    "Moeder wil geen hulp, VT nu nodig.",
    "Bij het huisbezoek vanavond had de jongste (4) verse blauwe plekken op de armen. Moeder weigert "
    "toestemming om het wijkteam in te lichten, ook na uitleg.",
    "Dreiging van vader tegen moeder en kinderen, politie is al 2x geweest deze week. Moeder wil niet "
    "dat we iets doorgeven maar kinderen niet veilig.",
    "Het kind is bang om naar huis te gaan, het kind heeft het over slaan, het kind wil bij oma blijven. "
    "Wij moeten het wijkteam vandaag inschakelen.",
    "Om 01:55 belde moeder (tel. 06-12345678): vader dreigt met mes, 3 kinderen thuis. GGD, JGZ en "
    "wijkteam moeten nu afstemmen!!!",
    "Jongere (15) meldt suïcidale gedachten en zegt dat thuis niemand het mag weten. Ouders weigeren "
    "contact met de GGZ. Crisisdienst moet vannacht meedenken.",
    "Schoolverzuim al 6 weken, kind oogt verwaarloosd en ondervoed. Ouders reageren niet op brieven of "
    "huisbezoek... Leerplicht en wijkteam samen inschakelen.",
]

PADDING = [
    pytest.param("one two three four five " + "a" * 95, id="five-words-and-a-run"),
    pytest.param("dit is een hele goede reden" + "." * 90, id="dots"),
    pytest.param("dit is een hele goede reden" + " ." * 90, id="spaced-dots"),
    pytest.param("dit is een hele goede reden" + "!?" * 45, id="punctuation-pattern"),
    pytest.param("kind in gevaar nu hulp " + "test" * 20, id="test-glued"),
    pytest.param("kind in gevaar nu hulp " + "test " * 20, id="test-spaced"),
    pytest.param("Kind in gevaar nu hulp nodig, " + "heel " * 20 + "dringend.", id="one-word-over-and-over"),
    pytest.param(
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
        "labore et dolore magna aliqua.",
        id="lorem-ipsum",
    ),
    pytest.param(
        "Het kind is in gevaar. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
        "tempor incididunt ut labore.",
        id="lorem-ipsum-after-a-sentence",
    ),
    pytest.param("asdf qwerty blabla test xxx todo " * 4 + "kind gevaar", id="keyboard-filler"),
    pytest.param("Kind in gevaar. " + "1234567890-" * 9, id="mostly-digits"),
    pytest.param("Kind in gevaar, moeder weigert, " + "_" * 80, id="underscores"),
]


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_short_dutch_justifications_pass(text: str) -> None:
    assert is_substantive_text(text, 100), text


@pytest.mark.parametrize("text", PADDING)
def test_padding_never_passes(text: str) -> None:
    assert len(text) >= 100
    assert not is_substantive_text(text, 100)


@pytest.mark.parametrize(
    ("text", "min_chars", "expected"),
    [
        (JUSTIFICATION, 100, True),
        (JUSTIFICATION, len(" ".join(JUSTIFICATION.split())) + 1, False),
        ("Kind acuut in gevaar thuis.", 20, True),
        ("", 0, False),
        ("   ", 0, False),
        ("Kind Kind Kind Kind Kind Kind", 0, False),
        ("Kind acuut in gevaar thuis. Kind acuut in gevaar thuis.", 20, False),
        ("Kind acuut in gevaar thuis.\u200b\u200b\u200b", 29, False),
        ("Kind acuut in gevaar thuis!!!!!!!!", 34, False),  # the run counts as "!!!"
        ("ab" * 60, 100, False),
        ("Één kind, één gezin, één plan: spoed geboden.", 20, True),
    ],
)
def test_is_substantive_text_examples(text: str, min_chars: int, expected: bool) -> None:
    assert is_substantive_text(text, min_chars) is expected


@given(unit=st.text(min_size=1, max_size=40), times=st.integers(min_value=2, max_value=80))
def test_repeating_a_short_string_never_passes(unit: str, times: int) -> None:
    # Even with no length requirement at all, repetition alone disqualifies the text.
    assert not is_substantive_text(unit * times, 0)
    assert not is_substantive_text(unit * times, 100)


@given(
    padding=st.text(alphabet=st.sampled_from(" \t\n\u00a0\u200b\u200d\ufeff\x00"), max_size=200),
    min_chars=st.integers(min_value=0, max_value=300),
)
def test_invisible_padding_never_changes_the_verdict(padding: str, min_chars: int) -> None:
    short = "Kind acuut in gevaar thuis."
    assert is_substantive_text(short + padding, min_chars) is is_substantive_text(short, min_chars)
    assert is_substantive_text(padding + short, min_chars) is is_substantive_text(short, min_chars)


@given(run=st.sampled_from(".!?-_*#=~ax0"), length=st.integers(min_value=4, max_value=300))
def test_a_run_of_one_character_adds_nothing(run: str, length: int) -> None:
    base = "Kind acuut in gevaar thuis, moeder weigert hulp"
    assert is_substantive_text(base + run * length, 60) is is_substantive_text(base + run * 3, 60)
