"""The classifier's speed caches never change an answer.

``classify`` answers a text from the answer of a text of the same shape (``engine._ANSWERS``:
the same words, except that a short word no language knows may be any other such word; the
same figures' cues, clause break, language-hinting letters and written codes). These tests compare
answers served that way with answers computed from scratch, on texts where a word wrongly taken
for meaningless, or a lost part of the shape, would change the answer. No timing here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import OSA

from domain.classify import Classification, classify, engine
from domain.classify import text as text_module
from domain.classify.references import reference_index
from domain.classify.text import LANGUAGES, fold, stem, stems_everywhere
from domain.errors import ClassificationError

_SEED_WORD = "xqz"  # a word no language knows


def _forget_answers() -> None:
    engine._ANSWERS.clear()
    engine._classify_shape.cache_clear()


def _fresh(text: str) -> Classification | str:
    """The answer computed from the text itself (no answer of another text can be reused)."""
    _forget_answers()
    try:
        return classify(text)
    except ClassificationError as e:
        return str(e)
    finally:
        _forget_answers()


def _served(seed: str, text: str) -> Classification | str:
    """The answer to ``text`` right after ``seed`` was classified (its answer cached)."""
    _forget_answers()
    with contextlib.suppress(ClassificationError):
        classify(seed)
    try:
        return classify(text)
    except ClassificationError as e:
        return str(e)
    finally:
        _forget_answers()


def _same(a: Classification | str, b: Classification | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return dataclasses.replace(a, text="") == dataclasses.replace(b, text="")


# A base text and a word that changes its answer (language, kind, codes or confidence): a
# cache taking the word for one that means nothing would serve the base text's answer instead.
MEANINGFUL = [
    ("Boiler", "ash"),  # a material term
    ("Boiler", "steam"),  # a kind word
    ("Boiler", "gypsun"),  # corrected to a known stem one edit away
    ("Boiler", "x"),  # a single letter is no content word
    ("Boiler", "bar"),  # a unit word is no content word
    ("Boiler", "kwh"),  # a unit word too
    ("Schlamm", "die"),  # a German function word
    ("Schlamm", "rostasche"),  # a compound of known parts
    ("Schlamm", "abwaerme"),  # an ASCII umlaut
    ("Schlamm", "les"),  # votes French
    ("boues", "rostasche"),
    ("Flugasche, Silo", "sludge"),  # an English word in a German text
    ("Schlamm", "asch"),  # a German stem, not a word
    ("boues", "aci"),  # a French stem
    ("popiol", "cegl"),  # a Polish stem
]


@pytest.mark.parametrize(("base", "word"), MEANINGFUL)
def test_a_meaningful_word_is_never_answered_from_a_meaningless_ones_answer(
    base: str, word: str
) -> None:
    seed, text = f"{base} {_SEED_WORD}", f"{base} {word}"
    assert not _same(_fresh(seed), _fresh(text))  # the word matters here
    assert _same(_served(seed, text), _fresh(text))
    assert not engine._inert(word)


@pytest.mark.parametrize(
    "text",
    [
        "Boiler {}",
        "{} Residue 12 t/a",
        "Schlamm aus {} Abwasserbehandlung",
        "Cendres volantes - chaudière {}, silo 2",
        "Sattdampf 12 bar {}",
        "Popiół lotny {} (inne niż 10 01 04)",
        "余热 {}",
        "{}",
    ],
)
@pytest.mark.parametrize("word", ["qqv", "bqtf", "zxwvk", "bqtrfz"])
def test_a_meaningless_word_gets_the_answer_it_would_get_anyway(text: str, word: str) -> None:
    assert engine._inert(word) == (len(word) < 5)
    seed, asked = text.format(_SEED_WORD), text.format(word)
    served = _served(seed, asked)
    assert _same(served, _fresh(asked))
    if isinstance(served, Classification):
        assert served.text == asked


def test_letters_that_name_a_language_are_part_of_the_shape() -> None:
    # Both fold to "fango xqz"; the accent votes Italian.
    assert not _same(_fresh("fango xqz"), _fresh("fangò xqz"))
    assert _same(_served("fango xqz", "fangò xqz"), _fresh("fangò xqz"))
    assert _same(_served("fangò xqz", "fango xqz"), _fresh("fango xqz"))


@pytest.mark.parametrize(
    ("seed", "text"),
    [
        ("Fly ash, steam", "Fly ash steam"),  # the clause break
        ("Condensate 12 . bar", "Condensate 12 bar"),  # a pressure written
        ("Residue 12 . MW", "Residue 12 MW"),  # an energy written
        ("Slag other than" + " " * 40 + "10 02 13", "Slag other than 10 02 13"),  # a mirror
    ],
)
def test_texts_of_the_same_words_and_another_shape_are_not_confused(seed: str, text: str) -> None:
    assert not _same(_fresh(seed), _fresh(text))  # same words, yet the answers differ
    assert _same(_served(seed, text), _fresh(text))
    assert _same(_served(text, seed), _fresh(seed))


@settings(max_examples=60, deadline=None)
@given(
    base=st.sampled_from(
        [
            "FGD gypsum",
            "Sattdampf 12 bar",
            "popiół lotny",
            "Boues de station d'épuration",
            "Fly ash to cement works",
            "Spent caustic from scrubber",
            "Afvalwater uit de productie",
        ]
    ),
    word=st.text(alphabet="abcdefghijklmnopqrstuvwxyzäøł", min_size=1, max_size=9),
    at_end=st.booleans(),
)
def test_any_added_word_gets_the_answer_computed_from_scratch(
    base: str, word: str, at_end: bool
) -> None:
    text = f"{base} {word}" if at_end else f"{word} {base}"
    seed = f"{base} {_SEED_WORD}" if at_end else f"{_SEED_WORD} {base}"
    assert _same(_served(seed, text), _fresh(text))


def test_similarities_are_a_new_dict_each_time_and_as_computed() -> None:
    index = reference_index("de")
    tokens = ["flugasch", "kohlefeuer", "unbekanntwort"]
    first = index.similarities(tokens)
    assert first
    first.clear()  # a caller may change what it gets
    again = index.similarities(reversed(tokens))
    assert again == index._similarities(frozenset(t for t in tokens if t in index.idf))
    assert again


def test_fold_drops_accents_as_decomposition_does() -> None:
    table = dict(text_module._FOLD_TABLE)

    def by_decomposition(text: str) -> str:
        folded = text.casefold().translate(table)
        decomposed = unicodedata.normalize("NFKD", folded).translate(table)
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    for text in ["Popiół LOTNY", "Abwärme 90 °C", "Nm³/h", "ånga", "Cendres volantes - chaudière",
                 "Žužel", "İzmir", "ﬁltre", "余热 40t/h", "Straße ℃"]:  # fmt: skip
        assert fold(text) == by_decomposition(text)


def test_an_answer_for_another_text_keeps_every_field() -> None:
    answer = classify("Flugasche 10 01 02, gefährlich")
    assert engine._with_text(answer, "other") == dataclasses.replace(answer, text="other")


@pytest.mark.parametrize("word", ["xqz", "ab", "flugasche", "boues", "co2", "h2so4", "余热"])
def test_the_stems_of_a_new_word_are_its_stems_in_each_language(word: str) -> None:
    assert stems_everywhere(word) == [(lang, stem(lang, word)) for lang in LANGUAGES]


@pytest.mark.parametrize(
    "text",
    [
        "Sattdampf 12 bar",
        "Flugasche 1 250 t/a, 0,35 %",
        "Popiół lotny (inne niż 10 01 04) 1.800 t",
        "CO2 40 kNm3/h",
        "10 02 13 and 12.5",
        "no figures",
    ],
)
def test_figures_are_zeroed_and_written_codes_kept(text: str) -> None:
    by_one_pattern = engine._NUMBER.sub(lambda m: m.group(0) if m.group("code") else "0", text)
    assert engine._zero_figures(text) == by_one_pattern


@pytest.mark.parametrize("lang", ["en", "de", "pl"])
def test_spelling_correction_among_words_of_a_near_length_is_the_one_among_all(lang: str) -> None:
    rng = random.Random(0)
    known = sorted(w for w in reference_index(lang).vocabulary if w.isalpha() and len(w) >= 5)
    for _ in range(300):
        letters = list(rng.choice(known))
        at = rng.randrange(1, len(letters))
        edit = rng.randrange(3)
        if edit == 0:
            letters[at] = rng.choice(string.ascii_lowercase)
        elif edit == 1:
            letters.insert(at, rng.choice(string.ascii_lowercase))
        else:
            del letters[at]
        token = "".join(letters)
        among_all = process.extractOne(
            token, engine._fuzzy_choices(lang, token[0]), scorer=OSA.distance, score_cutoff=1
        )
        among_near = process.extractOne(
            token,
            engine._fuzzy_choices_near(lang, token[0], len(token)),
            scorer=OSA.distance,
            score_cutoff=1,
        )
        assert (among_near and among_near[:2]) == (among_all and among_all[:2])
