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
    engine._CONCLUSIONS.clear()
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
    ("Asbest", "frei"),  # a word of absence ("asbestos-free")
    ("asbestos", "none"),  # another, after the material
    ("sludge", "ewc"),  # a name of the List of Waste's codes: no content word
    ("Schlamm", "asch"),  # a German stem, not a word
    ("boues", "aci"),  # a French stem
    ("popiol", "cegl"),  # a Polish stem
    ("spent catalyst,", "pd"),  # a catalyst's metal (16 08 01)
    ("spent catalyst,", "cu"),  # another (16 08 02*)
    ("Fässer mit", "rest"),  # a word of residue beside packaging
    ("Lösemittelgemisch", "lckw"),  # halogenated (14 06 02), read by how it begins
    ("Destillationsrückstände Pharma", "ckw"),  # halogenated still bottoms (07 05 07)
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
        ("Slag other than" + " " * 70 + "10 02 13", "Slag other than 10 02 13"),  # a mirror
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


@pytest.mark.parametrize(
    ("text", "zeroed"),
    [
        ("Sattdampf 12 bar", "Sattdampf 0 bar"),
        ("Flugasche 1 250 t/a, 0,35 %", "Flugasche 0 t/a, 0 %"),
        ("A380 Kühlwasser 35 m3/h", "A380 Kühlwasser 0 m3/h"),  # was "A30": its 80 zeroed
        ("PM25 Staub", "PM25 Staub"),  # was "PM20", the answer of "PM20 Staub"
        ("R134a Kältemittel", "R134a Kältemittel"),  # was "R104a"
        ("CO22 off-gas, 40 kNm3/h", "CO22 off-gas, 0 kNm3/h"),  # was "CO20"
        ("12bar Dampf", "12bar Dampf"),  # a word, not a figure: no text shares its answer
        ("CaSO4 2H2O 3.5 t", "CaSO4 2H2O 0 t"),
    ],
)
def test_a_words_digits_are_never_zeroed(text: str, zeroed: str) -> None:
    assert engine._zero_figures(text) == zeroed
    assert classify(text).text == text


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


_READ_TEXTS = [
    "Flugasche aus Kohlefeuerung",
    "Fly ash from coal combustion",
    "Boues de station d'épuration sludge",
    "Popiół lotny steam",
    "Afvalwater uit de productie",
    "Abwaerme Kuehlwasser 90 °C",
    "余热 蒸汽 BFG",
    "slag gypsun Rostasche",
]


@pytest.mark.parametrize("text", _READ_TEXTS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_words_cached_reading_is_its_reading_from_scratch(text: str, lang: str) -> None:
    from domain.classify.language import languages_of
    from domain.classify.references import similarity_tokens

    idf = reference_index(lang).idf
    skip = engine._skipped(lang)
    for word in text_module.words(fold(text)):
        read = engine._WORDS[lang][word]
        tokens = engine.word_tokens(lang, word)
        han = text_module.has_han(word)
        assert read.tokens == tokens
        assert read.foreign == (not han and lang not in languages_of(word))
        assert read.content == (
            word not in skip and not word[0].isdigit() and (len(word) > 1 or han)
        )
        assert read.known == (bool(tokens) and all(t in idf for t in tokens))
        assert read.indexed == tuple(t for t in tokens if t in idf)
        assert read.similar == tuple(t for t in similarity_tokens(lang, [word]) if t in idf)
        assert set(read.languages) == languages_of(word)


def _similarities_from_scratch(lang: str, folded_words: tuple[str, ...]) -> dict[str, float]:
    """The similarity as the classifier computed it before :data:`engine._SIMILAR` was added.

    Through :meth:`ReferenceIndex.similarities` as then: its cache by query serves a query the
    cosine it computed for an equal one, whose sum may have run in another order (the last
    bit of a float), so only that path gives the very same floats.
    """
    from domain.classify.language import languages_of
    from domain.classify.references import similarity_tokens

    def query(index_lang: str, tokens: list[str]) -> dict[str, float]:
        return reference_index(index_lang).similarities(tokens)

    tokens = [t for w in folded_words for t in engine.word_tokens(lang, w)]
    sims = query(lang, [*tokens, *similarity_tokens(lang, folded_words)])
    if lang != "en":
        foreign = [w for w in folded_words if not text_module.has_han(w)]
        foreign = [w for w in foreign if lang not in languages_of(w)]
        if foreign:
            share = 1.0
            if not reference_index(lang).entries:
                english = [w for w in foreign if "en" in languages_of(w)]
                content = engine._text(lang, folded_words).content
                share = min(1.0, len(english) / max(1, len(content)))
            found = query("en", [t for w in foreign for t in engine.word_tokens("en", w)])
            for code, value in found.items():
                sims[code] = max(sims.get(code, 0.0), share * value)
    return sims


@pytest.mark.parametrize("text", _READ_TEXTS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_cached_similarity_is_the_similarity_from_scratch(text: str, lang: str) -> None:
    folded_words = tuple(text_module.words(fold(text)))
    engine._SIMILAR.clear()
    first = engine._similarities(lang, folded_words)
    again = engine._similarities(lang, folded_words)  # served from the cache
    assert again is first
    expected = _similarities_from_scratch(lang, folded_words)
    assert dict(again.scores) == expected
    assert list(again.ranked) == sorted((-value, code) for code, value in expected.items())


def test_shared_candidates_are_the_candidates_made_afresh() -> None:
    from domain.classify import candidates

    answers = [classify(t) for t in ["Fly ash", "Flugasche", "Fly ash sludge", "FGD gypsum"]]
    for answer in answers:
        for c in answer.candidates:
            entry = candidates.catalogue().entries[c.code]
            fresh = candidates.EwcCandidate(
                c.code, entry.description, entry.hazardous, c.confidence, c.source
            )
            assert c == fresh
    candidates._CANDIDATES.clear()
    candidates._candidate.cache_clear()
    again = [classify(t) for t in ["Fly ash", "Flugasche", "Fly ash sludge", "FGD gypsum"]]
    assert [a.candidates for a in again] == [a.candidates for a in answers]


def test_ranking_with_a_given_order_is_the_ranking_that_sorts() -> None:
    from domain.classify.candidates import rank_candidates

    for text, lang in [("Schlamm aus Abwasserbehandlung", "de"), ("scrubber sludge", "en")]:
        similar = engine._similarities(lang, tuple(text_module.words(fold(text))))
        for prefixes in [(), ("1001",), ("19",)]:
            args = ([], None, prefixes, similar.scores, {})
            given = rank_candidates(
                *args, hazardous_hint=False, top=5, by_similarity=similar.ranked
            )
            assert given == rank_candidates(*args, hazardous_hint=False, top=5)


def test_a_shapes_key_tells_shapes_apart_and_is_left_untracked() -> None:
    import gc

    from schemas.common import ResourceKind

    words = ("fango", None)
    gas, steam = frozenset({ResourceKind.GAS}), frozenset({ResourceKind.GAS, ResourceKind.STEAM})
    shapes = [
        engine._TextShape(frozenset(), frozenset(), 2, False, False, (), (), (), (), 5),
        engine._TextShape(frozenset("ò"), frozenset(), 2, False, False, (), (), (), (), 5),
        engine._TextShape(frozenset(), gas, 2, False, False, (), (), (), (), 5),
        engine._TextShape(frozenset(), steam, 2, False, False, (), (), (), (), 5),
        engine._TextShape(frozenset(), frozenset(), 1, False, False, (), (), (), (), 5),
        engine._TextShape(frozenset(), frozenset(), 2, True, False, (), (), (), (), 5),
        engine._TextShape(frozenset(), frozenset(), 2, False, True, (), (), (), (), 5),
        engine._TextShape(frozenset(), frozenset(), 2, False, False, (1,), (), (), (), 5),
        engine._TextShape(frozenset(), frozenset(), 2, False, False, (), (0,), (), (), 5),
        engine._TextShape(frozenset(), frozenset(), 2, False, False, (), (), (0,), (), 5),
        engine._TextShape(
            frozenset(), frozenset(), 2, False, False, (), (), (), (("100102", 1.0),), 5
        ),
        engine._TextShape(frozenset(), frozenset(), 2, False, False, (), (), (), (), 3),
    ]
    keys = [engine._shape_key(shape, words) for shape in shapes]
    assert len(set(keys)) == len(shapes)
    assert engine._shape_key(shapes[0], ("fango", "xqz")) != keys[0]
    gc.collect()
    gc.collect()  # a tuple is let go once what it holds was: a second pass for nested ones
    assert not any(gc.is_tracked(key) for key in keys)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.text(
            alphabet=st.sampled_from(
                list(
                    "aZß0°µ·łØæÅñçèİ²³½ﬁ℃,;:-()余热高炉\u2019\uff08\uff0c\u0301\u0308\u00a8\u00a0\t"
                )
            ),
            min_size=0,
            max_size=6,
        ),
        max_size=6,
    ),
    spaces=st.sampled_from([" ", "  ", "\t", "\u00a0", "\u3000"]),
)
def test_a_text_folds_and_splits_as_its_parts_do(parts: list[str], spaces: str) -> None:
    for text in (" ".join(parts), spaces.join(parts)):
        folded = fold(text)
        assert text_module.fold_words(text) == (folded, tuple(text_module.words(folded)))


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab1余热 ,;:|()-\u2013\uff0c\uff08\uff09"), max_size=40),
    st.sampled_from([engine._CLAUSE_BREAK, engine._BAR]),
)
def test_a_break_follows_the_words_before_it(text: str, pattern: object) -> None:
    # counted in one pass, the breaks are where counting the words before each one puts them
    assert isinstance(pattern, type(engine._BAR))
    expected: list[int] = []
    for found in pattern.finditer(text):
        before = len(text_module.words(text[: found.start()]))
        if before and (not expected or expected[-1] != before - 1):
            expected.append(before - 1)
    assert engine._breaks(text, pattern) == tuple(expected)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1余热 ,;:|()-\u2013\uff0c\uff08\uff1a"), max_size=40))
def test_the_first_clause_and_the_breaks_come_from_one_pass(text: str) -> None:
    # the words before the first break are those a search for it counts; the breaks, _breaks'
    n_words = len(text_module.words(text))
    first = engine._CLAUSE_BREAK.search(text)
    limit = n_words if first is None else len(text_module.words(text[: first.start()]))
    got = engine._clauses(text, n_words)
    assert got[2] == (first is not None and len(first.group()) == 3)
    assert got[0] == limit
    assert got[3] == engine._breaks(text)
    if first is None:
        assert got[1] is False
    elif first.group() in (":", "\uff1a"):
        assert got[1] is True


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("unit 300 - cooling water", True),
        ("plant 2: lp steam", True),
        ("biochar 0 mm - heat treated", False),
        ("flugasche, silo 2", False),
        ("flugasche 0 t/a", False),
    ],
)
def test_a_label_is_a_colon_or_a_number_no_unit_follows(text: str, label: bool) -> None:
    assert engine._clauses(text, len(text_module.words(text)))[1] is label


def test_the_parts_cache_serves_what_it_computed() -> None:
    text_module._PARTS.clear()
    text = "Popiół lotny 0 t/a (inne niż 10 01 04), Abwärme 90 °C"
    first = text_module.fold_words(text)
    assert (
        text_module.fold_words(text) == first == (fold(text), tuple(text_module.words(fold(text))))
    )
    assert set(text_module._PARTS) == set(text.split())


def _eval_texts() -> list[str]:
    import csv
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "classify-eval"
    texts: list[str] = []
    for path in sorted(folder.glob("eval-*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            texts += [row["text"] for row in csv.DictReader(f)]
    return texts


def test_a_reading_seen_before_gets_the_answer_computed_from_scratch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A description with a known word of another one added: the conclusion of a text that read
    # the same (language, terms, word traits, similarity, shape) is served; it must be the
    # answer the text gets on its own, and some must be served so.
    texts = _eval_texts()
    known = sorted({w for t in texts for w in t.split() if w.isalpha() and len(w) > 2})
    rng = random.Random(3)
    concluded: list[str] = []
    conclude = engine._conclude

    def counting(text: str, *args: object) -> Classification:
        concluded.append(text)
        return conclude(text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_conclude", counting)
    _forget_answers()
    asked = [f"{rng.choice(texts)} {rng.choice(known)}" for _ in range(1500)]
    served: dict[str, Classification | str] = {}
    for text in asked:
        try:
            served[text] = classify(text)
        except ClassificationError as e:
            served[text] = str(e)
    assert len(concluded) < 0.8 * len(served)  # the others were served a conclusion
    monkeypatch.setattr(engine, "_conclude", conclude)
    for text in list(served)[:400]:
        answer = served[text]
        assert _same(answer, _fresh(text)), text
        assert isinstance(answer, str) or answer.text == text


@pytest.mark.parametrize(
    ("seed", "text"),
    [
        ("Fly ash from cement works", "Fly ash to cement works"),  # a destination
        ("Ash cement kiln dust", "Ash of cement kiln dust"),  # a preposition ends the clause
        ("Boiler ash silo", "Boiler ash surplus"),  # a filler is no content
        ("Sludge xqz residue", "Sludge the residue"),  # a function word is no content
        ("Boiler ash qqqqqqq", "Boiler ash slag"),  # a known word is recognised
    ],
)
def test_texts_whose_words_read_otherwise_are_not_given_one_conclusion(
    seed: str, text: str
) -> None:
    assert not _same(_fresh(seed), _fresh(text))  # the words matter here
    assert _same(_served(seed, text), _fresh(text))
    assert _same(_served(text, seed), _fresh(seed))


def _ask(text: str, options: dict[str, object]) -> Classification | str:
    try:
        return classify(text, **options)  # type: ignore[arg-type]
    except ClassificationError as e:
        return str(e).replace(repr(text), "<text>")


# A seed, then a text whose reading differs from the seed's in one thing the conclusion cache
# must key on (found by review with altered copies of the cache's key: each pair gets the seed's
# answer when that part of the key is dropped).
CONCLUSION_PAIRS = [
    ("Sludge of paint", {}, "Sludge the paint", {}),  # a preposition vs another stop word
    ("Sludge the paint", {}, "Sludge of paint", {}),
    ("Ash of cement kiln", {}, "Ash the cement kiln", {}),
    ("Verpakkingen a verf/lijm met niet uitgeharde resten", {"unit": "Nm3/h", "top": 3},
     "Verpakkingen van verf/lijm met niet moist resten", {"unit": "Nm3/h", "top": 3}),
    ("Plant qwrtzv: LP steam", {}, "Plant qwrtzv, LP steam", {}),  # a label before the text
    ("Plant qwrtzv, LP steam", {}, "Plant qwrtzv: LP steam", {}),
    ("Tank qwrtzv: cooling water", {}, "Tank qwrtzv, cooling water", {}),
    ("asbestos cement roof Wasser (AC sheeting)", {"top": 1},
     "asbestos cement silo sheets (AC sheeting)", {"top": 1}),  # a word the texts know
    ("Paper mill sludge, recycled newsprint, approx 0% DS, part burnt in silo boiler",
     {"unit": "MW"},
     "Paper mill sludge, recycled newsprint, approx 40% pr part burnt in mill boiler",
     {"unit": "MW"}),
    ("Ścieki ne oczyszczone - odpływ z oczyszczalni 0 m3/d", {"top": 10},
     "del Ścieki oczyszczone - odpływ z oczyszczalni 3 500 m3/d", {"top": 10}),  # positions
    ("dla Air comprimé excédentaire 0 bar, réseau usine", {"unit": "t/a", "top": 1},
     "Air comprimé coarse excédentaire 7 bar, réseau usine", {"unit": "t/a", "top": 1}),
    ("Fly ash qwrtzv", {"top": 5}, "Fly ash zyxwvq", {"top": 1}),  # top
    # what a water's disposal reads (engine._disposal): a tanker against an unknown word of
    # the same length (same traits, no similarity), a short word of an offer ("apta") against
    # a stranger's abbreviation, a column bar against none
    ("Spülwasser aus Passivierung, autobotto", {}, "Spülwasser aus Passivierung, autobotte", {}),
    ("Spülwasser aus Passivierung, autobotte", {}, "Spülwasser aus Passivierung, autobotto", {}),
    ("Spülwasser aus Passivierung, Saugwogen", {}, "Spülwasser aus Passivierung, Saugwagen", {}),
    ("Agua de lavado, zzqx, IBC", {}, "Agua de lavado, apta, IBC", {}),
    ("Agua de lavado, apta, IBC", {}, "Agua de lavado, zzqx, IBC", {}),
    ("Spülwasser aus Passivierung Tankwagen", {}, "Spülwasser aus Passivierung | Tankwagen", {}),
    ("Spent wash water xqz/h, IBC", {}, "Spent wash water xqt/h, IBC", {}),
    # a compound ending in a machine (the same terms as one ending in another known word)
    ("Abwärme Glasschmelze", {}, "Abwärme Glasofen", {}),
    ("Steam trap, defective", {}, "Steam tray, defective", {}),  # equipment: a word's trait
    ("Steam tray, defective", {}, "Steam trap, defective", {}),
]  # fmt: skip


@pytest.mark.parametrize(("seed", "seed_options", "text", "options"), CONCLUSION_PAIRS)
def test_a_reading_concluded_before_never_answers_a_reading_that_differs(
    seed: str, seed_options: dict[str, object], text: str, options: dict[str, object]
) -> None:
    _forget_answers()
    try:
        fresh = _ask(text, options)
        _forget_answers()
        _ask(seed, seed_options)
        served = _ask(text, options)
    finally:
        _forget_answers()
    assert _same(served, fresh)


def test_cached_candidates_carry_the_confidence_of_a_fresh_ranking() -> None:
    # candidates are shared between answers: one computed alone, with every cache emptied,
    # gives the same codes and confidences as one served after many other texts
    texts = [
        "Fly ash",
        "Flugasche aus Kohlekraftwerk",
        "EAF baghouse cendres (zinc-bearing), big bags",
    ]
    served = [_ask(t, {}) for t in texts * 2]
    for text, answer in zip(texts * 2, served, strict=True):
        assert _same(answer, _fresh(text))
    fly_ash = _fresh("Fly ash")
    assert not isinstance(fly_ash, str)
    assert len({c.confidence for c in fly_ash.candidates}) > 1  # not one made-up confidence


@pytest.mark.parametrize(
    ("seed", "text"),
    [
        ("rotes abbaubares Hydrauliköl", "schwer abbaubares Hydrauliköl"),
        ("murky biodegradable hydraulic oil", "poorly biodegradable hydraulic oil"),
    ],
)
def test_a_word_denying_biodegradability_keeps_its_own_answer(seed: str, text: str) -> None:
    # the words differ in no other trait: a text served from the other's conclusion would
    # call a poorly degradable oil readily biodegradable
    assert not _same(_fresh(seed), _fresh(text))
    assert _same(_served(seed, text), _fresh(text))


def test_words_of_making_places_and_soiling_are_never_inert() -> None:
    # an inert word shares its answer with every other inert word where it stands: "fab." must
    # not answer as "xqz." does, nor "bay" before a dash as an unknown tag
    from domain.classify.grammar import MAKING, PLACES, SOILED

    words = {w for table in (PLACES, SOILED) for ws in table.values() for w in ws}
    words |= {w for ws in MAKING.values() for w in ws if w.isalpha()}
    assert {"fab", "prod", "zakl", "bay", "nave"} <= words
    assert [w for w in sorted(words) if engine._INERT[w]] == []
