"""The free-text classifier: kinds, EWC candidates, hazard handling, errors, and accuracy."""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from importlib import resources
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.classify import (
    Classification,
    LexiconKind,
    classify,
    lexicon,
    parse_row,
    tokenise,
)
from domain.classify.candidates import mentioned_codes, same_entries
from domain.classify.engine import CODE_REVIEW_BELOW, word_tokens
from domain.classify.evidence import kinds_for_unit
from domain.errors import ClassificationError
from domain.ewc import catalogue
from schemas.common import ResourceKind

SCRAP_PLASTIC_CODES = {"070213", "120105", "160119", "170203", "191204", "200139", "150102"}


# --- kinds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Waste heat", ResourceKind.HEAT),
        ("Heat", ResourceKind.HEAT),
        ("District heating", ResourceKind.HEAT),
        ("District heating return circuit", ResourceKind.HEAT),
        ("Surplus hot water", ResourceKind.HEAT),
        ("Steam", ResourceKind.STEAM),
        ("LP steam", ResourceKind.STEAM),
        ("Steam from flue gas", ResourceKind.STEAM),
        ("Cooling water", ResourceKind.WATER),
        ("Waste water", ResourceKind.WATER),
        ("Demineralised water", ResourceKind.WATER),
        ("Treated effluent", ResourceKind.WATER),
        ("Steam condensate", ResourceKind.WATER),
        ("CO2", ResourceKind.GAS),
        ("Carbon dioxide", ResourceKind.GAS),
        ("Biogas", ResourceKind.GAS),
        ("Waste gas", ResourceKind.GAS),
        ("Flue gas", ResourceKind.GAS),
        ("Hydrogen", ResourceKind.GAS),
        ("FGD gypsum", ResourceKind.MATERIAL),
        ("Fly ash", ResourceKind.MATERIAL),
        ("Sludge", ResourceKind.MATERIAL),
        ("Scrap plastic", ResourceKind.MATERIAL),
        ("Yeast slurry", ResourceKind.MATERIAL),
        ("Water treatment sludge", ResourceKind.MATERIAL),
        ("Heat exchanger scrap", ResourceKind.MATERIAL),
    ],
)
def test_kind(text: str, kind: ResourceKind) -> None:
    result = classify(text)
    assert result.kind is kind
    assert result.kind_confidence >= 0.6


@pytest.mark.parametrize("text", ["Waste heat", "Steam", "Cooling water", "CO2"])
def test_non_material_kinds_have_no_candidates(text: str) -> None:
    result = classify(text)
    assert result.candidates == ()
    assert result.ewc_code is None
    assert result.ewc_chapter is None


def test_unknown_text_defaults_to_material_with_low_confidence() -> None:
    result = classify("Xyzzy")
    assert result.kind is ResourceKind.MATERIAL
    assert result.kind_confidence <= 0.3
    assert result.matched_terms == ()


# --- EWC candidates ------------------------------------------------------------------------


def test_fgd_gypsum_is_100105_first() -> None:
    result = classify("FGD gypsum")
    assert result.ewc_code == "100105"
    assert result.ewc_chapter == "10"
    assert result.candidates[0].source == "lexicon"
    assert not result.candidates[0].hazardous


@pytest.mark.parametrize("text", ["Fly ash", "FLY ASHES", "Fly Ash(Le)", "PFA"])
def test_fly_ash_has_100102_in_the_top_three(text: str) -> None:
    codes = [c.code for c in classify(text).candidates[:3]]
    assert "100102" in codes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Gypsum", "100105"),
        ("Power plant gypsum", "100105"),
        ("Phosphogypsum", "060904"),
        ("Red mud", "010309"),
        ("Sewage sludge", "190805"),
        ("Sawdust", "030105"),
        ("Used tyres", "160103"),
        ("Used tires", "160103"),
        ("Spent lead acid batteries", "160601"),
        ("Waste oil", "130205"),
        ("Lime mud", "030309"),
        ("Steel mill slag", "100202"),
        ("Mill scale", "100210"),
        ("Bark", "030101"),
    ],
)
def test_well_known_by_products(text: str, code: str) -> None:
    assert classify(text).ewc_code == code


def test_sludge_is_a_waste_water_treatment_sludge() -> None:
    result = classify("Sludge")
    assert result.ewc_chapter == "19"
    assert all(c.code.startswith(("19", "03", "10")) for c in result.candidates)


def test_scrap_plastic_points_to_the_plastic_entries() -> None:
    result = classify("Scrap plastic")
    assert result.ewc_code == "070213"
    assert {c.code for c in result.candidates} <= SCRAP_PLASTIC_CODES


def test_candidates_are_ranked_valid_and_bounded() -> None:
    ewc = catalogue()
    for text in ["Plastic", "Sludge", "Fly ash", "Waste sugar slag", "Fermentation residues"]:
        result = classify(text, top=4)
        assert 0 < len(result.candidates) <= 4
        confidences = [c.confidence for c in result.candidates]
        assert confidences == sorted(confidences, reverse=True)
        assert len({c.code for c in result.candidates}) == len(result.candidates)
        for c in result.candidates:
            entry = ewc.get(c.code)
            assert 0.0 < c.confidence <= 1.0
            assert c.description == entry.description
            assert c.hazardous == entry.hazardous
            assert c.chapter == entry.chapter
            assert c.sub_chapter == entry.sub_chapter


def test_top_limits_the_candidates() -> None:
    assert len(classify("Plastic", top=1).candidates) == 1
    assert len(classify("Plastic", top=2).candidates) == 2
    assert classify("Plastic", top=1).ewc_code == classify("Plastic", top=5).ewc_code


@pytest.mark.parametrize("top", [0, -1])
def test_top_below_one_is_refused(top: int) -> None:
    with pytest.raises(ValueError, match="top"):
        classify("Plastic", top=top)


# --- sources narrow the search -------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Pulp mill sludge", "Sludge from a pulp mill", "Paper mill sludge"]
)
def test_a_source_narrows_to_its_sub_chapter(text: str) -> None:
    assert classify(text).candidates[0].sub_chapter == "0303"


def test_a_source_without_a_listed_match_falls_back_to_its_99_code() -> None:
    # "sand" is listed under chapters 01, 10 01 and 19, none under the iron and steel industry.
    result = classify("Blast furnace sand")
    assert result.ewc_code == "100299"
    assert result.candidates[0].source == "similarity"


def test_main_clause_decides_the_kind() -> None:
    assert classify("Residues from waste water treatment").kind is ResourceKind.MATERIAL
    assert classify("Heat from flue gas").kind is ResourceKind.HEAT


# --- hazard --------------------------------------------------------------------------------


def test_non_hazardous_entries_are_preferred_by_default() -> None:
    for text in ["Soil", "Fly ash", "Sludge", "Wood", "Glass", "Metal scrap"]:
        assert not classify(text).candidates[0].hazardous, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Contaminated soil", "170503"),
        ("Hazardous soil", "170503"),
        ("Soil contaminated with oil", "170503"),
        ("Contaminated wood", "030104"),  # mirror of 03 01 05, the first wood code
    ],
)
def test_a_hazard_word_prefers_the_hazardous_mirror(text: str, code: str) -> None:
    result = classify(text)
    assert result.hazardous_hint
    assert result.ewc_code == code
    assert result.candidates[0].hazardous


def test_non_hazardous_cancels_the_hazard_word() -> None:
    result = classify("Non-hazardous soil")
    assert not result.hazardous_hint
    assert result.ewc_code == "170504"


def test_absolute_hazardous_entries_named_by_the_lexicon_stay_first() -> None:
    result = classify("Waste oil")
    assert result.candidates[0].hazardous
    assert result.ewc_chapter == "13"


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Sulfur", ("sulphur",)),
        ("Aluminum sulfate", ("aluminium", "sulphate")),
        ("Fibers", ("fibre",)),
        ("Tires", ("tyre",)),
        ("Ashes", ("ash",)),
        ("Batteries", ("battery",)),
        ("Waxes", ("wax",)),
        ("Gases", ("gas",)),
        ("Gas", ("gas",)),
        ("Glass", ("glass",)),
        ("H2SO4", ("h2so4",)),
        ("Kiln Gas(SO2)", ("kiln", "gas", "so2")),
        ("District heating", ("district", "heat")),
        ("Demineralized", ("demineralis",)),
        ("Pet-bottles", ("pet", "bottle")),
        ("  ", ()),
    ],
)
def test_tokenise(text: str, tokens: tuple[str, ...]) -> None:
    assert tokenise(text) == tokens


@pytest.mark.parametrize(
    ("text", "term"),
    [("Carboard", "cardboard"), ("Contianers", "container"), ("Plastik", "plastic")],
)
def test_misspellings_one_edit_away_are_corrected(text: str, term: str) -> None:
    result = classify(text)
    assert term in result.matched_terms


@pytest.mark.parametrize(
    ("text", "kind"),
    [("Dampf 5 bar, stoom", "steam"), ("overtollige LD stoom 5 bar(g) Bilgenöl", "steam")],
)
def test_a_word_of_another_language_is_not_corrected_into_this_one(text: str, kind: str) -> None:
    # Dutch "stoom" (steam) in a German row is one edit from German "Strom" (electricity)
    result = classify(text)
    assert "strom" not in result.matched_terms
    assert result.kind.value == kind


def test_matched_terms_explain_the_answer() -> None:
    assert classify("Contaminated soil").matched_terms == ("contaminated", "soil")
    assert classify("Steam from flue gas").matched_terms == ("steam", "flue gas")


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "***", "-/-"])
def test_text_without_letters_or_digits_is_refused(text: str) -> None:
    with pytest.raises(ClassificationError, match="no letters or digits"):
        classify(text)


@pytest.mark.parametrize("text", ["Electricity", "Electric power", "Energy", "Power"])
def test_not_a_resource_kind_is_refused(text: str) -> None:
    with pytest.raises(ClassificationError, match="not a heat, steam, water, material or gas"):
        classify(text)


def test_power_as_a_source_is_not_refused() -> None:
    assert classify("Power station ash").ewc_chapter == "10"


def test_classification_is_immutable_and_deterministic() -> None:
    first = classify("Scrap plastic")
    assert first == classify("Scrap plastic")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.kind = ResourceKind.HEAT  # type: ignore[misc]
    assert isinstance(first.candidates, tuple)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_a_valid_answer_or_a_classification_error(text: str) -> None:
    try:
        result = classify(text, top=3)
    except ClassificationError:
        return
    assert isinstance(result, Classification)
    assert 0.0 <= result.kind_confidence <= 1.0
    assert len(result.candidates) <= 3
    if result.kind is not ResourceKind.MATERIAL:
        assert result.candidates == ()
    confidences = [c.confidence for c in result.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 < c <= 1.0 for c in confidences)


# --- the lexicon ---------------------------------------------------------------------------


def test_lexicon_loads_and_names_only_known_codes_and_prefixes() -> None:
    terms = lexicon()
    assert len(terms) > 400
    ewc = catalogue()
    kinds = Counter(t.kind for t in terms.values())
    assert set(kinds) == set(get_args(LexiconKind))
    for term in terms.values():
        for code in term.codes:
            assert ewc.get(code).code == code
        for prefix in term.prefixes:
            assert ewc.title(prefix)
        assert not term.codes or term.kind == "material"
        assert bool(term.prefixes) == (term.kind == "source")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"term": "x", "kind": "liquid", "ewc": ""}, "kind"),
        ({"term": "x", "kind": "material", "ewc": "999999"}, "not on the European List"),
        ({"term": "x", "kind": "material", "ewc": "1001"}, "six digits"),
        ({"term": "x", "kind": "heat", "ewc": "100105"}, "only materials"),
        ({"term": "x", "kind": "source", "ewc": ""}, "needs a prefix"),
        ({"term": "x", "kind": "source", "ewc": "9999"}, "unknown"),
        ({"term": "--", "kind": "material", "ewc": ""}, "empty term"),
    ],
)
def test_malformed_lexicon_rows_are_refused(row: dict[str, str], message: str) -> None:
    with pytest.raises(ClassificationError, match=message):
        parse_row(row, 7)


# --- accuracy on the labelled EIP exchange names -------------------------------------------

KINDS = {k.value for k in ResourceKind}


def _eval_rows() -> list[dict[str, str]]:
    data = resources.files("domain") / "data" / "classification-eval.csv"
    with data.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_eval_set_is_well_formed() -> None:
    rows = _eval_rows()
    assert len(rows) == 286
    assert len({r["text"].strip().lower() for r in rows}) == len(rows)
    titles = catalogue().titles
    excluded = [r for r in rows if r["kind"] == "excluded"]
    assert len(excluded) <= 3
    assert all(r["note"].startswith("excluded:") for r in excluded)
    for r in rows:
        assert r["kind"] in KINDS | {"excluded"}
        if r["ewc_chapter"]:
            assert r["kind"] == "material"
            assert len(r["ewc_chapter"]) == 2
            assert r["ewc_chapter"] in titles
        elif r["kind"] == "material":
            assert r["note"], f"{r['text']!r}: a material without a chapter says why"


def test_accuracy_on_the_eval_set() -> None:
    rows = [r for r in _eval_rows() if r["kind"] in KINDS]
    kind_hits = 0
    chapter_rows = 0
    top1 = 0
    top3 = 0
    for r in rows:
        result = classify(r["text"])
        kind_hits += result.kind.value == r["kind"]
        if r["kind"] == "material" and r["ewc_chapter"]:
            chapter_rows += 1
            chapters = [c.chapter for c in result.candidates]
            top1 += chapters[:1] == [r["ewc_chapter"]]
            top3 += r["ewc_chapter"] in chapters[:3]
    kind_acc = kind_hits / len(rows)
    assert chapter_rows >= 100
    # Measured: kind 281/284 = 0.989, chapter top-1 86/114 = 0.754, top-3 96/114 = 0.842.
    assert kind_acc >= 0.97
    assert top1 / chapter_rows >= 0.72
    assert top3 / chapter_rows >= 0.80


def test_excluded_items_are_refused() -> None:
    for r in _eval_rows():
        if r["kind"] == "excluded":
            with pytest.raises(ClassificationError):
                classify(r["text"])


# --- robustness (found by probing with texts written for it, not the evaluation set) ---------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", ["Kühlwasser" * 20_000, "ä" * 200_000, "flugasche" * 20_000])
def test_a_hostile_run_of_letters_costs_no_more_than_a_word(text: str) -> None:
    """A split or a correction of a word tries every cut: quadratic on 15 KB (5 s) before."""
    assert classify(text).kind is ResourceKind.MATERIAL


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "text",
    [
        "sludge " + "power station coke oven paper mill brewery " * 3_000,  # 130 KB of origins
        "sludge" + "-for" * 125_000,  # 500 KB of hyphen-joined prepositions
    ],
)
def test_a_long_text_of_terms_costs_in_proportion_to_its_length(text: str) -> None:
    """Each term found once asked a scan of the text (a minute on these before 2026-12-05)."""
    assert classify(text).kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    ("text", "kind", "language"),
    [
        ("Flugasche 150 °C", ResourceKind.MATERIAL, "de"),
        ("Koelwater 12 ton/år", ResourceKind.WATER, "nl"),
        ("Kylvatten 120 m3/h", ResourceKind.WATER, "sv"),
        ("Hoogovengas 40 °C", ResourceKind.GAS, "nl"),
    ],
)
def test_the_unit_of_a_figure_is_no_language_evidence(
    text: str, kind: ResourceKind, language: str
) -> None:
    answer = classify(text)
    assert (answer.kind, answer.language) == (kind, language)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Abwaerme", ResourceKind.HEAT),
        ("Fernwaerme Vorlauf", ResourceKind.HEAT),
        ("Roeggas", ResourceKind.GAS),
        ("AAnga", ResourceKind.STEAM),
        ("Laagtrycksaanga", ResourceKind.STEAM),
    ],
)
def test_letters_spelled_out_in_ascii_read_as_the_letters(text: str, kind: ResourceKind) -> None:
    assert classify(text).kind is kind


def test_ascii_spelled_material_keeps_its_code() -> None:
    assert classify("Altoel").candidates[0].code == classify("Altöl").candidates[0].code


@pytest.mark.parametrize("unit", ["pH", "V", "A", "mol/h", "10**10**10", "x" * 10_000])
def test_units_that_say_nothing_of_a_kind_are_no_evidence(unit: str) -> None:
    assert kinds_for_unit(unit) == frozenset()


def test_gauge_and_absolute_pressures_are_pressures() -> None:
    for unit in ("bar(g)", "barg", "bara", "MPa(g)", "psig"):
        assert kinds_for_unit(unit) == {ResourceKind.STEAM, ResourceKind.GAS}, unit


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("LP Dampf", ResourceKind.STEAM),
        ("Excess Dampf", ResourceKind.STEAM),
        ("Spare vapeur", ResourceKind.STEAM),
        ("Hoogovengas Lot 4711", ResourceKind.GAS),
        ("Kylvatten PO 4711", ResourceKind.WATER),
        ("Kondensat No. 5", ResourceKind.WATER),
    ],
)
def test_a_row_mixing_languages_is_read_in_the_language_of_its_resource(
    text: str, kind: ResourceKind
) -> None:
    assert classify(text).kind is kind


def test_a_word_corrected_into_another_language_names_no_utility() -> None:
    # "déposé" is one edit from Swedish "depon(igas)" but no word of Swedish: a French
    # transformer with PCBs is not landfill gas
    answer = classify("Transformateur au pyralène (PCB) déposé, poste HT")
    assert (answer.kind, answer.language) == (ResourceKind.MATERIAL, "fr")
    assert answer.candidates[0].code == "160209"


@pytest.mark.parametrize(
    ("text", "chapter"),
    [
        ("Used Altöl ex compressors, Halle 5, IBC 1000 l", "13"),
        ("Spent Abgaskatalysatoren (Pt/Pd/Rh), fleet workshop", "16"),
        ("Used Altpapier, baled for export", "20"),
    ],
)
def test_a_material_named_in_another_language_is_read_in_it(text: str, chapter: str) -> None:
    # an English row naming its material in German: that word, read in its own language,
    # names the material (the English words around it name none before it)
    assert classify(text).candidates[0].chapter == chapter


def test_a_word_of_another_language_after_the_material_named_is_a_detail() -> None:
    # Swedish "renseri" (debarking) is Danish dry cleaning: read in Swedish, not looked up
    answer = classify("renseri- och vedgårdsavfall, bark")
    assert all(c.chapter != "14" for c in answer.candidates)


def test_a_word_the_voted_language_reads_is_not_read_again_in_another() -> None:
    # English reads "water treatment" (a source): Dutch "water" must not make it water
    answer = classify("spent GAC from potable water treatment")
    assert (answer.kind, answer.language) == (ResourceKind.MATERIAL, "en")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Plant 2: LP steam", ResourceKind.STEAM),
        ("Unit 300 - cooling water return", ResourceKind.WATER),
        ("BASF Ludwigshafen: Dampf ND", ResourceKind.STEAM),
        ("宝钢\uff1a余热蒸汽", ResourceKind.STEAM),  # a full-width colon
    ],
)
def test_a_label_before_a_clause_break_does_not_make_a_utility_a_material(
    text: str, kind: ResourceKind
) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "Biochar - heat treated",  # no colon, no figure before the break: not a label
        "Perlite, heat expanded",
        "Zeolite (steam regenerated)",
        "Biochar, water content 20%",
        "Flugasche Steinkohle, befeuchtet 15% H2O",
    ],
)
def test_a_utility_word_in_a_detail_does_not_make_a_material_a_utility(text: str) -> None:
    assert classify(text).kind is ResourceKind.MATERIAL


def test_a_material_after_a_label_stays_a_material_and_no_break_no_label() -> None:
    assert classify("Sawmill North, wood chips").kind is ResourceKind.MATERIAL
    # no clause break: "op waterbasis" describes the developer, it is no water
    assert classify("Zwart-witontwikkelaar op waterbasis").kind is ResourceKind.MATERIAL


def test_a_quantity_that_reads_like_a_code_is_no_code() -> None:
    assert mentioned_codes("flugasche 170504 kg") == {}
    assert mentioned_codes("flugasche 17 05 04") == {"170504": 1.0}
    assert mentioned_codes("ash (170504), 20 t") == {"170504": 0.9}  # bare: less than a code


def test_a_code_before_a_preposition_stays_a_code() -> None:
    assert mentioned_codes("materiale misto cer 19 12 12 a recupero") == {"191212": 1.0}
    assert mentioned_codes("terres 17 05 04 a valoriser") == {"170504": 1.0}
    assert mentioned_codes("flugasche 17 05 04 kg") == {"170504": 1.0}  # spaced: a code


@pytest.mark.parametrize("text", ["Zaagstof", "Voedingsresten", "Koelvloeistof"])
def test_dutch_oe_and_aa_are_letters_not_spelled_out_umlauts(text: str) -> None:
    answer = classify(text)
    assert (answer.kind, answer.kind_confidence) == (ResourceKind.MATERIAL, 0.95)


@pytest.mark.parametrize(("text", "unit"), [("Purge gas 300 Nm3/h", None), ("Purge gas", "Nm3/h")])
def test_a_kind_the_rows_own_unit_contradicts_is_reviewed(text: str, unit: str | None) -> None:
    """Its words read as French *purges* (water); its unit says gas: a question, not an answer."""
    answer = classify(text, unit=unit)
    assert answer.kind is not ResourceKind.GAS or not answer.needs_review  # either right...
    assert answer.kind is ResourceKind.GAS or answer.needs_review  # ...or asked


def test_the_list_repeats_an_entry_per_industry_and_not_its_99_codes() -> None:
    same = same_entries()
    assert {"020203", "020501", "020601", "020704"} <= set(same["020304"])
    assert "030311" in same["020204"]  # "... other than those mentioned in 03 03 10" aside
    assert not any(code.endswith("99") for code in same)
    assert "190805" not in same  # urban waste water sludge has no twin


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("sludge from wastewater treatment at the brewery", "0207"),
        ("Schlamm aus betriebseigener Abwasserbehandlung, Papierfabrik", "0303"),
        ("sludge from the wastewater treatment plant", "1908"),
        ("Schlamm aus der Abwasserbehandlung", "1908"),
    ],
)
def test_waste_water_treatment_beside_an_industry_is_the_industrys_own(
    text: str, sub_chapter: str
) -> None:
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize("text", ["tjære fra koksværk", "catrame da cokeria"])
def test_an_entry_outside_the_source_is_carried_to_the_same_entry_under_it(text: str) -> None:
    # "tar" names 05 01 08 (other tars, refining); from a coke oven the same entry is 05 06 03.
    # Danish and Italian have no official text whose similarity could find it instead.
    assert classify(text).candidates[0].code == "050603"


def test_the_source_most_terms_agree_on_narrows() -> None:
    # EfW names incineration, an ESP incineration or a power station: incineration
    answer = classify("filter ash from EfW flue gas cleaning, ESP hopper")
    assert answer.candidates[0].sub_chapter == "1901"


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("spent grit from shot blasting", "1201"),
        ("tar residue from the coke oven", "0506"),
        ("sludge from the paint shop", "0801"),
    ],
)
def test_english_reads_the_origins_the_other_languages_read(text: str, sub_chapter: str) -> None:
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    "text",
    [
        "sludge from the oil interceptor",
        "Schlamm aus dem Ölabscheider",
        "boues du séparateur d'hydrocarbures",
        "lodos del separador de hidrocarburos",
        "fango del disoleatore",
        "osady z separatora olejowego",
        "slib uit de olieafscheider",
        "slam fra olieudskiller",
        "slam från oljeavskiljare",
    ],
)
def test_an_oil_separator_is_read_as_the_origin_of_its_sludge(text: str) -> None:
    # 13 05 is absolute hazardous: no harmless twin to prefer without a hazard word
    assert classify(text).candidates[0].sub_chapter == "1305"


def test_a_named_code_outside_the_source_names_the_closest_entry_under_it() -> None:
    # Italian has no official text: "fanghi" names 19 08 05 (sludges of urban waste water);
    # from an oil separator the entry sharing its words is 13 05 02, sludges from separators
    assert classify("fango del disoleatore").candidates[0].code == "130502"


def test_a_source_whose_entry_nothing_names_gives_its_chapter_as_a_question() -> None:
    answer = classify("Rester fra kemisk laboratorium")  # "rester": no material named
    assert answer.candidates[0].sub_chapter == "1605"
    assert answer.needs_review
    assert answer.candidates[0].confidence < CODE_REVIEW_BELOW


@pytest.mark.parametrize(
    "text",
    ["food waste from the supermarket", "Matavfall från butiker", "biorifiuti del supermercato"],
)
def test_retail_is_a_municipal_origin(text: str) -> None:
    assert classify(text).candidates[0].chapter == "20"


@pytest.mark.parametrize(
    "text", ["brennbares Restgas Rußreaktor", "Prozessgas aus der Kokerei", "stortgas", "røggas"]
)
def test_a_compound_ending_in_gas_is_a_gas(text: str) -> None:
    assert classify(text).kind is ResourceKind.GAS


@pytest.mark.parametrize(
    ("text", "hazardous"),
    [
        ("EAF baghouse dust (zinc-bearing)", True),
        ("Filterstaub, schwermetallhaltig", True),
        ("boues chargées en métaux lourds", True),
        ("sludge free of heavy metals", False),
        ("lodos sin metales pesados", False),
    ],
)
def test_heavy_metals_named_as_a_content_are_a_hazard_hint(text: str, hazardous: bool) -> None:
    assert classify(text).hazardous_hint is hazardous


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("asbestos cement roof sheets", "170605"),  # a roof: construction, not cement making
        ("Asfalt uden tjære, opbrudt", "170302"),  # tar named as absent
        ("teerfreier Straßenaufbruch", "170302"),
        ("Dachpappe", "170302"),  # roofing felt, not cardboard (Pappe)
        ("tagpap fra nedrivning", "170302"),
    ],
)
def test_roofs_roofing_felt_and_tar_free_asphalt(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("IBA from the EfW, 0-32 mm", "190112"),
        ("HMS 1&2 from demolition", "170405"),
        ("stretch wrap, baled", "150102"),
        ("spent yeast from the brewery", "020799"),
    ],
)
def test_english_reads_the_names_plants_write(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Slam som ska läggas på deponi", ResourceKind.MATERIAL),  # a passive, not a gas
        ("Flygaska som ska läggas i deponi", ResourceKind.MATERIAL),
    ],
)
def test_a_word_ending_in_gas_that_is_no_compound_is_no_gas(text: str, kind: ResourceKind) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "sludge, heavy metals within limits",  # a test result, not a content
        "Klärschlamm, Schwermetalle unter Grenzwert",
        "wood off-cuts, can be reused",  # "can" the verb, not a can
    ],
)
def test_words_that_only_mention_a_hazard_or_a_material_are_no_evidence(text: str) -> None:
    answer = classify(text)
    assert not answer.hazardous_hint
    assert answer.candidates
    assert answer.candidates[0].code not in {"060405", "150104"}


def test_a_laboratory_report_is_no_laboratory_origin() -> None:
    assert classify("FGD gypsum, laboratory report available").candidates[0].code == "100105"


def test_a_hazardous_entry_only_the_similarity_finds_under_a_source_stays_halved() -> None:
    # 05 01 has harmless entries: 05 01 15* (spent filter clays) is not promoted over the
    # spent catalysts the text names
    assert classify("spent catalyst from refinery").candidates[0].sub_chapter == "1608"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("affald fra kantine", "200301"),
        ("odpady ze sklepu", "200301"),
        ("rifiuti del cantiere", "170904"),
    ],
)
def test_an_origin_chapter_with_nothing_named_proposes_its_mixed_waste_as_a_question(
    text: str, code: str
) -> None:
    answer = classify(text)
    assert answer.candidates[0].code == code
    assert answer.needs_review


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("fit-for-purpose water from the WWTP", ResourceKind.WATER),  # "for" joined: no clause end
        ("fit for purpose water", ResourceKind.MATERIAL),  # without hyphens it still ends one
        ("oil-in-water emulsion", ResourceKind.MATERIAL),
    ],
)
def test_a_preposition_a_hyphen_joins_ends_no_clause(text: str, kind: ResourceKind) -> None:
    assert classify(text).kind is kind


def test_hyphen_joined_words_are_found_by_position() -> None:
    from domain.classify.text import hyphen_joined

    assert hyphen_joined("fit-for-purpose water") == (1, 2)
    assert hyphen_joined("ash - silo 2") == ()  # a spaced dash is a break, not a join
    assert hyphen_joined("-for") == ()
    assert hyphen_joined("plain text") == ()


@pytest.mark.parametrize(
    "text",
    [
        "spent pot lining from aluminium smelter",
        "refractory lining from the steel mill ladle",
        "used engine oil from the rolling mill",
    ],
)
def test_what_the_list_files_by_material_stays_there_whatever_the_origin(text: str) -> None:
    # no entry of the smelter's or the steel mill's sub-chapter names a lining or an oil:
    # the list's introduction sends such wastes to chapters 13 to 16
    assert classify(text).candidates[0].chapter in {"13", "16"}


def test_under_a_source_the_entry_naming_the_material_comes_before_its_99() -> None:
    # "pickling" names 11 01; of its entries, "pickling acids" names what HCl is
    answer = classify("HCl agotado del decapado")
    assert answer.candidates[0].code == "110105"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("plasterboard offcuts", "170802"),
        ("Gipskartonverschnitt", "170802"),
        ("textile offcuts", "040222"),
    ],
)
def test_an_offcut_is_of_the_material_named_before_it(text: str, code: str) -> None:
    answer = classify(text)
    assert answer.candidates[0].code == code
    assert "030105" not in {c.code for c in answer.candidates[:1]}


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("plasterboard offcuts, dry, no insulation", "1706"),
        ("plasterboard offcuts, free of insulation", "1706"),
        ("Gipskarton ohne Dämmstoff", "1706"),
        ("plaques de plâtre sans isolant", "1706"),
    ],
)
def test_a_material_named_as_absent_names_no_code(text: str, absent: str) -> None:
    answer = classify(text)
    assert answer.candidates[0].code == "170802"
    assert not answer.candidates[0].code.startswith(absent)


@pytest.mark.parametrize("text", ["insulation, asbestos-free", "Dämmstoffe ohne Asbest"])
def test_a_hazardous_material_named_as_absent_is_no_hazard(text: str) -> None:
    answer = classify(text)
    assert not answer.hazardous_hint
    assert answer.candidates[0].code == "170604"


def test_free_before_a_material_is_no_absence() -> None:
    # "free oil" is oil that floats; "sludge free of oil" is still a sludge
    assert "oil" in classify("sludge with free oil").matched_terms
    assert classify("sludge with free oil").candidates[0].chapter in {"13", "19", "05"}
    assert classify("sludge free of oil").candidates[0].code.startswith("19")


@pytest.mark.parametrize(
    "text",
    [
        "insulation material containing asbestos",
        "Dämmstoffe mit Asbest",
        "isolant contenant de l'amiante",
    ],
)
def test_a_material_that_makes_a_waste_hazardous_is_a_hazard_hint(text: str) -> None:
    # asbestos names only the hazardous halves of mirror pairs (17 06 01*, 17 06 05*)
    answer = classify(text)
    assert answer.hazardous_hint
    assert answer.candidates[0].hazardous


def test_an_acid_is_no_hazard_hint_for_the_rest_of_the_text() -> None:
    # acids name absolute hazardous entries; "acid whey" is whey
    assert not classify("siero acido da produzione ricotta").hazardous_hint


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("electric arc furnace dust", "1002"),
        ("dust from the basic oxygen furnace", "1002"),
        ("fibre rejects from the paper machine", "0303"),
        ("aluminium turnings from the CNC shop", "1201"),
    ],
)
def test_english_reads_the_full_names_of_its_abbreviated_origins(
    text: str, sub_chapter: str
) -> None:
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    "text", ["rifiuti misti da costruzione e demolizione", "rifiuti misti dalla demolizione"]
)
def test_a_mixed_waste_from_an_origin_chapter_is_that_chapters_mixed_waste(text: str) -> None:
    # Italian has no official text: "rifiuti misti" names 20 03 01 mixed municipal waste; from
    # construction and demolition (17) that is 17 09 04, the chapter's own mixed waste
    assert classify(text).candidates[0].code == "170904"


@pytest.mark.parametrize(
    ("text", "hazardous"),
    [
        ("fluorescent tubes containing mercury", True),
        ("Cyanidhaltige Härtesalze", True),
        ("déchets contenant de l'arsenic", True),
        ("mercury-free batteries", False),
        ("batteries sans mercure", False),
    ],
)
def test_the_substances_the_list_names_as_hazardous_are_hazard_words(
    text: str, hazardous: bool
) -> None:
    assert classify(text).hazardous_hint is hazardous


@pytest.mark.parametrize(
    ("text", "chapter"),
    [
        ("polvere di marmo", "01"),
        ("marble sludge from the stone works", "01"),
        ("Marmorschlamm", "01"),
        ("DAF sludge", "19"),
        ("sanding dust", "03"),
    ],
)
def test_names_of_stone_effluent_and_workshop_by_products(text: str, chapter: str) -> None:
    assert classify(text).candidates[0].chapter == chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("fly ash from a wood chip boiler", "100103"),
        ("cendres volantes de chaudière bois", "100103"),
        ("Flugasche aus der Holzfeuerung", "100103"),
        ("coal fly ash", "100102"),
        ("fly ash", "100102"),
    ],
)
def test_the_rest_of_the_text_tells_the_heads_entries_apart(text: str, code: str) -> None:
    # "fly ash" names 10 01 02 coal fly ash first; "wood" is in 10 01 03's own text only
    assert classify(text).candidates[0].code == code


def test_under_a_source_only_its_entries_are_told_apart() -> None:
    # "Abgas" is in 10 02 14's text (steel) too, but the source is an incinerator (19 01)
    assert classify("Filterkuchen RGR (Abgaswäsche), MVA").candidates[0].sub_chapter == "1901"


@pytest.mark.parametrize(
    "text", ["EAF dust", "Polvo de acería", "Elektroofenstaub", "poussières d'aciérie électrique"]
)
def test_eaf_dust_is_hazardous_by_nature(text: str) -> None:
    # zinc, lead and cadmium make electric arc furnace dust 10 02 07* in practice
    answer = classify(text)
    assert answer.candidates[0].code == "100207"
    assert answer.hazardous_hint


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Escoria de horno alto granulada", "100202"),
        ("E-Ofen Schlacke stückig", "100202"),
        ("tar-containing asphalt planings", "170301"),
    ],
)
def test_slag_word_orders_furnace_abbreviations_and_tar_content(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text", ["iron sludge from drinking water treatment", "slib van drinkwaterbereiding"]
)
def test_drinking_water_treatment_is_an_origin(text: str) -> None:
    assert classify(text).candidates[0].sub_chapter == "1909"


@pytest.mark.parametrize(
    "text", ["rifiuti misti CER 17 09 04", "AVV 170904", "EWC 17.09.04", "Eural 17 09 04"]
)
def test_a_code_written_after_its_label_is_read_and_the_label_is_no_word(text: str) -> None:
    answer = classify(text)
    assert answer.candidates[0].code == "170904"
    assert answer.candidates[0].confidence >= 0.9
    assert "cera" not in answer.matched_terms  # CER is the Italian list's name, not wax


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("slag from production", "100202"),  # a word of no term tells nothing apart
        ("fly ash, no wood", "100102"),  # an absent material neither
        ("tanning liquor free of chromium", "040105"),  # the list's own words stay looked up
        ("plasterboard without insulation", "170802"),  # not cameras *without batteries*
        ("old transformers", "160214"),  # the PCB twin needs a hazard word
        ("mercury lamps", "200121"),
    ],
)
def test_what_tells_entries_apart_and_what_does_not(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    ["asbestos not detected", "asbestos: none", "Asbest nicht nachweisbar", "amiante non détecté"],
)
def test_a_material_found_absent_is_no_hazard(text: str) -> None:
    assert not classify(text).hazardous_hint


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("steel slag free lime", "steel slag"),  # free lime is lime, the slag is there
        ("Bauschutt frei Haus", "bauschutt"),  # a delivery term
        ("Item no. steel scrap 4711", "steel"),  # No. is a number
    ],
)
def test_free_and_no_that_say_no_absence(text: str, term: str) -> None:
    answer = classify(text)
    assert term in answer.matched_terms
    assert answer.candidates


def test_an_absent_term_is_not_the_head() -> None:
    assert classify("waste oil without water").kind is ResourceKind.MATERIAL


def test_a_date_with_hyphens_is_no_code_and_a_bare_code_word_no_label() -> None:
    assert "170201" not in {c.code for c in classify("Flugasche Lieferung 17-02-01").candidates}
    assert classify("colour code red").needs_review


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Envases de plástico contaminados", "150110"),
        ("contaminated plastic drums", "150110"),
        ("Lege verpakkingen met restanten gevaarlijke stoffen", "150110"),
        ("plastic packaging", "150102"),
    ],
)
def test_contaminated_packaging_of_any_material_is_15_01_10(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [("ALU DROSS EX CASTHOUSE", "1003"), ("oyster shells from processing", "0202")],
)
def test_aluminium_dross_and_shells(text: str, sub_chapter: str) -> None:
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Sawdust, without hazardous substances", "030105"),
        ("Plastic packaging, hazardous substances: none", "150102"),
        ("Plastic packaging, hazardous substances not detected", "150102"),
        ("Mineral wool, asbestos free, 12 t", "170604"),
        ("Mineral wool, asbestos free, bagged", "170604"),
        ("PCB free transformer", "160214"),
        ("Płyty gipsowe, brak azbestu", "170802"),
    ],
)
def test_an_absent_hazard_in_an_export_row_is_no_hazard(text: str, code: str) -> None:
    # a figure, a clause break or a noun after "free"; the hazard words themselves absent
    answer = classify(text)
    assert not answer.hazardous_hint
    assert answer.candidates[0].code == code


@pytest.mark.parametrize(
    "text", ["código LER 17 09 04", "waste code 170904", "kod 170904", "CER 17-09-04"]
)
def test_a_generic_code_word_before_a_code_is_its_label(text: str) -> None:
    assert classify(text).candidates[0].code == "170904"
    assert classify(text).candidates[0].confidence >= 0.9


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("Scarti di lana da pettinatura", "0402"),
        ("Solfato di sodio da cristallizzazione", "0603"),
        ("Residui di verniciatura a polvere", "0802"),
        ("Acque madri da sintesi farmaceutica", "0705"),
    ],
)
def test_wool_salts_powder_coating_and_mother_liquors(text: str, sub_chapter: str) -> None:
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("asbesthaltige Dämmstoffe", "170601"),
        ("asbesthoudend dakafval", "170605"),
        ("teerhaltiger Straßenaufbruch", "170301"),
        ("Eternitplatten", "170605"),
    ],
)
def test_asbestos_and_tar_as_a_compound_content_are_hazards(text: str, code: str) -> None:
    # asbestos-containing insulation was 17 06 04 (harmless) without review
    answer = classify(text)
    assert answer.hazardous_hint
    assert answer.candidates[0].code == code


def test_a_head_naming_only_hazardous_entries_makes_the_text_hazardous() -> None:
    # "oily sludge" names 05 01 06*, 13 05 02*...: from tank cleaning (16 07) not 16 07 99
    answer = classify("oily sludge from tank cleaning")
    assert answer.hazardous_hint
    assert answer.candidates[0].hazardous
    assert not classify("siero acido da produzione ricotta").hazardous_hint  # a modifier


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Recovered refrigerant R404A, cylinders ex chiller decommissioning", "140601"),
        ("Altkältemittel aus Kälteanlagen", "140601"),
        ("Cytostatica-afval oncologie, gele vaten", "180108"),
        ("Zytostatikaabfälle Onkologie", "180108"),
        ("X-RAY FIXER SPENT ex radiology dept, 20 L carboys", "090104"),
        ("Pellicole radiografiche contenenti argento da archivio ospedaliero", "090107"),
        ("Tetrapak / drankenkartons, gebaald", "150105"),
        ("Zużyte tarcze szlifierskie i papier ścierny", "120121"),
        ("Dichlorométhane usagé (DCM) en fûts, atelier", "140602"),
        ("Acqua ragia sporca da lavaggio pennelli", "140603"),
        ("Marmitte catalitiche da autodemolizione (Pt/Pd/Rh)", "160801"),
        ("Airbags removed at ELV depollution", "160110"),
        ("Accumulateurs Li-ion (packs outillage portatif) HS", "160605"),
        ("Paneles fotovoltaicos rotos, repotenciación", "160214"),
        ("Tubos de rayos catódicos, punto limpio", "200135"),
        ("Tomatplanter og planterester fra væksthus", "020103"),
        ("Isocyanatrester (MDI) från skumtillverkning, fat", "080501"),
        ("Traversine ferroviarie in legno impregnate con creosoto", "170204"),
        ("Slam fra septiktanke, slamsugning landdistrikt", "200304"),
        ("Schweißschlacke aus der Rohrfertigung", "120113"),
        ("Uitval snoepgoed / chocolade na productiestoring", "020601"),
        ("Koelkasten en vriezers met CFK, milieustraat", "200123"),
        ("Garze, bende e pannoloni non a rischio infettivo", "180104"),
        ("Kemikalierester fra laboratorium", "160506"),
        ("MBT oversize rejects (2D fraction), trommel >80mm", "191212"),
        ("Used bleach-fix (blix) ex photo minilab", "090105"),
        ("Spent alkaline degreaser, pretreat tank dump", "110114"),
        ("Desalter sludge, crude unit turnaround", "050102"),
        ("Apparecchiature fuori uso (PC, stampanti, monitor LCD) da uffici", "160214"),
        ("Smutsig aceton och tvättsprit från rengöring av formar", "140603"),
        ("Boues de la STEP biologique d'une usine de cosmétiques", "070612"),
        ("Made ground with ACM fragments ex footings dig", "170503"),
    ],
)
def test_common_streams_are_named_in_every_language(text: str, code: str) -> None:
    # refrigerants, cytotoxics, photochemicals, cartons, abrasives, solvents, vehicle parts,
    # PV modules, CRTs, plant residues, isocyanates, sleepers, septic tanks, welding,
    # confectionery, fridges, dressings, lab chemicals: each is a lexicon term in nine
    # languages; the first candidate, or the second when its mirror half leads
    codes = [c.code for c in classify(text).candidates[:2]]
    assert code in codes


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("Kunststoffreste", "de", "070213"),
        ("Dichtstoffreste", "de", "080410"),
        ("Kunststofresten", "nl", "070213"),
        ("plastrester", "sv", "070213"),
    ],
)
def test_a_compound_of_remnants_is_read_in_the_language_of_both_its_parts(
    text: str, language: str, code: str
) -> None:
    # "-reste", "-resten", "-rester" are words for remnants: the compound is its material's
    # remnants (not textile "Stoffreste"), and "plast|rester" is Swedish, not a German
    # "plas|trester" (pomace)
    answer = classify(text)
    assert (answer.language, answer.candidates[0].code) == (language, code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Fanghi da depuratore aziendale caseificio, nastropressa 18% s.s.", "020502"),
        ("Fanghi da depurazione acque, conceria", "040106"),
    ],
)
def test_a_waste_water_sludge_from_an_industry_is_its_on_site_effluent_sludge(
    text: str, code: str
) -> None:
    # "fanghi da depurazione" names 19 08 05 (waste water treatment plants); from a dairy or a
    # tannery it is the industry's own effluent sludge (Italian has no official text to find it)
    assert classify(text).candidates[0].code == code


def test_rejects_name_no_industry_of_their_own() -> None:
    # "rejects" are any process's: cork rejects are cork (03 01 01), not a pulp mill's rejects
    assert (
        classify("Cork dust & granulate rejects ex cork stopper factory").candidates[0].code
        == "030101"
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("degreasing bath waste, alkaline, containing oil", "110113"),
        ("Putzlappen mit Öl", "150202"),
        ("sawdust with oil", "030104"),
    ],
)
def test_a_hazardous_material_named_as_a_content_makes_the_waste_hazardous(
    text: str, code: str
) -> None:
    # oil is first 13 02 05*: a bath, rags or sawdust "containing" or "with" it is hazardous
    answer = classify(text)
    assert answer.hazardous_hint
    assert answer.candidates[0].code == code


@pytest.mark.parametrize(
    "text", ["acid whey", "Concrete with reinforcement", "Kartonage mit Folie"]
)
def test_a_harmless_content_or_a_modifier_names_no_hazard(text: str) -> None:
    assert not classify(text).hazardous_hint


@pytest.mark.parametrize(
    ("text", "chapter"),
    [
        ("Flygaska biobränsle", "10"),
        ("Flugasche Biomasse", "10"),
        ("flyveaske biomasse", "10"),
        ("Schlacke Stahl", "10"),
        ("Asche Holz", "10"),
    ],
)
def test_two_nouns_written_apart_in_a_compounding_language_lead_with_the_first(
    text: str, chapter: str
) -> None:
    # German, Dutch, Danish and Swedish write a compound as one word ("Holzasche"): nouns
    # written apart are an ERP's "material qualifier", fly ash of biomass, not biomass
    assert classify(text).candidates[0].chapter == chapter


@pytest.mark.parametrize(
    ("text", "not_code"),
    [
        ("Dampf 12 bar Druck", None),  # Druck is pressure, not a printer
        ("Erdgas Druck 4 bar", None),
        ("Smaltimento oli usati", "080112"),  # smaltimento is disposal, not enamel
        ("Asphaltreste", "020304"),  # asphalt remnants, no Trester
        ("Zementreste", "020304"),
        ("Regenerationsabwasser Entsalzung", None),  # desalination, not a desalter
        ("Cardboard with grease", "150110"),  # grease is no contaminant of packaging
        ("Food waste with oil", "130205"),
        ("Paper with printing ink", "080312"),
        ("Soil not containing oil", "170503"),
        ("Nitrogen purge", None),
        ("Pine needles and leaves", "180101"),
        ("Abfall vom Abfallverband", "180104"),
        ("Viti e materiale di fissaggio", "090104"),
        ("Prodotti congelati scaduti", "200123"),
        ("Varnished copper wire", "080112"),
        ("TDI engine parts", "080501"),
        ("Vetro colorato", "040217"),
    ],
)
def test_words_that_share_a_stem_with_a_waste_name_it_not(text: str, not_code: str | None) -> None:
    # false friends of the vocabulary: a utility stays a utility (None), a material does not
    # get the code of the word it only looks like
    answer = classify(text)
    if not_code is None:
        assert answer.kind is not ResourceKind.MATERIAL
    else:
        assert not_code not in [c.code for c in answer.candidates[:1]]


@pytest.mark.parametrize("text", ["LP Dampf", "Hoogovengas Lot 4711"])
def test_a_utility_word_of_another_language_still_names_the_reading(text: str) -> None:
    assert classify(text).language in ("de", "nl")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Metall Fässer", "150104"),  # a form the material takes leads in either order
        ("Holz Paletten", "150103"),
        ("Stahl Schlacke", "100202"),  # a residue of a process too
        ("Holz Asche", "100101"),
        ("Blei Batterien", "160601"),
        ("Säure H2SO4", "060101"),  # a formula is more specific than "acid"
        ("Flugasche Big Bags", "100102"),  # a residue in its container is the residue
    ],
)
def test_a_form_or_residue_written_apart_leads_in_either_order(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Kühlwasser gefiltert", ResourceKind.WATER),  # a utility named before stops the lookup
        ("Druckluft gefiltert 7 bar", ResourceKind.GAS),
        ("Dampf gefiltert", ResourceKind.STEAM),
    ],
)
def test_utility_rows_stay_utilities(text: str, kind: ResourceKind) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    "text",
    ["Refrigerant", "Kältemittel (FCKW) zur Entsorgung", "Afval koudemiddel", "Köldmedium"],
)
def test_a_refrigerant_in_a_register_is_the_refrigerant(text: str) -> None:
    # a cooling utility is chilled water; a refrigerant row is 14 06 01 in every language
    assert classify(text).candidates[0].code == "140601"


@pytest.mark.parametrize("text", ["Kältemittel 200 kW", "Fluide frigorigène 2 MW"])
def test_a_refrigerant_row_with_a_power_unit_is_a_question(text: str) -> None:
    assert classify(text).needs_review


@pytest.mark.parametrize(
    ("text", "code"),
    [("Rags soaked in oil", "150202"), ("Residuos vegetales de poda", None)],
)
def test_a_content_or_an_origin_leaves_the_material_its_own(text: str, code: str | None) -> None:
    # the oil of oily rags is not looked up in the official texts (13 08 99 matched "oil"
    # best); garden prunings are green waste or plant tissue, 20 02 01 among the first two
    codes = [c.code for c in classify(text).candidates[:2]]
    assert code in codes if code else "200201" in codes


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Kalkslam avhärdning, vattenverket", "vattenverk"),
        ("slam från reningsverket", "reningsverk"),
        ("aska från kraftvärmeverket", "kraftvärmeverk"),
        ("spån från sågverket", "sågverk"),
    ],
)
def test_a_swedish_noun_with_its_article_is_the_noun(text: str, term: str) -> None:
    # Swedish writes "the" on the noun (-et, -t, -n) and Snowball leaves it on
    assert term in classify(text).matched_terms


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Slaktblod kat. 3, tank", "020202"),
        ("Visafval koppen/graten uit fileerafdeling", "020202"),
        ("Baterías de litio-ion de herramientas portátiles, caja 40 kg", "160605"),
    ],
)
def test_a_code_found_only_by_the_other_words_does_not_outrank_the_head(
    text: str, code: str
) -> None:
    # "tank" found tank cleaning (16 07), a stray "deel" particulates, "ion" ion exchangers
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "Sickerwasser Deponie, 25 m3",
        "Lixiviats ISDND pompés bassin nord, citerne 25 m3",
        "lixiviados, cisterna 20 m3",
        "percolato, autobotte 25 m3",
        "lakvatten till extern rening",
        "landfill leachate tanker 25 m3",
    ],
)
def test_leachate_is_a_waste_in_every_language(text: str) -> None:
    # English coded leachate as a waste (19 07); the other languages read it as water
    found = classify(text)
    assert found.kind is ResourceKind.MATERIAL
    assert found.candidates[0].code[:4] == "1907"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ammoniakaal etsmiddel met koper, PCB fabricage", "11"),
        ("spent etchant, PCB line", "11"),
        ("Afgekeurd bier retourpartij 4.200 L", "0207"),
        ("Spent FCC cat fines ex regenerator cyclones, refinery", "160804"),
        ("一般固废 废砂轮、砂纸（打磨工序）", "120121"),  # noqa: RUF001 - as a Chinese export writes it
        ("含铜污泥 HW22 线路板厂废水处理站压滤", "19"),
    ],
)
def test_etchants_beverages_catalyst_fines_and_a_chinese_plant_station(
    text: str, code: str
) -> None:
    codes = [c.code for c in classify(text).candidates[:2]]
    assert any(c.startswith(code) for c in codes), codes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Whey permeate off-spec for landspreading, 30,000 ltrs (creamery)", "020501"),
        ("off-spec product", "1603"),
        ("produit non conforme", "1603"),
    ],
)
def test_off_spec_says_what_became_of_a_product_not_what_it_is(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Palets de madera rotos del almacén", "almazara"),
        ("Visafval uit de fileerafdeling", None),
    ],
)
def test_a_place_in_the_plant_is_no_origin_and_no_material(text: str, term: str | None) -> None:
    # "almacén" (warehouse) was corrected to the olive mill "almazara" (02 03)
    found = classify(text)
    assert term not in found.matched_terms
    assert not found.candidates[0].code.startswith(("0203", "10"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Selvdøde svin (kadavere) fra stald, afhentes af DAKA", "02"),
        ("Jarositslam fra zinkudvinding", "110202"),
        ("Anticongelante usado (refrigerante motor) - 2 x 1000 l IBC", "1601"),
        ("Gemengde batterijen inzamelton winkel", "200133"),
        ("Crude tank bottoms, TK-104 clean-out, 2 x sucker truck loads", "050103"),
        ("diesel tank bottoms", "1607"),
        ("Kalkschlamm aus Wasserentkarbonisierung", "1909"),
        ("Rifiuti a rischio infettivo reparto malattie infettive", "180103"),
    ],
)
def test_carcasses_jarosite_antifreeze_batteries_and_tank_bottoms(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Paint booth sludge, solvent based, haz", "080113"),
        ("Pintura base disolvente caducada, RP, 12 latas", "080111"),
        ("Altlacke lösemittelhaltig", "080111"),
        ("Vernici e smalti a solvente scaduti in barattoli", "080111"),
        ("Drukinktresten op oplosmiddelbasis, vaten 60 L", "080312"),
    ],
)
def test_solvent_based_and_hazard_abbreviations_make_the_hazardous_entry(
    text: str, code: str
) -> None:
    found = classify(text)
    assert found.hazardous_hint
    assert code in [c.code for c in found.candidates[:2]]


def test_hp_steam_is_still_steam_beside_the_hazard_properties() -> None:
    # HP1 ... HP15 are hazard properties; "HP" alone stays high pressure
    assert classify("HP steam 40 bar").kind is ResourceKind.STEAM
    assert classify("Fango disidratato da trattamento chimico fisico, HP14").hazardous_hint


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("磨床磨削油泥 HW08 900-200-08 0.9吨", "120118"),
        ("有机化工装置 精馏残渣 HW11 900-013-11 桶装 9.3吨", "07"),
        ("废油漆桶（沾染涂料）HW49 900-041-49 230个", "150110"),  # noqa: RUF001 - as written
        ("QC实验室 检测废液 HW49 900-047-49 40kg/月", "160506"),
        ("机加工车间 钢屑（车床、铣床）一般工业固体废物 外售回收 22吨", "120101"),  # noqa: RUF001
    ],
)
def test_a_chinese_register_row_reads_its_waste_and_its_hw_category(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("slagge fra forbraendingsanlaeg", "190112"),
        ("Slagge fra affaldsforbrændingsanlæg, oparbejdet til vejfyld", "190112"),
        ("vliegas houtgestookte biomassacentrale", "100103"),
    ],
)
def test_under_a_source_the_head_names_its_entry_there_first(text: str, code: str) -> None:
    # slag names 10 02 02 first; at an incinerator its 19 01 12 leads (what the rest of the
    # text tells apart still leads: wood-fired fly ash)
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Residui di sverniciatura con sverniciatore a solvente, telai reparto verniciatura",
         "0801"),
        ("Abbeizmittel Restmengen, 200-l-Fass", "080121"),
        ("Tarra/aanhangende grond van bietenwassing, campagne 2023", "020401"),
        ("Terres de lavage betteraves + cailloux, tare terre", "020401"),
    ],
)  # fmt: skip
def test_paint_strippers_and_beet_soil(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("oljeabsorbent förorenat", "150202"),  # a compound, not "olje|absorben" + article
        ("kasserad stålplåt", "170405"),  # not "stålplå" corrected to a stable
        ("fondami di vernice", "0801"),  # Italian dregs, not crude tank bottoms
        ("Bierfässer Edelstahl", "15"),  # the first word's head is the barrel
        ("lodos de lixiviación de zinc", "19"),  # leaching, not leachate
        ("lot non conforme sacs", "1603"),  # an off-spec lot in sacks is the lot
        ("废水处理设备废铁", "120101"),  # scrap of the station's equipment
    ],
)
def test_words_near_the_new_vocabulary_keep_their_own_reading(text: str, code: str) -> None:
    codes = [c.code for c in classify(text).candidates[:2]]
    assert any(c.startswith(code) for c in codes), codes


def test_a_german_fish_bone_is_no_metal_burr() -> None:
    assert "020202" not in [c.code for c in classify("Grate aus Entgratung").candidates]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Stracci e assorbenti sporchi d'olio, manutenzione presse", "150202"),
        ("Elektroaltgeraete Buero (Drucker, Tastaturen, Kleingeraete), Gitterbox", "160214"),
        ("Used silage wrap and bale netting from farm", "020104"),
        ("Rientri latte e yogurt scaduti da GDO, non conformita qualita", "020501"),
        ("Filterstøv fra posefilter på blysmelteværk (batterigenvinding)", "100404"),
        ("Terre da scavo NON pericolose, 85 ton, conferimento a impianto di recupero", "170504"),
        ("Shredder fines / residual fraction ex MRF picking line", "191212"),
        ("Tryckimpregnerat virke från rivning (CCA)", "170204"),
        ("Lackschlamm aus Nassabscheider, lösemittelhaltig", "080113"),
        ("Plumas de matadero avícola, contenedor refrigerado", "020202"),
        ("天然气净化厂硫磺回收装置不合格硫磺", "050702"),
        ("电炉除尘灰，含锌约20%，吨袋", "100207"),  # noqa: RUF001 - as a Chinese export writes it
        ("EAF-Filterstaub Elektrostahlwerk, Zn ca. 28 %, Pb-haltig, Big Bags", "100207"),
    ],
)
def test_rows_of_probe_round_three(text: str, code: str) -> None:
    # d' as a preposition after a content word, ASCII-spelled German compounds read as German,
    # farm plastics, dairy, gas-cleaning dust under its industry, treated wood, paint sludge,
    # feathers, sulphur, zinc and lead as hazards
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ristestof fra indløbsrist, renseanlæg", "190801"),
        ("Rechengut KA Musterstadt, gepresst, Absetzmulde 7 m³, zur MVA", "190801"),
        ("粗格栅栅渣 污水处理厂 压榨后 3吨", "190801"),
        ("沉砂池沉砂 旋流沉砂 5.2吨", "190802"),
        ("垃圾填埋场渗滤液 罐车外运至污水厂 20立方", "1907"),
        ("污泥脱水 板框压滤 含水率60% 市政污水厂 26吨", "1908"),
        ("Förbrukad blekjord från spilloljeraffinering, 4 fat", "191101"),
        ("Bleicherde aus der Speiseölraffination", "0203"),
        ("Odrzuty z rozwłókniania makulatury (folia, zszywki)", "0303"),
        ("Hardingszouten ex warmtebehandeling (zoutbad)", "1103"),
        ("Alcohol isopropilico usado limpieza de stencils linea SMT", "140603"),
        ("NE-Metallkonzentrat aus Wirbelstromscheider Shredderanlage", "19"),
        ("Brake pads (non-asbestos) removed during HGV servicing", "160112"),
    ],
)
def test_rows_of_probe_round_four(text: str, code: str) -> None:
    # screenings and grit in every language, a sewage plant is an origin in Chinese (污水 is no
    # water there), bleaching earth by its refinery, generic rejects under their origin,
    # hardening salts, isopropyl alcohol, a metal concentrate, asbestos named as absent
    assert classify(text).candidates[0].code.startswith(code)


def test_where_a_waste_goes_does_not_find_the_destination_s_entries() -> None:
    # "to cement kiln" names no origin, and its words no longer find cement making (10 13)
    found = classify("SRF bales 1.1t each x 22 to cement kiln, NCV 18 MJ/kg, wrapped")
    assert [c.code for c in found.candidates] == ["191210"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("清洗设备用的废丙酮，约300kg", "140603"),  # noqa: RUF001 - as a Chinese export writes it
        ("破损木托盘", "150103"),
        ("实验室过期废化学试剂", "160506"),
        ("厂房改造拆除的废钢材、钢筋头", "170405"),
        ("Aghi e taglienti da ambulatorio veterinario", "180201"),
        ("kanyler og skalpeller i kanylebokse - bedriftssundhed", "180101"),
        ("Résines échangeuses d'ions saturées - déminéralisation eau chaudière", "190905"),
        ("szlam z cięcia płyt granitowych (nie zawiera subst. niebezp.)", "010413"),
        ("gasolie vervuild met water, tank noodaggregaat", "130701"),
        ("Expired 2K epoxy primer (solvent based) in original tins, 46 kg", "080111"),
    ],
)
def test_rows_of_probe_round_five(text: str, code: str) -> None:
    # solvents, pallets, reagents and demolition in Chinese; sharps carried to a vet's
    # sub-chapter (the list says "sharps (except ...)" in both); demineralisation and stone
    # cutting as origins; gas oil; a solvent-based primer
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Serramenti in alluminio smontati (senza vetro)", "1"),  # frames, no greenhouse (02 01)
        ("Pył aluminiowy ze szlifowania, odciąg stanowisk, big bag", "120104"),
        ("Gully emptyings", "200306"),
        ("Expired reagents lab", "160506"),
        ("Glycol coolant spent", "1601"),
    ],
)
def test_window_frames_grinding_gullies_reagents_and_coolant(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_reverse_osmosis_concentrate_written_out_in_spanish_is_water() -> None:
    text = "Concentrado de ósmosis inversa (rechazo RO), 20 m3/h, conductividad 6 mS/cm"
    assert classify(text).kind is ResourceKind.WATER


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Rejekt Papierfabrik", "030307"),
        ("Rejekt aus Sortieranlage", "191212"),
        ("Sludge from desanding", "190802"),  # the head's own sub-chapter keeps its weight
        ("For recycling: copper cable", "170411"),  # no material before the destination
        ("Zur Verwertung: Kupferkabel", "170411"),
        ("Sludge for land spreading, dairy", "0205"),  # the origin after the clause break
        ("化学品包装袋", "150110"),
        ("塑料托盘", "150102"),
        ("HW13 废离子交换树脂", "190905"),
        ("HW50 废SCR催化剂", "160802"),  # a 名录 category is a hazardous waste
        ("Lösningsmedelsbaserad färg", "080111"),
        ("Haz de cables de cobre", "170411"),  # a Spanish bundle, no hazard
        ("Teli per serre", "020104"),
        ("Stallet, gödsel", "020106"),  # a stable is no steel: only -mm- is undoubled
    ],
)
def test_rows_of_the_second_review(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "not_code"),
    [
        ("CRT screens", "190801"),  # screens are no screenings
        ("Tyvek suits", "040210"),  # suits are no suint
        ("Spruce offcuts", "070213"),  # spruce is no sprue
        ("Beurre non conforme", "040222"),  # butter is no bourre
        ("Material de descarte, plástico", "040101"),
        ("Grigliato elettrosaldato", "190801"),  # a steel grating, no screenings
        ("Wylewki betonowe", "070213"),
        ("Jord fra afgravning", "120199"),
        ("Kanaler af plast", "180101"),
        ("Plats 3: blandat avfall", "120101"),  # a place is no sheet metal
        ("Mastschweine verendet", "020704"),  # a pig is no wine
        ("Disques durs DD serveurs", "160209"),
        ("Latte di vernice vuote", "020501"),  # tins, not milk
        ("Spent primers from ammunition testing", "080112"),
    ],
)
def test_false_friends_of_the_new_vocabulary(text: str, not_code: str) -> None:
    assert not_code not in [c.code for c in classify(text).candidates[:1]]


def test_a_very_long_swedish_word_is_not_read_for_its_article() -> None:
    # the article rule runs after the guard on long words (a 30,000-letter word took 2.5 s)
    assert classify("a" * 300 + "et slam").kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("淘汰CRT显示器及含电池办公设备", "1602"),  # was refused: 电 (electricity) was its head
        ("硫酸装置排出的废稀硫酸 约65% 吨桶装", "060101"),
        ("厂区雨水沟清淤底泥", "1705"),
        ("Yeso rojo TiO2", "061101"),
        ("Mercurio metallico recuperato da manometri e termometri dismessi", "160307"),
        ("Kvicksilverhaltiga knappceller från mätinstrument", "160603"),
        ("Kasseret træbeskyttelsesmiddel, organisk og halogenfrit", "0302"),
        ("Lodos de limpieza de torres de refrigeración - batería de coque", "05"),
    ],
)
def test_the_long_tail_of_the_list(text: str, code: str) -> None:
    # rows drawn at random over all the list's entries: acids by name, red gypsum, metallic
    # mercury, button cells, wood preservatives, a coke oven battery; words beginning with 电
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Biologisch abbaubares Hydrauliköl, Bagger", "130112"),
        ("huile de boîte de vitesses biodégradable", "130207"),
        ("Biodegradable transformer oil, substation 4", "130309"),
    ],
)
def test_a_biodegradable_oil_is_its_sub_chapter_s_readily_biodegradable_entry(
    text: str, code: str
) -> None:
    assert classify(text).candidates[0].code == code


def test_an_oil_not_said_biodegradable_is_not() -> None:
    assert classify("Hydraulic oil, mineral").candidates[0].code != "130112"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Schlacke Gießerei, Messing", "1010"),
        ("Slag from the bronze foundry", "1010"),
        ("Slag, foundry, cast iron", "1009"),
        ("Baghouse dust from the smelter, copper concentrate", "1006"),
        ("Flue dust, smelter, lead bullion", "1004"),
    ],
)
def test_a_metal_named_beside_a_foundry_or_smelter_picks_its_sub_chapter(
    text: str, code: str
) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_a_glassworks_own_effluent_treatment_is_its_solid_waste_entry() -> None:
    # glass says "solid wastes from on-site effluent treatment" (10 11 20), not "sludges"
    assert classify("Boues de la station d'épuration interne, verrerie").candidates[0].code == (
        "101120"
    )


@pytest.mark.parametrize(
    ("text", "not_code"),
    [
        ("Flash dryer residue", "040101"),  # flash is no fleshings
        ("Sel de salage et saumure", "120199"),  # salting is no sand blasting
        ("Tömda och rengjorda stålfat", "170504"),  # cleaned is no soil
        ("Defekte Schalter und Taster", "020301"),  # a switch is no peel (Schale)
    ],
)
def test_plain_words_are_not_corrected_to_a_material(text: str, not_code: str) -> None:
    assert not_code not in [c.code for c in classify(text).candidates[:1]]


def test_symbols_of_metals_vote_for_no_language() -> None:
    # "Pb" is in German terms (Pb-haltig): it made this Italian row German
    assert classify("Fanghi galvanici Cr Ni Pb").language == "it"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Reinigungsmittel Reste, H314", "200129"),
        ("Farbreste H226 H336", "080111"),  # and the codes vote for no language (German)
    ],
)
def test_a_clp_hazard_statement_names_a_hazard(text: str, code: str) -> None:
    found = classify(text)
    assert found.candidates[0].code == code
    assert found.language == "de"


def test_a_word_the_voted_language_knows_is_not_read_as_another_s_utility() -> None:
    # French reads "air" as a gas; in an English row it is the shredder's air separator
    found = classify("ASR light fraction from shredder air separator")
    assert (found.language, found.kind) == ("en", ResourceKind.MATERIAL)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Platinnetze aus der Ammoniakoxidation", "160801"),
        ("Syretjære fra koksværk", "0506"),
        ("Balayures de voirie, secteur nord", "200303"),
        ("Trasiga pallar", "150103"),  # an inflection votes for its language
        ("Bilvrag, miljøbehandlet", "160106"),
        ("Alkaliske batterier fra kontoret", "160604"),
        ("Ontharingsslib looierij", "040102"),
        ("Restos de creosota, postes de madera", "03"),
        ("Kiselgur från ölfiltrering", "02"),
        ("Lodos de la depuradora interna de una fábrica de baldosas", "101213"),
        ("Goudrons acides, régénération des huiles usagées", "191102"),
        ("Acque madri, sintesi fitofarmaci", "0704"),
        ("Pyrolyserückstand aus Altreifen", "1901"),
        ("农药生产母液", "070401"),
        ("废纽扣电池", "1606"),
    ],
)
def test_rows_of_the_random_long_tail(text: str, code: str) -> None:
    # entries drawn at random over the whole list: acid tars, catalyst gauzes, sweepings,
    # pallets, depolluted vehicles, liming, creosote, kieselguhr; a plant's own effluent
    # treatment, oil re-refining, pesticide synthesis as origins; Chinese makers and cells
    assert classify(text).candidates[0].code.startswith(code)


def test_not_hazardous_as_identified_in_chinese_makes_the_harmless_entry() -> None:
    found = classify("园区污水处理厂生化污泥 经鉴别不属危废")
    assert not found.hazardous_hint
    assert not found.candidates[0].hazardous


def test_a_sub_chapter_named_within_a_chapter_named_is_the_origin() -> None:
    # a dye maker (07 03) beside China's category of still bottoms HW11 (chapter 07)
    assert classify("染料生产 精馏釜残 HW11").candidates[0].code == "070308"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Solvent mixture from API production, non-halogenated", "070504"),
        ("Dichlormethan aus der Wirkstoffproduktion", "070503"),
        ("Solvent mixture, paint shop", "140603"),  # no chemical process named: chapter 14
    ],
)
def test_a_solvent_from_an_organic_chemical_process_is_that_process_s_entry(
    text: str, code: str
) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Phosphorschlacke, Halde 2", "060902"),
        ("Flüssiger Ersatzbrennstoff, Tank 3", "190208"),
    ],
)
def test_phosphorus_slag_and_liquid_fuel_blended_from_wastes(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Refractory bricks from the glass furnace rebuild", "1611"),
        ("Silikonkartuschen, ausgehärtet", "080410"),
        ("Regeneriersole aus der Enthärtungsanlage", "190906"),
        ("Zinc phosphate sludge, pretreatment line", "110108"),
        ("Restbeton aus Fahrmischern", "101314"),
        ("Tomme malingsdåser med rester", "150110"),
        ("Chiffons souillés d'huile, atelier", "150202"),
        ("Olieudskillerslam fra vaskehal", "130502"),
        ("Soda caustica esausta, raffineria", "050111"),
        ("Vetroresina, scarti di taglio", "070213"),
        ("Slam från reningsverket, läkemedelstillverkning", "0705"),
        ("Bottom ash, thermische Restabfallbehandlung", "1901"),
        ("MDF offcuts from the CNC router", "0301"),
        ("Rifiuti sanitari ospedalieri, reparto chirurgia", "18"),
        ("Odrzuty produkcyjne płyt betonowych", "101314"),  # production rejects name no pulp
    ],
)
def test_rows_of_the_confidently_wrong_answers(text: str, code: str) -> None:
    # rows the probes had answered wrongly without asking: refractories, sealants, ion
    # exchange regenerant, phosphating, concrete washout, paint tins, rags, separator sludge,
    # spent caustic, GRP; pharma, incineration, CNC wood, hospitals as origins
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Eisenschrott aus der Schlacke der MVA", "190102"),  # ferrous from bottom ash
        ("Leere Spraydosen aus der Werkstatt", "150111"),
        ("Anodenreste aus der Aluminiumelektrolyse", "100302"),
        ("Zunderschlamm ölhaltig, Warmwalzwerk", "100211"),
        ("Pulverlackreste aus der Beschichtungsanlage", "080201"),
        ("Siebsand aus der Bauschuttaufbereitung", "191209"),
        ("Glasurschlamm, Fliesenwerk", "1012"),
        ("Glasschleifschlamm, Floatglas", "1011"),
        ("Spent nickel plating bath", "110198"),
        ("Verbrauchtes Flussmittel, Feuerverzinkerei", "110504"),
        ("Ontvettingsbaden, voorbehandeling", "1101"),
        ("Acido solforico esausto, linea di decapaggio", "110105"),
        ("Boden aus dem Bodenreinigungszentrum, biologisch behandelt", "1913"),
        ("Gewerbemischabfall, Container 10 m³", "200301"),
    ],
)
def test_rows_the_origin_or_a_trade_word_decides(text: str, code: str) -> None:
    # ferrous metal sorted out of slag, empty aerosols, anode butts, scale pit sludge, powder
    # coatings, screen sand, glaze, glass grinding, plating baths, flux; pickling lines,
    # soil treatment centres as origins
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "not_code"),
    [
        ("Poussières de captation", "1909"),  # dust extraction is no water intake (captage)
        ("Colori e vernici di scarto", "0402"),  # colours are no textile dyestuffs
        ("Hydraulic oil, not readily biodegradable", "130112"),
        ("Hydrauliköl, nicht biologisch abbaubar", "130112"),
        ("Aluminium swarf with biodegradable coolant", "120119"),  # swarf is no oil
        ("Hausmüll Kehricht Abfuhr", "200303"),  # Swiss refuse, no street sweepings
        ("Reinigungsmittel H290", "200129"),  # corrosive to metals: no hazardous property
        ("Bouteilles de gaz azote H280", "150110"),  # gas under pressure: likewise
        ("农药包装废物", "0704"),  # pesticide packaging: a product, no pesticide maker
        ("Residuos de taller de carrocería", "160106"),  # a body shop, no car wreck
        ("Trockenlegung Keller Bauschutt", "1601"),  # damp-proofing a cellar
        ("Trasigt glas", "1502"),  # broken (trasig) is no rag (trasa)
    ],
)
def test_false_friends_found_by_the_review_of_the_long_tail(text: str, not_code: str) -> None:
    assert not [c.code for c in classify(text).candidates[:1] if c.code.startswith(not_code)]


@pytest.mark.parametrize(
    ("text", "language"),
    [("Refrigeration oil", "en"), ("Cisterna olio", "it"), ("Trasiga pallar", "sv")],
)
def test_a_stem_votes_only_when_no_word_is_known_as_it_is(text: str, language: str) -> None:
    assert classify(text).language == language


@pytest.mark.parametrize(
    ("text", "not_code"),
    [
        ("Schrott nach Stahlwerk", "1002"),  # where it goes is no origin
        ("Restos de comida hospitalarios", "1801"),  # a hospital's kitchen, no body parts
        ("Spent caustic from degreasing line", "110107"),  # no pickling base
        ("Fundente de soldadura usado", "110504"),  # a welding flux, no galvanising flux
        ("Nickelband Stanzreste", "110198"),  # a nickel strip is no nickel bath
        ("Regenerated cellulose film", "190906"),  # no ion exchange regenerant
    ],
)
def test_false_friends_found_by_the_second_review(text: str, not_code: str) -> None:
    assert not [c.code for c in classify(text).candidates[:1] if c.code.startswith(not_code)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hydraulic oil non toxic biodegradable", "130112"),  # the negation is toxicity's
        ("Schwefelsäure verbraucht, Eloxalanlage", "110106"),  # anodising: not pickling
        ("Acido cloridrico di decapaggio esausto", "110105"),
        ("Altholz aus der Sperrmüllsortierung", "191207"),
    ],
)
def test_rows_the_second_review_kept_right(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Støddæmpere fra bilophugning", "1601"),  # a Danish damper is no steam (damp)
        ("Feuerwerkskörper, Restbestand", "1604"),
        ("废液压油 液压站换油", "1301"),
        ("分选线碎玻璃", "191205"),
    ],
)
def test_rows_of_the_held_out_random_entries(text: str, code: str) -> None:
    # the last random-entry rows, read after they were measured: shock absorbers, fireworks,
    # Chinese hydraulic oil and cullet
    found = classify(text)
    assert found.kind is ResourceKind.MATERIAL
    assert found.candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Aceite mineral usado entregado por particulares, punto limpio", "200126"),
        ("Altöl aus Privathaushalten, Wertstoffhof", "200126"),
        ("Starterbatterie, Recyclinghof", "200133"),
        ("Used engine oil, workshop", "130205"),  # no recycling centre: the oil's own entry
    ],
)
def test_a_recycling_centre_files_a_material_under_its_separately_collected_fraction(
    text: str, code: str
) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # session 17 (2026-12-06): origins and materials of held-out register rows
        ("Fanghi depuratore interno reparto pigmenti organici (metalli pesanti)", "0703"),
        ("Förbrukade lösningsmedel (aceton/etanol), finkemikalieproduktion", "0707"),
        ("Solvants chlorés usagés, atelier polymérisation", "070203"),
        ("Brugte tonerpatroner, kontor", "0803"),
        ("Zużyte baterie rtęciowe guzikowe", "160603"),
        ("Kalkslam fra afhærdning, vandværk", "190903"),
        ("Flotationsafgang m. tungmetaller (sulfidmalm)", "0103"),
        ("Diaframmi in amianto esausti celle elettrolisi cloro-soda", "060701"),
        ("Verglasungsprodukt aus Plasmaverglasungsanlage", "190401"),
        ("Clorato di sodio scaduto da magazzino", "160904"),
        ("机加工车间尼龙塑料车削屑", "120105"),
        ("炭黑装置废炭黑 袋装", "0613"),
        # a Romance foundry beside a non-ferrous metal is its smelter
        ("Lodos depuración agua refrigeración - fundición de zinc", "1005"),
        ("Sables de fonderie usagés", "1009"),
        # "pvc-fabrik" made "fabrik" a word: this compound lost its "kemikaliefabrik"
        ("Tvättaceton från reaktorrengöring, baskemikaliefabrik", "07"),
        # session 17 (2026-12-06), second batch
        ("Spild af glasmængde m. blyoxid fra mængdehus, glasværk", "1011"),
        ("Affald fra appretering/efterbehandling, tekstilfarveri", "040215"),
        ("Crasses noires four rotatif, affinage alu 2e fusion", "100309"),
        ("Fanghi di inchiostro con solventi, tipografia", "080314"),
        ("Binderreste Phenolharz, Kernmacherei NE-Gießerei", "1010"),
        ("Filterstaub Kupolofen", "1009"),
        ("Filterkuchen RGR Glaswanne, bleihaltig", "1011"),
        ("废液态催化剂 HW50 化工车间", "160806"),
        ("Hydraulic oil HEES, excavators", "130112"),  # ISO 15380: readily biodegradable
        ("Escorias negras de horno eléctrico", "1002"),  # black slag is steel's, not dross
        ("Ölabscheiderinhalt", "1305"),  # a phrase's compound must not stop its split
        # session 17 (2026-12-06), third batch
        ("Olieholdigt bilgevand fra kajkloak, havneterminal", "1304"),
        ("Hydrogen peroxyde 35%, out of date, lab stores", "160903"),
        ("Residus chlorosilanes unite silicones, fûts 200 l", "060802"),
        ("Osad z zakładowej oczyszczalni ścieków, wytwórnia PVC", "0702"),
        ("Lodos EDAR propia, fábrica de fitosanitarios", "0704"),
        ("Waschschlamm Kieswaschanlage", "0104"),
        ("Vandbaseret malingslam fra lakering", "0801"),
        ("Terra e sassi da manutenzione parchi e giardini", "2002"),
        ("果汁加工厂污水站污泥", "0203"),
        ("废柴油 HW08 900-249-08", "130701"),
        # session 17 (2026-12-06), fourth batch: oils told apart by what the text says of them
        ("Synthetic gear oil (PAO) drained from wind turbine gearboxes", "130206"),
        ("Gechloreerde minerale isolatieolie uit oude trafo", "130306"),
        ("Przepracowany olej hydrauliczny mineralny chlorowany, beczki", "130109"),
        ("Kolbaserad infodring elektrolysceller (SPL), farligt", "161101"),
        ("再生铝黑渣 HW48", "100309"),
        # session 17 (2026-12-06), fifth batch
        ("Honschlamm ölhaltig, Honmaschine Halle 2", "120118"),
        ("Slam fra eget renseanlæg, farvestoffabrik, farligt", "070311"),
        ("Filterkuchen Abwasserbehandlung Glasfabrik (bleihaltig)", "1011"),
        ("Ammoniakwasser Restmenge, gefährlich, 1 IBC", "060203"),
        ("Soufre hors spéc., unité de désulfuration du gaz naturel", "050702"),
        ("Lodo depuradora propia tintoreria (colorantes + cromo)", "0402"),
        ("废机油滤芯 HW08", "160107"),
        ("Coloranti e pigmenti scaduti, tintoria tessile, fusti", "04"),  # dyes, not their maker
        # session 17 (2026-12-06), sixth batch
        ("Biologisk nedbrydelig gearolie", "130207"),  # said biodegradable: that entry leads
        ("Tejas y ladrillos cocidos rotos (rechazo de horno), fábrica cerámica", "101208"),
        ("Afgekeurde oefenmunitie schietvereniging", "160401"),
        ("Asfaltsfräs tjärfri, vägarbete", "170302"),
        ("Morchie di verniciatura a solvente, fusti", "0801"),
        ("Bariumsulfatslam m. kviksølv, klor-alkali anlæg, farligt", "060703"),
        ("废制动液 汽修车间 200L桶", "160113"),
    ],
)
def test_vocabulary_of_session_17(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # session 18 (2026-12-06): aqueous liquid wastes, and where an origin's entry fits
        ("Wässrige Abfälle, IBC", "161002"),
        ("Wässrige Abfälle aus der Lackiererei", "0801"),  # the paint shop's own aqueous entry
        ("Residuos acuosos de la cabina de pintura", "0801"),
        ("Empty drums w/ paint residues", "150110"),  # w/ is with: the drums are the row
        ("Insulation w/o asbestos", "170604"),  # w/o is without
        ("大件垃圾 旧沙发", "200307"),
        ("铝熔炼浮渣 危险废物", "100315"),
        ("铅浮渣", "100402"),
        ("渗透剂废空罐", "150104"),  # the can, not what was in it
        ("废水性漆 铁桶装", "0801"),  # water-based paint, not 废水 (waste water) + 性漆
        ("Filterkoek, kunststofproductie", "0702"),
        ("WWTP sludge, fine chem plant", "0707"),
        ("Panelli di filtrazione fumi, alluminio secondario", "1003"),
        ("Krätze aus der Bleiraffination, gefährlich", "100402"),
        ("磷化线磷化渣", "1101"),
        ("废漆渣 不含有害物质", "080114"),  # says it holds none: not 有害, hazardous
        ("废漆渣 无有害成分", "080114"),
        ("水性漆 含溶剂 废液", "080111"),  # a solvent content makes the paint hazardous
        ("Farbschlamm, Spritzkabine", "0801"),  # Farb- is Farbe: paint, not sewage sludge
        ("ceneri di zinco, zincatura a caldo", "110502"),
        ("Moderlud fra finkemisk produktion", "0707"),
        ("Slaktavfall från slakteri", "020202"),
    ],
)
def test_vocabulary_of_session_18(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    "text",
    [
        "Koncentraty wodne, substancje niebezpieczne",
        "Vandigt affald, IBC",
        "rifiuti acquosi",
        "Wässrige Abfälle",
        "waterig afval",
    ],
)
def test_aqueous_wastes_are_materials_not_water(text: str) -> None:
    assert classify(text).kind is ResourceKind.MATERIAL


def test_scum_is_not_a_smelters_dross() -> None:
    # 浮渣 is dross at a smelter and scum at a flotation unit or a grease trap
    assert not any(c.code.startswith("10") for c in classify("气浮浮渣").candidates)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Kaliumpermanganat Restbestand, abgelaufen, Eimer 25 kg", "160901"),
        ("permanganato potásico caducado", "160901"),
        ("废高锰酸钾 过期 桶装", "160901"),
        ("Drankkartons afkeur afvullijn, perscontainer", "150105"),
        ("Brugte jutesække fra råvarer, baller", "150109"),
        ("sacchi di juta usati", "150109"),
        ("废镍镉电池 应急照明更换", "160602"),
        ("混合包装废物 压缩箱", "150106"),
        ("Slag from silver refinery furnace, drums", "1007"),
        ("Sulphuric acid from a nickel refinery", "060101"),  # not a petroleum refinery's acid
        ("Reinigungsmittelreste ätzend, Kanister 10 l", "200129"),  # corrosive: the hazardous twin
        ("Reinigungsmittelreste GHS05, Kanister 10 l", "200129"),  # the corrosion pictogram
        ("Triossido di arsenico, residui, fusti", "060403"),
        ("Förbrukad sulfaminsyralösning från avkalkning, fat 200 l", "060106"),
        ("钛白粉中和工序钛石膏", "061101"),
        ("Jord og sten fra pleje af grønne områder, container", "200202"),
        ("Cartón de embalaje compactado en balas", "150101"),
        ("Residui spazzamento strade, cassone", "200303"),
        ("Spent FCC e-cat from cat cracker, hopper trucks", "160804"),
        ("Used hydraulic oil, 205L drums", "130110"),
        ("Jernstøv fra slibning, udsugning", "120102"),
        ("水泥窑灰 除尘器收集", "101306"),
        ("Trasigt planglas fönsterbyte", "170202"),
        ("Grease trap contents, tankered", "190809"),  # not edible oil collected apart
        ("Gasflessen met onbekende restinhoud, laboratorium", "1605"),  # not glass bottles
        ("Seam sealer waste from body shop, skips", "080410"),
        ("Liquidi penetranti esausti controllo cricche, fustini", "1009"),
        ("Udtjente SCR-katalysatorelementer (DeNOx)", "1608"),
    ],
)
def test_vocabulary_of_session_19(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Bituminous mixtures without coal tar", "170302"),
        ("Asphalt free of coal tar, road milling", "170302"),
        ("asphalt not containing coal tar", "170302"),
        ("Soil not containing dangerous substances", "170504"),
        ("paint sludge not containing solvents", "080114"),
        ("Gleba nie zawierająca substancji niebezpiecznych", "170504"),
        ("Jord som inte innehåller farliga ämnen", "170504"),
        ("Absorbents not contaminated with oil", "150203"),
    ],
)
def test_a_negated_content_and_a_modified_term_are_absent(text: str, code: str) -> None:
    answer = classify(text)
    assert not answer.hazardous_hint
    assert answer.candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    ["Soil contaminated with oil", "paint sludge containing solvents", "Farbreste, giftig"],
)
def test_a_content_not_negated_stays_a_hazard(text: str) -> None:
    assert classify(text).hazardous_hint


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Dampfüberschuss 12 t/h", ResourceKind.STEAM),
        ("Prozessdampfüberschuss", ResourceKind.STEAM),  # three words in one
        ("Wärmeüberschuss Ofen 3", ResourceKind.HEAT),
        ("stoomoverschot", ResourceKind.STEAM),
        ("Dampoverskud 4 bar", ResourceKind.STEAM),
        ("Ångöverskott", ResourceKind.STEAM),
        ("Kühlwasser", ResourceKind.WATER),
    ],
)
def test_a_word_of_surplus_ends_a_compound_naming_the_resource(
    text: str, kind: ResourceKind
) -> None:
    assert classify(text).kind is kind


def test_a_utility_in_a_compound_s_first_part_is_not_what_the_row_is() -> None:
    # water-based says what the glue sludge is made with, as the sludge is the row
    assert classify("Lijmslib waterbasis, spoelwater lijmmachine").kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    ("lang", "word", "tokens"),
    [
        ("de", "prozessdampf", ("prozess", "dampf")),  # both s of Prozess kept
        ("de", "gichtgasschlamm", ("gichtgas", "schlamm")),  # and Gichtgas's s
        ("de", "teilereinigungsanlage", ("teil", "reinig", "anlag")),
        ("sv", "underjordsgruva", ("underjord", "gruv")),  # no "und|jord"
    ],
)
def test_compounds_split_where_their_words_are_known(
    lang: str, word: str, tokens: tuple[str, ...]
) -> None:
    assert word_tokens(lang, word) == tokens


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Grunt z wykopu skażony ropopochodnymi (stara stacja paliw)", "1705"),
        ("Pipe lagging asbesthoudend, removed from boiler house", "1706"),
        ("Kasserat tegel fel-bränt, tegelbruket", "1012"),  # a brickworks' bricks are its own
    ],
)
def test_soil_and_insulation_are_filed_by_material_whatever_the_site(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # false friends a review of session 17's words found
        ("Bauschutt Wertstoffhof", "170107"),  # rubble is no municipal fraction
        ("Styropor Wertstoffhof", "150102"),  # packaging stays packaging
        ("Kanister mit Altölresten Wertstoffhof", "150110"),  # the canister, not its oil
        ("Poussières de fonderie", "1009"),  # no metal named: a foundry
        ("Fonderie de laiton poussières", "1010"),  # brass is cast, not smelted
        ("houten kozijnen met dubbele verglazing", "1702"),  # glazing, not vitrification
        ("chipfabriek zuurafval", "0601"),  # a chip fab makes no crisps
        ("每日化验废液", "160506"),  # 每日 化验, no 日化 (daily chemicals)
        ("UV-Polymerisation Lackreste", "0801"),  # curing paint, not a polymer plant
        ("transformation laitière, lactosérum", "02"),  # no transformer (transformateur)
        ("Wertstoffhof, Altöl", "200126"),  # the place first: its fraction all the same
        ("punto limpio, baterías de plomo", "200133"),
        ("recycling centre, paint tins", "20"),  # the tins' paint is no oil, their tin no metal
        ("transformadores eléctricos usados", "1602"),  # the phrase, not transformación
        ("traitement de l'amiante, déchets amiantés", "1706"),  # asbestos removal, not processing
        ("Residuos de desbaste EDAR", "190801"),
    ],
)
def test_session_17_words_keep_to_their_meaning(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_a_compound_s_first_part_naming_no_resource_is_no_head() -> None:
    # "wervel|stroom|scheider": an eddy current separator, not electricity
    found = classify("Non-ferro fractie wervelstroomscheider sorteerinstallatie")
    assert found.candidates[0].code == "191203"


def test_water_purification_beside_an_industry_is_its_own_effluent_treatment() -> None:
    # "waterzuivering" names 19 08 and 19 09; beside a sugar factory, neither is the origin
    codes = [c.code for c in classify("Slib eigen waterzuivering suikerfabriek").candidates]
    assert "020403" in codes[:2]
    assert not any(c.startswith("1909") for c in codes)


@pytest.mark.parametrize("text", ["stroomoverschot windpark", "Stromüberschuss BHKW"])
def test_electricity_before_a_word_of_surplus_is_still_refused(text: str) -> None:
    with pytest.raises(ClassificationError):
        classify(text)


def test_a_dutch_dry_cleaner_is_no_steam() -> None:
    # "stomerij" stems to "stoom" (steam): a plain word, read as itself in terms and texts
    assert classify("Afgewerkt PER stomerij").kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ohne Deckel Stahlfässer", "150104"),  # the lid is absent, not the drums
        ("Without rim tyres", "160103"),
        ("Sans clous palettes bois", "150103"),
        ("Blik met niet uitgeharde verf", "080112"),  # "with" and a negated participle
        ("Solidified waste, non-hazardous", "190307"),  # the harmless twin first
    ],
)
def test_an_absence_takes_no_material_it_does_not_name(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "Cleaning agent, not corrosive",
        "Rengøringsmiddel, ikke ætsende",
        "Rengöringsmedel, icke frätande",
        "Farby nie toksyczne",
        "无腐蚀性废液",
        "耐腐蚀性塑料",
        "Anti-corrosive paint residues",
        "Nettoyant sans pictogramme GHS05",  # a hazard term after an absent word
    ],
)
def test_a_hazard_word_negated_or_resisted_is_no_hazard(text: str) -> None:
    assert not classify(text).hazardous_hint


def test_a_pictogram_code_votes_for_no_language() -> None:
    answer = classify("Verf GHS02 GHS07")
    assert answer.language == "nl"
    assert answer.hazardous_hint
    assert answer.candidates[0].code == "080111"


@pytest.mark.parametrize(
    ("lang", "word", "parts"),
    [
        ("de", "asbestreste", ("asb", "rest")),  # not "asbes|treste", which stems the same
        ("de", "laborchemikalienreste", ("labor", "chemikalienr")),  # "labor" is a word
    ],
)
def test_a_compound_splits_after_a_word_as_written(
    lang: str, word: str, parts: tuple[str, ...]
) -> None:
    assert word_tokens(lang, word) == parts


@pytest.mark.parametrize("text", ["Asbestreste staubdicht verpackt", "Asbest, verpakt in big bags"])
def test_packed_is_no_packaging(text: str) -> None:
    answer = classify(text)
    assert answer.hazardous_hint
    assert answer.candidates[0].code == "170605"


@pytest.mark.parametrize(
    "text",
    [
        "Vetafscheider inhoud bedrijfsrestaurant, zuigwagen",
        "Fettavskiljarslam från personalrestaurang, slamsugning",
        "Fettabscheiderinhalt Kantine, Speisefette, Saugwagen",
        "Schlamm aus Fettabscheider Kantine",  # a sludge named first
        "Boues de séparateur à graisses restaurant",
    ],
)
def test_a_grease_trap_holds_its_own_entry_wherever_it_is(text: str) -> None:
    # a canteen is a municipal origin, and its grease trap still 19 08 09 (not 20 01 25)
    assert classify(text).candidates[0].code == "190809"


def test_frying_oil_from_a_canteen_stays_edible_oil() -> None:
    assert classify("Frityrolja från personalrestaurang").candidates[0].code == "200125"
    # a word that also names 19 08 09 (grease, fat: 12 01 12 first) keeps its origin's entry
    assert classify("Grasso da macellazione avicola").candidates[0].code.startswith("02")


def test_a_drum_of_thinner_is_packaging_and_a_binder_not_always_a_foundrys() -> None:
    assert classify("稀释剂桶").candidates[0].code == "150110"
    assert not any(c.code.startswith("10") for c in classify("Legante bituminoso").candidates)


def test_a_listed_hazardous_waste_is_no_water() -> None:
    answer = classify("镀镍线漂洗废水 HW17")  # rinse water of a plating line, category HW17
    assert answer.kind is ResourceKind.MATERIAL
    assert answer.hazardous_hint
    assert classify("镀镍线漂洗废水").kind is ResourceKind.WATER  # without it, waste water


@pytest.mark.parametrize(
    "text",
    [
        "Spülwasser chromathaltig aus Passivierung, IBC",  # a container
        "Agua de lavado de la lavadora de piezas (desengrase acuoso), IBC 1000 l",
        "Acque di lavaggio galvanica con Cr VI, cisternette 1 m3, 15 m3/mese",
        "Presswasser aus Vergärung von Speiseresten und Schlachtabfällen, Tankwagen",  # a tanker
        "Tankrensevand 30 m3, afhentes med slamsuger",
        "Zanieczyszczona woda podziemna z remediacji terenu, zawiera BTEX, cysterna",
        "ENGINE PLANT 2; spent coolant (water soluble, no Cl); 15 m3; tank truck monthly",
        "Mutterlauge Methanol/Wasser aus Kristallisation | AVV 070504* | Tankwagen 20 m³",  # a code
        "Wash water from paint booth, H412, 200 l drums",
        "Tankreinigingswater 30 m3, afvoer met zuigwagen",
        "Wody popłuczne CIP, pH 12, H314, w mauzerach",  # a drum the lexicon does not list
        "Aguas de enjuague con cromo de pasivado, GRG, 2 t/mes",
        "Agua de limpieza de depósitos, retirada con cuba, 10 m3",
        "Beizspülwasser | 25 m³/Woche | Tankfahrzeug | AVV 110105*",  # an export's columns
        "Wash water, not treated, in IBCs",
        "Eaux de rinçage chromatées, ligne de traitement de surface, GRV 1000 L",  # plating
        "Boiler cleaning water (acid), after chemical clean, 40 m3, road tanker",
        "Woda popłuczna z chromowania, mauzer 1000 l",
        "Glykolholdigt vand, køleanlæg tømt, tankbil",  # glycol drained from a chiller
        "未达标清洗废水，吨桶装",  # noqa: RUF001 - fails the limit: not treated
        "Rinse water; plant's own tanker",
        "Water from oil interceptor, emptied by vacuum tanker",
        "CIP 清洗碱性废水，pH 12，H314，吨桶",  # noqa: RUF001
        "刨花板 施胶系统清洗废水（含脲醛胶），IBC吨桶，约 60 吨/年",  # noqa: RUF001
        # session 25: said to be disposed of, no container named
        "Ölhaltiges Abwasser zur Entsorgung",
        "Oily wastewater for disposal",
        "eaux de lavage huileuses à éliminer",
        "olieholdigt spildevand til bortskaffelse",
        "隔油池含油废水 委托处置",
    ],
)
def test_a_water_collected_as_a_waste_is_a_material(text: str) -> None:
    # a neighbour's water comes through a pipe: a spent one (wash, rinse, waste water, a
    # mother liquor) in containers or tankers, or with its waste code, is a liquid waste
    answer = classify(text)
    assert answer.kind is ResourceKind.MATERIAL
    assert not any(c.code.startswith("1501") for c in answer.candidates[:1])  # not the IBC


@pytest.mark.parametrize(
    "text",
    [
        "Continuous boiler blowdown B-1/B-2, 6 m3/h @ 60 bar, to flash drum, recovered for make-up",
        "Overschot koelwater (open circuit) / condensaat, ca. 25 m³/h, 22 °C, zacht water",
        "Acqua piovana dalla cisterna, 20 m3",  # a cistern, not a road tanker
        "Abwärme Kühlwasser Kälteanlage 30-35°C für Wärmepumpe",
        "Spülwasser chromathaltig aus Passivierung",
        # found by a review: a clean or treated water in a tanker or a container, a building
        # or a heat pump named like a hazard mark, equipment named like a container
        "Demineralised water 15 m3/h available to park network, by road tanker if needed",
        "Demineralised water in IBCs for laboratory reuse, 5 m3/month",
        "Gereinigtes Abwasser zur Bewässerung, Abholung mit Tankwagen durch Landwirte",
        "Cooling water from building H201, 80 m3/h, 25 °C",
        "Kühlwasser 40 m³/h, Anlagennummer 19 09 02, Rücklauf 30 °C",
        "Heat pump HP3 output 400 kW at 65 °C available to district network",
        "Waste heat from drum dryer exhaust, 1.2 MW at 140 °C",
        "Process water from rotary drum filter, 40 m³/h, low solids, suitable for reuse",
        "中水可用罐车外运，用于绿化和道路洒水",  # noqa: RUF001
        # a second review: what is washed, a pipe or reuse, a pump's tag, the site's other
        # wastes, a treated water in other words, a flow per hour
        "Rinse water from bottle washer, 10 m3/d, reused in crate washer",
        "Wash water from drum filter, 20 m3/d, piped to neighbour",
        "Waschwasser aus Tankwagen-Reinigung, Rohrleitung zur Nachbar-ARA, 10 m³/d",
        "Spent cooling water 120 m3/h, 32 °C, returned via pipe; pump P-HP5 on line",
        "Rinse water 8 m3/d to the neighbour; we also dispose 15 01 10* packaging",
        "Geklärtes Abwasser, Tankwagen für Straßenreinigung",
        "Spent cooling water, 90 m3/h; drum cooler",
        "罐车清洗废水，15吨/天，管道排入园区污水厂",  # noqa: RUF001
        # a third: an offer said by the water's quality or use, clarified, a flow per hour
        "Eaux de lavage des légumes, propres, pour irrigation, enlèvement par camion citerne",
        "Bottle rinse water, potable quality, can be collected in 1000 l IBCs",
        "Sand washing water, clarified and recirculated, surplus by bowser",
        "Spoelwater laatste spoelbad (demi-kwaliteit), 6 m3/u, IBC voor monsters",
        # a code review: the water's own column, what was washed, a sludge's code
        "Process water | cleaning station | tote",
        "Rinse water (from IBC cleaning)",
        "Process waste water; WWTP sludge EWC 19 08 05 handled separately",
        "Treated wastewater, no disposal needed, to irrigation",
        "Waste water to disposal via sewer pipe 20 m3/h",
        "Waste water, not for disposal",  # denied
        "Abwasser, keine Entsorgung nötig",
        "Rinse water; sludge for disposal",  # the sludge is disposed of
    ],
)
def test_a_water_offered_stays_water(text: str) -> None:
    assert classify(text).kind in {ResourceKind.WATER, ResourceKind.HEAT}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Asbesthoudende golfplaten dak loods, verpakt", "170605"),  # a shed, not lead
        ("Toner e cartucce esauste stampanti uffici", "080318"),
        ("Gipsskivor spill nybyggnation", "170802"),
        ("Brugte filterposer fra støvfilter", "150203"),
        ("Film retractil PE de palets", "150102"),
        ("喷漆房废过滤棉 含漆 HW49", "150202"),
        ("Office waste paper incl. confidential shredding, 1100l bins", "200101"),
        ("Leergebinde m. Farbresten", "150110"),
        ("Kable miedziane z demontażu instalacji elektrycznej", "170411"),  # no car
        ("Ziehemulsion verbraucht aus Drahtzug", "120109"),
        ("Kapotte pallets en kistenhout, container", "150103"),
        ("Slibepapir og slibeskiver, brugte", "120121"),
        ("Fired brick rejects from kiln unloading", "101208"),
        ("32%液碱不合格品 槽车", "060204"),
    ],
)
def test_vocabulary_of_session_19_common_flows(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


_ABSENCE_WORDS = [
    "not",
    "no",
    "without",
    "containing",
    "contains",
    "with",
    "free",
    "of",
    "coal",
    "tar",
    "asbestos",
    "corrosive",
    "ghs05",
    "nicht",
    "enthält",
    "ohne",
    "Öl",
    "ikke",
    "indeholder",
    "olie",
    "icke",
    "frätande",
    "inte",
    "innehåller",
    "non",
    "contenente",
    "nie",
    "zawierająca",
    "sans",
    "souillées",
    "par",
    "des",
    "huiles",
    "HW17",
    "废水",
    "无腐蚀性",
    "腐蚀性",
    ",",
    ":",
    "-",
    "12",
    "t/a",
    "Fettabscheider",
    "Kantine",
    "Asbestreste",
    "verpackt",
    "loods",
    "sludge",
    "drums",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ABSENCE_WORDS), min_size=1, max_size=9))
def test_words_of_absence_in_any_order_give_an_answer_or_a_classification_error(
    words: list[str],
) -> None:
    # negations, contents and hazards at the ends of a text, doubled or alone
    try:
        result = classify(" ".join(words), top=3)
    except ClassificationError:
        return
    assert isinstance(result, Classification)
    assert all(c.code.isdigit() and len(c.code) == 6 for c in result.candidates)


# --- session 20: residues in packaging, empty containers, catalysts' metals ----------------


@pytest.mark.parametrize(
    "text",
    [
        "empty drums with paint residues",
        "Leere Fässer mit Restanhaftungen von Lacken",
        "fusti vuoti con residui di vernice",
        "lege vaten met restanten olie",
        "puste beczki z resztkami farby",
        "tomma fat med rester av lösningsmedel",
        "fûts vides avec résidus de solvants",
        "envases vacíos con restos de pintura",
        "tomme dunke med rester af maling",
        "IBC mit Resten von Natronlauge",
        "IBC with residues of caustic soda",
        "Lege IBC's fosforzuur (degumming), raffinaderij",  # emptied: it held the acid
        "leere Kanister Salzsäure",
        "empty drums of caustic soda",
    ],
)
def test_packaging_holding_residues_of_a_hazardous_material_is_15_01_10(text: str) -> None:
    result = classify(text)
    assert result.candidates[0].code == "150110"
    assert result.hazardous_hint


@pytest.mark.parametrize(
    ("text", "chapter"),
    [
        ("big bags with cement residues", "15"),  # cement has no hazardous entry
        ("wood with paint residues", "17"),  # no packaging: painted wood
        ("paint residues", "08"),  # the residue is the waste
        ("Fässer ohne Restanhaftungen von Lacken", "08"),  # residues said absent
        ("fusti senza residui di vernice", "15"),
        ("bidons sans restes de peinture", "08"),
        ("envases sin restos de pintura", "15"),
        ("restes de bois, palettes", "03"),  # leftovers of wood, no chemical
        ("Glas Reste, Flaschen", "15"),  # glass as bottles: glass packaging, no hazard
        ("Paletten, Holz Reste", "15"),
        ("plastic residues, packaging film", "07"),  # a plastic's twin is the packaging's
        ("big bags with fly ash residues", "10"),
        ("hot melt residues from packaging line", "08"),  # a line, not what held it: the glue
        ("Restes de colle, ligne d'emballage", "08"),
        ("Empty pallets from acid store", "06"),  # a store named after the pallets
        ("Paint residues, packaging department", "08"),
    ],
)
def test_a_residue_makes_no_hazard_without_packaging_or_a_hazardous_material(
    text: str, chapter: str
) -> None:
    result = classify(text)
    assert result.candidates[0].chapter == chapter
    assert result.candidates[0].code != "150110"
    assert not result.hazardous_hint


@pytest.mark.parametrize(
    "text",
    ["puste beczki", "fusti vuoti", "bidones vacíos", "tomma fat", "lege vaten", "fûts vides"],
)
def test_an_empty_container_is_its_packaging(text: str) -> None:
    assert classify(text).candidates[0].code == "150104"


@pytest.mark.parametrize(
    ("text", "code"),
    [("puste aerozole", "150111"), ("leere Farbdosen", "150110"), ("empty paint tins", "150110")],
)
def test_terms_beginning_with_a_word_of_emptiness_are_still_found(text: str, code: str) -> None:
    result = classify(text)
    assert result.candidates[0].code == code
    assert result.candidates[0].confidence >= 0.85  # the term is the head, not a modifier


@pytest.mark.parametrize(
    "text", ["empty aerosol cans", "leere Spraydosen", "puste aerozole", "tomma sprayburkar"]
)
def test_empty_pressure_containers_keep_their_hazard(text: str) -> None:
    result = classify(text)
    assert result.candidates[0].code == "150111"
    assert result.hazardous_hint


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("residuos, bidones", "150104"),  # a word of no entry: its container, for review
        ("Abfall, Kanister", "150104"),
        ("Wässrige Abfälle, IBC", "161002"),  # what the words find comes before
    ],
)
def test_a_container_after_a_head_of_no_entry_is_a_fallback(text: str, code: str) -> None:
    result = classify(text)
    assert result.candidates[0].code == code
    assert result.needs_review


@pytest.mark.parametrize("text", ["IBC leer", "IBC vides", "lege IBC's", "tomme IBC", "IBC vuoti"])
def test_an_ibc_is_packaging_in_every_language(text: str) -> None:
    assert classify(text).candidates[0].sub_chapter == "1501"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Catalyseur Pd hydrogenation acetylene use 3,1 t", "160801"),
        ("Pd catalyst", "160801"),
        ("废钯碳催化剂\uff08Pd/C\uff0c氢化工序\uff09\uff0c密封桶", "160801"),
        ("spent nickel catalyst", "160802"),
        ("spent CoMo catalyst", "160802"),
        ("SCR catalyst elements, V2O5", "160802"),
        ("废镍催化剂", "160802"),
        ("spent catalyst", "160803"),  # no metal named: the head's own first entry
        ("catalizador agotado, tal como sale", "160803"),  # Spanish como is a word
        ("FCC catalyst", "160804"),
        ("FCC catalyst fines with nickel", "160804"),  # its own entry
        ("katalizator niklowy zużyty", "160802"),
        ("HDS catalyst", "160802"),  # hydrotreating: NiMo, CoMo
        ("Spent hydrotreating catalyst Co/Mo/W/Ni", "160802"),
        ("catalyst without nickel", "160803"),  # a metal said absent
        ("nickel-free catalyst", "160803"),
        ("Katalysator ohne Chrom", "160803"),
        ("\u65e0\u94ec\u50ac\u5316\u5242", "160803"),  # 无铬催化剂: chromium-free
        ("catalizador agotado, ni ácido ni base", "160803"),  # Spanish ni: nor
        ("spent catalyst, Smith & Co", "160803"),  # no symbol that is a common word
        ("spent catalyst, rod shaped", "160803"),
    ],
)
def test_a_catalyst_s_metal_tells_its_entry(text: str, code: str) -> None:
    result = classify(text)
    assert result.candidates[0].code == code
    assert result.hazardous_hint is (code == "160802")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("huiles de fond de cale, citerne", "130403"),
        ("kromgarvevæske, tank", "040104"),
        ("Afgewerkte tandwielolie, vaten", "130205"),
        ("Getriebeöl gebraucht", "130205"),
        ("Kupferätze ammoniakalisch, IBC", "110107"),
        ("mozziconi elettrodi, cassone", "120113"),
        ("Kronkorken, Mulde", "150104"),
        ("teli filtranti esausti", "150203"),
        ("tamiz molecular agotado", "070110"),
        ("saturationsslam fra saftrensning", "020402"),
        ("岩棉", "170604"),
        ("日光灯管", "200121"),
        ("碎玻璃瓶\uff08啤酒瓶\uff09", "150107"),
    ],
)
def test_vocabulary_of_session_20_plant_lists(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Abwärme Rauchgas nach ECO Kessel 3, ca. 140 °C, 2,3 MW", ResourceKind.HEAT),
        ("Restwarmte rookgas WKK, 120 °C, ca. 1,5 MW", ResourceKind.HEAT),
        ("Rauchgas 120 °C 50.000 Nm3/h", ResourceKind.GAS),  # no heat named: the gas
        ("heat treatment furnace exhaust gas, 30,000 Nm3/h", ResourceKind.GAS),  # its unit
        ("Warm retourwater koelcircuit 40°C, 25.000 GJ/jr", ResourceKind.HEAT),  # in energy
        ("Retour condensats atelier 2, 8 m3/h, 85 °C", ResourceKind.WATER),
        ("Kondensatrücklauf, 6 m³/h", ResourceKind.WATER),
        ("Kond.-Rücklauf Trocknerei, 6 m³/h, 90 °C", ResourceKind.WATER),
        ("Kylvattenretur 25 grader, 300 m3/h", ResourceKind.WATER),
        ("Permeado de osmosis inversa, 25 m3/h", ResourceKind.WATER),
        ("Purges de déconcentration, 20 m3/h", ResourceKind.WATER),
        ("Revaporizado de purgas caldera (flash), 0,8 t/h", ResourceKind.STEAM),
        ("flashånga 2 bar", ResourceKind.STEAM),
        ("Oily compressor condensate, 200 L drums", ResourceKind.MATERIAL),
    ],
)
def test_utilities_as_plants_name_them(text: str, kind: ResourceKind) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Rejeskaller fra pillemaskiner, rejepilleri", "020202"),
        ("Carne scaduta / resi da clienti, cat. 3", "020203"),
        ("Os et dechets de decoupe cat. 3", "020202"),
        ("Graugussspäne (GJL) Kurbelgehäusefertigung", "120101"),
        ("Kompressorolie fra NH3 køleanlæg", "130205"),
        ("Smältlimsrester (hotmelt) från bokbinderi", "080410"),
        ("Metales no férreos (aluminio) del separador de corrientes de Foucault", "191203"),
        ("Ferro da deferrizzazione legno post-consumo", "191202"),
        ("Zwart-witontwikkelaar op waterbasis", "090101"),
        ("CTP-Entwickler verbraucht", "090102"),
        ("虾壳", "020202"),
    ],
)
def test_vocabulary_of_session_20_third_batch(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Waste oil, 1000 l IBC", "130205"),  # a term after a word no filler is no head
        ("residual oil, IBC", "130701"),
        ("Chapas de acero, recortes", "170405"),  # steel sheets, not bottle caps
        ("Potatoes and vegetables, canteen waste", "200108"),
    ],
)
def test_session_20_words_keep_to_their_meaning(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Altes Trafo-Öl, 200l Fass", "130307"),  # the oil, not the transformer
        ("ethylene glycol coolant spent, IBC 1000 l", "160114"),
        ("propylene glycol coolant spent", "160115"),
    ],
)
def test_oils_and_coolants_named_with_their_equipment(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_transformer_s_cooling_water_is_water() -> None:
    assert classify("Kühlwasser Trafo 10 m3/h").kind is ResourceKind.WATER


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Feuerlöscher Pulver ABC 6kg abgelaufen, 14 Stk", "160505"),
        ("Brandslukkere udløbet, 10 stk", "160505"),
        ("Hydraulikoel mineral. (HLP46) Altöl, 200l Fass", "130110"),  # not a fertiliser
        ("Hydraulolja, mineralisk, från pressens hydraulsystem", "130110"),
        ("Frostschutz Ethylenglykol aus Kälteanlage abgel., IBC 1000l", "160114"),
        ("Glikol propylenowy z instalacji chłodniczej", "160115"),
        ("ölverschm. Putzlappen u. Bindemittel, 200l Deckelfass", "150202"),
        ("Tubes fluo + lampes a decharge, caisse 1 m3", "200121"),
        ("Lead acid batts ex forklifts, 6 units on pallet", "160601"),
        ("Elmotorer kasserade, 12 st", "160214"),
        ("Zmiotki z placu zakładowego, kontener 7m3", "200303"),
    ],
)
def test_vocabulary_of_session_20_maintenance_wastes(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("湿法刻蚀 废磷酸 HW34 900-300-34 IBC 120吨/年", "060104"),  # the container comes last
        ("乳品厂 过期退货乳制品 SW13 托盘 80 t/a", "020501"),
        ("加氢车间 废钯碳催化剂 HW50 271-006-50 密封桶 1.2吨/年", "160801"),  # HW50 or not
        ("废油漆桶", "150110"),  # a container in the waste's own word is the waste
        ("空桶", "150110"),
        ("注塑车间 废水口料、不良品(PP/ABS) 吨袋", "070213"),  # sprues, no waste water: the plastic
        ("变压器油, 不含PCB", "130307"),  # the oil, not the transformer
        ("变压器", "160214"),
        ("IT部门 报废电脑、显示器", "160214"),  # 电脑 is no electricity
        ("化学品 废包装桶 HW49 900-041-49 12吨/年", "150110"),  # the container is the waste
        ("化学品仓库 废包装桶", "150110"),  # a warehouse's name holds no content
        ("变压器油 废空桶", "150110"),
        ("废银催化剂 HW50", "160801"),
        ("废丙二醇甲醚醋酸酯 HW06", "140603"),  # PGMEA, a solvent: no propylene glycol
        ("安全气囊布 边角料", "040222"),  # air-bag fabric, not an air bag
    ],
)
def test_a_chinese_register_names_the_waste_before_its_container(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("常减压装置 电脱盐罐排泥 HW08 半固态 吨桶 120吨/年", "050102"),  # desalting
        ("电芯车间 化成分容不合格电芯 固态 塑料周转箱 150t/a", "160605"),  # battery cells
        ("碱回收车间 苛化白泥 SW15 半固态 散装", "030309"),
        ("纺纱车间 落棉、回花 SW14 固态 打包", "040221"),
        ("废电池含电解液", "160605"),
    ],
)
def test_chinese_words_holding_electricity_name_what_they_are(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize("text", ["电", "用电量 800kWh/d", "余热 电"])
def test_electricity_is_still_no_resource(text: str) -> None:
    with pytest.raises(ClassificationError):
        classify(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("电除尘灰 固态 罐车 3万t/a", "100208"),  # the dust, not the precipitator
        ("铜冶炼 熔炼炉电收尘白烟尘 HW48 固态 吨袋", "100603"),
        ("纯碱厂 碱渣", "060399"),  # a soda-ash plant's, not a refinery's spent caustic
        ("废钢砂轮片", "120121"),  # grinding wheels, not steel grit
    ],
)
def test_chinese_words_keep_to_their_meaning(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "Puste beczki po oleju, umyte",
        "Empty containers of plant protection products, triple rinsed",
        "Lege verpakkingen gewasbeschermingsmiddelen, gereinigd",
    ],
)
def test_packaging_said_cleaned_holds_no_hazard(text: str) -> None:
    result = classify(text)
    assert result.candidates[0].code != "150110"
    assert not result.hazardous_hint


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Tomme ståltromler m. rester af hydraulikolie, 25 stk på palle", "150110"),
        ("Lege vaten/jerrycans met restanten gewasbeschermingsmiddel", "150110"),
        ("Lege harsvaten en IBC's met resten epoxyhars/harder", "150110"),
        ("puste beczki po farbach", "150110"),  # po: the drums held paint
        ("Oljiga trasor och absorbenter från underhåll, fat 200 l", "150202"),
        ("Spent green sand (bentonite) from knock-out grid", "100908"),
        ("沾树脂的废手套、抹布, 桶装", "150202"),
    ],
)
def test_vocabulary_of_session_20_ten_more_plants(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_conductivity_is_no_electricity() -> None:
    assert classify("纯水站 RO浓水 电导率约2000μS/cm 20万立方米/年").kind is ResourceKind.WATER


def test_anodising_is_the_origin_of_its_sludge() -> None:
    assert classify("Eloxalschlamm").candidates[0].sub_chapter == "1101"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Pozostałości podestylacyjne chlorowcowane z produkcji farmaceutycznej", "070507"),
        ("Résidus de distillation chlorés, unité chimie fine", "070707"),
        ("Halogenated filter cakes from pharmaceutical production", "070509"),
        ("Huile de coupe entière chlorée usagée, fûts", "120106"),
        ("农药生产 含卤精馏残渣", "070407"),
    ],
)
def test_a_waste_said_halogenated_is_its_halogenated_entry(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Destillationsrester ohalogenerade, tillverkning av tvättmedel", "070608"),
        ("Filterkuchen nicht halogeniert, Pharmaproduktion", "070510"),
        ("non-halogenated still bottoms, pharma", "070508"),
        ("精细化工车间 滤饼（非卤代）", "070710"),  # noqa: RUF001
        ("精细化工车间 滤饼", "070710"),  # unsaid: the other entry, as hazardous as the named one
    ],
)
def test_a_waste_said_not_halogenated_is_the_other_entry(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Szlam z mokrego oczyszczania gazu wielkopiecowego, zaw. Zn/Pb, 10 02 13*", "100213"),
        ("Osady z mycia i czyszczenia hali uboju, kod 02 02 01", "020201"),
        ("Osady z zakładowej oczyszczalni ścieków inne niż w 07 04 11", "070412"),
        ("Odpadowy toner drukarski inny niż w 08 03 17", "080318"),
        ("Sludge, other than those mentioned in 19 08 13", "190814"),
    ],
)
def test_the_code_a_plant_writes_leads(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Sludge from DAF unit, effluent treatment, dairy", "020502"),
        ("Isocyanaatresten MDI in vaten, PU-lijmfabriek", "080501"),
        ("Placek filtracyjny z oczyszczania spalin, spalarnia odpadów", "190105"),
    ],
)
def test_origins_of_session_21(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Lampade fluorescenti esauste, manutenzione elettrica", "200121"),
        ("Art 770145 | Tomma metallfat 200 l, rengjorda | förråd", "150104"),
        ("锅炉补给水处理站废阴/阳离子交换树脂，约3吨/年", "190905"),  # noqa: RUF001
        ("Polvo de cemento recogido en filtros de mangas, 300 t/año", "101306"),
        ("Huile thermique usagée, circuit fluide caloporteur, fûts", "130307"),
        ("Scarti impasto crudo prima della cottura, 1.500 t/a", "101201"),
        ("Vandige vaskevæsker fra pigmentfabrik, 250 m3/år", "070301"),
        ("制革车间含铬鞣制废液，桶装", "040104"),  # noqa: RUF001
        ("Slib eigen AWZI PVC-fabriek, bevat geen gevaarlijke stoffen", "070212"),
        ("Polvere di ottone da smerigliatura, aspirazione", "120104"),
    ],
)
def test_vocabulary_of_session_21_three_parks(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Aceite hidráulico del clorador de la piscina", "130110"),  # a chlorinator
        ("Hydraulic oil, pool chlorination plant", "130113"),  # the process, not the oil
        ("Altöl, Halogengehalt < 0,2 %", "130205"),  # a content measured
        ("Lösemittel, Halogenlampen-Fertigung", "140603"),  # lamps
        ("农药车间精馏残渣（含氯化钠）", "070408"),  # noqa: RUF001 - a chloride, not chlorinated
        ("Zużyte rozpuszczalniki, nie zawierają chlorowców", "140603"),
    ],
)
def test_words_that_only_look_halogenated_say_nothing(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Paper packaging, PO 150110", "150101"),
        ("Klärschlamm, Abholung 16.01.03", "190805"),  # a date
        ("Mixed packaging waste, container 191212", "150106"),
        ("Odpady inne niż niebezpieczne z sortowania, kod 19 12 12", "191212"),
        ("Soil EWC 17 05 03* from fuel station", "170503"),  # hazardous, as the plant writes
    ],
)
def test_a_number_leads_only_when_written_as_a_code(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Condizionatori split dismessi con gas R410A, 5 unità", "160211"),
        ("Kobberrør og messingfittings fra VVS-renovering, 180 kg", "170401"),
        ("Spent Claus catalyst, alumina", "160807"),
        ("Alkylierungsschlamm sauer (H2SO4-Alky), 8 t", "050104"),
        ("Argiles usagées du clay treater kérosène, 18 t, big bags", "050115"),
        ("Regeneratievloeistof demi na neutralisatie (HCl/NaOH), 50 m3", "190906"),
        ("电泳槽液|HW12 900-252-12|阴极电泳|液态|IBC吨桶", "080119"),
        ("废拉延油 HW08 900-249-08 冲压线 液态 200L桶", "120107"),
        ("珩磨油泥 HW08 缸孔珩磨 半固态 200L铁桶", "120118"),
        ("废菲林(含银底片) 光绘房 固态 纸箱", "090107"),
        ("隔油池废油脂", "190809"),
    ],
)
def test_vocabulary_of_session_21_three_more_parks(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_count_is_a_unit_not_a_word_of_the_waste() -> None:
    # "stk" is no uncovered word of the waste that would shift the weight to the similarity
    text = "Kasserede køleskabe/frysere med CFC/HFC, ca. 12 stk."
    assert classify(text).candidates[0].code == "160211"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Starterbatterien Pb (LKW/PKW) Gitterbox 420 kg", "160601"),
        ("Extintores de polvo caducados 18 uds revisión anual", "160505"),
    ],
)
def test_a_sibling_only_the_heads_own_words_find_does_not_lead(text: str, code: str) -> None:
    # the similarity finds 16 06 02 through "Batterien" and dust through "polvo" alone
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("废机油桶 HW49 900-041-49", "150110"),  # a drum that held waste oil
        ("光刻胶瓶 空瓶", "150110"),
        ("剥离液桶", "150110"),
        ("废机油桶装", "130205"),  # waste oil, packed in drums
        ("光刻胶瓶装 0.2t/a", "080111"),
        ("溶剂桶清洗废液", "160709"),  # the drum's washing liquid: drum cleaning
        ("印刷机油墨渣 HW12", "080314"),  # a printing machine's ink, not machine oil
    ],
)
def test_a_chinese_drum_written_with_its_chemical_is_the_drum(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_first_field_ending_in_a_semicolon_is_no_label() -> None:
    # the first field is as often the material as the plant: a tanker's heating is no heat
    result = classify("Paraffingatsch; Heißwasser-Begleitheizung; 20 t")
    assert result.kind.value == "material"


@pytest.mark.parametrize(
    "text",
    [
        "Altholz-HKW Dampf-Lieferung 30 bar, 20 t/h",
        "Wood chips boiler steam-export 12 bar, 8 t/h",
        "Klärschlamm Verbrennung Abwärme-Nutzung 3 MW",
    ],
)
def test_a_utility_offered_in_a_hyphenated_word_stays_the_utility(text: str) -> None:
    assert classify(text).kind.value != "material"


@pytest.mark.parametrize(
    "text",
    [
        "Altöl aus Kompressoren; halogeniert: nein; 2 IBC",
        "Altöl gemischt; Kühlwasser; chloriert",
        "Altöl; halogeniert: nein",  # the field beside the oil, answered no
        "Used engine oil, chlorinated: no, 2 IBC",
    ],
)
def test_a_halogen_word_in_another_field_says_nothing_of_the_oil(text: str) -> None:
    # a form's field answered no ("halogeniert: nein") or another thing's ("Kühlwasser;
    # chloriert")
    assert classify(text).candidates[0].code == "130205"


@pytest.mark.parametrize(
    "text",
    ["Glykol, verbraucht, IBC", "Glycol afgewerkt, vaten", "Glykol, brugt, IBC"],
)
def test_a_foreign_word_is_still_read_in_english(text: str) -> None:
    # a term beginning with the word in the row's language would hide its English reading
    assert classify(text).candidates[0].code in {"160114", "160115"}


def test_a_tank_truck_is_no_tank_farm() -> None:
    # "Tankwagen" was corrected to "Tanklager" (a tank farm, an origin of chapter 13)
    assert "tanklager" not in classify("Altöl, Tankwagen 20 m3").matched_terms


def test_a_self_heating_hazard_offers_no_heat() -> None:
    text = "Turnaround HDS-2 | brugt katalysator CoMo/Al2O3 | selvopvarmende, UN3190 | 64 tromler"
    result = classify(text)
    assert result.kind.value == "material"
    assert result.candidates[0].code == "160802"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Mercure métal ex-cellules", "160307"),
        ("Acide sulfurique usé, séchage du chlore, citerne", "060704"),
        ("Restos de comedor, contenedor marrón", "200108"),
        ("损伤性废物 针头", "180101"),
        ("手术室 病理性废物 切除组织 冷藏暂存", "180102"),
        ("Kartonnen dozen en omdozen, geperst in balen", "150101"),
        ("PKN Merox: spent caustic, 20 m3", "050111"),
        ("Magnetskrot ur slaggen, 400 t", "190102"),
        ("钢筋头", "170405"),
        ("吊顶纸面石膏板边角料 约6吨", "170802"),
        ("过期酸奶退货", "020501"),
    ],
)
def test_vocabulary_of_session_22_six_parks(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Abwasser/Kühlwasser", "water"),
        ("Glykol/Wasser Kühlkreislauf, freie Kapazität 80 m3/h", "water"),
        ("Brine/seawater return from desalination 800 m3/h", "water"),
        ("Brunnenwasser Eisen/Wasser 60 m3/h", "water"),
        ("eau/boues surverse décanteur 100 m3/h", "water"),
        ("agua/fango rebose decantador 100 m3/h", "water"),
        ("Abwärme Glykol/Wasser Rückkühler", "heat"),
        ("Abluft Toluol/Luft 8.000 m3/h", "gas"),
    ],
)
def test_a_utility_written_with_its_load_stays_the_utility(text: str, kind: str) -> None:
    # tried in session 23 and taken back: water in a tight slash list beside a material read
    # as a part of a mixture; two reviews found overflows, outlets and wells written so
    assert classify(text).kind.value == kind


def test_a_halogenated_mother_liquor_is_filed_with_the_halogenated_solvents() -> None:
    for text, code in (
        ("mother liquor halogenated, fine chemicals", "070703"),
        ("Halogenated mother liquors ex pesticide synthesis", "070403"),
    ):
        assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("copeaux alu culasses", "120103"),
        ("Lege houten kabelhaspels", "150103"),
        ("Rivningsvirke obehandlat", "170201"),
        ("Teerasphalt Fräsgut, PAK 840", "170301"),
        ("GK-Platten Verschnitt Trockenbau", "170802"),
        ("Versleten schuurbanden", "120121"),
        ("Malingsfiltermåtter fra sprøjtekabine, mættet med opløsningsmiddelholdig lak", "150202"),
        ("lodo de cataforesis, contiene disolventes", "080115"),
        ("boues de cataphorèse, fûts", "080116"),
        ("KTL-Schlamm aus Beckenreinigung, 2 IBC", "080116"),
        ("Resine scambio ionico esauste demi", "190905"),
    ],
)
def test_vocabulary_of_session_23_six_sectors(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Kraftwerk, Asche", "100101"),  # the origin's own entry for the material
        ("tannery, sludge", "040106"),
        ("Zuckerfabrik | Carbokalk | 20.000 t/a", "020402"),
        ("restaurant, huile usagée", "200125"),
        ("foundry, drums of binder", "100914"),
        ("chlorine drying, sulphuric acid", "060704"),
        ("sewage works, sand from grit chamber", "190802"),
        ("MRF, plastic film", "191204"),
    ],
)
def test_a_plant_named_first_still_files_its_own_materials(text: str, code: str) -> None:
    # tried in session 23 and taken back: the first field naming only the plant, the first
    # material after it as the head ("paper mill, used oil"); a review found the plant's own
    # entries lost (a restaurant's cooking oil, a foundry's binder in drums, grit-chamber sand)
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # session 25, from probe sets of six sectors: the forms contamination is written in
        ("Terres polluées aux hydrocarbures, chantier ZAC Nord", "170503"),  # French -ées
        ("Plaques fibres-ciment amiantées (toiture)", "170605"),
        ("Teerhoudend asfalt (TAG) >75 mg/kg PAK", "170301"),
        ("Gleisschotter Werksbahn, Herbizide belastet", "170507"),
        ("Slijpslib oliehoudend", "120118"),
        ("Oljehaltigt slipslam", "120118"),
    ],
)
def test_contamination_said_in_any_form_makes_the_waste_hazardous(text: str, code: str) -> None:
    answer = classify(text)
    assert answer.hazardous_hint
    assert answer.candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "oil absorbent",
        "absorbant huile",
        "Olieklude + absorbent (sugeservietter), værksted",  # a compound: olie|klude
        "poetsdoeken olie",
        "Ölbindemittel gebraucht, Fass",
        "stracci oleosi",
    ],
)
def test_a_rag_or_absorbent_named_with_oil_is_the_contaminated_one(text: str) -> None:
    # 15 02 02* "contaminated by hazardous substances", wherever the oil is written
    assert classify(text).candidates[0].code == "150202"


@pytest.mark.parametrize(
    "text",
    [
        "rags, no oil",
        "cardboard with grease",
        "Putzlappen",
        "Oil absorbent, unused",  # never used
        "Absorbent for oil spills",  # what it is for
        "Air filters, diesel engines",  # a fuel names the engines
    ],
)
def test_a_rag_without_a_hazardous_oil_stays_harmless(text: str) -> None:
    assert not classify(text).hazardous_hint


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Abwärme Trockenpartie Papiermaschine 3 MW", ResourceKind.HEAT),
        ("Spillvärme pappersmaskin", ResourceKind.HEAT),
        ("Restwarmte papiermachine", ResourceKind.HEAT),
        ("Abwärme Glasofen", ResourceKind.HEAT),
        ("Abwärme Kunststoffspritzguss", ResourceKind.HEAT),
        ("Kühlwasser Glasofen", ResourceKind.WATER),
    ],
)
def test_a_utility_beside_a_machine_named_by_its_material_is_the_utility(
    text: str, kind: ResourceKind
) -> None:
    # Papier|maschine is a machine, not paper: the waste heat beside it is the resource
    assert classify(text).kind is kind


def test_a_material_beside_a_machine_stays_the_material() -> None:
    answer = classify("Glasofen Ausbruch")  # no utility named: the furnace's material
    assert answer.kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    "text",
    [
        "Gasflaschen leer",
        "Bouteilles gaz vides (propane) retour fournisseur",
        "Bombole vuote azoto/argon fuori uso, laboratorio",
        "botellas de gas",
        "gasflaskor tomma",
        "gasflasker, tomme",
    ],
)
def test_gas_cylinders_are_gases_in_pressure_containers(text: str) -> None:
    answer = classify(text)
    assert answer.kind is ResourceKind.MATERIAL
    assert answer.candidates[0].code == "160505"


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("Gâteaux de filtration filtre-presse, fabrication de principes actifs", "0705"),
        ("Tortas de filtración producción de plaguicidas", "0704"),
        ("Filterkuchen Kammerfilterpresse Farbstoffsynthese", "0703"),  # a compound's ending
        ("Nutsche filter cake, azo dye synthesis, wet", "0703"),
    ],
)
def test_a_process_named_by_another_word_for_making_is_the_same_process(
    text: str, sub_chapter: str
) -> None:
    # the lexicon says "production de principe actif", "fabricación de plaguicidas",
    # "Farbstoffherstellung", "dye manufacture": a plant writes another word for making
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Svarvspån aluminium", "120103"),  # a metal names the non-ferrous turnings
        ("copper turnings", "120103"),
        ("steel turnings", "120101"),
        ("Stretch wrap / LDPE film from pallet unwrapping, clear", "150102"),
        ("PE stretch wrap / polythene packaging, clear, baled", "150102"),
    ],
)
def test_a_code_of_the_head_another_material_names_leads(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "concrete and bricks mixed",
        "Beton und Ziegel gemischt",
        "béton et briques en mélange",
        "mezcla de hormigón y ladrillos",
        "Tegl og beton blandet",
        "mixed concrete, brick and tile rubble",
    ],
)
def test_two_members_of_a_mixture_entry_are_the_mixture(text: str) -> None:
    assert classify(text).candidates[0].code == "170107"


@pytest.mark.parametrize(
    ("text", "code"),
    [("concrete, no bricks", "170101"), ("Brick rubble", "170102"), ("Beton", "170101")],
)
def test_one_member_of_a_mixture_entry_is_itself(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("Spent activated carbon from flue gas treatment", "1901"),  # 19 01 10*, its own text
        ("Aktivkohle aus der Rauchgasreinigung", "1901"),
        ("fly ash from flue gas cleaning, cement kiln", "1013"),  # the kiln's gas cleaning
        ("Filterstaub Rauchgasreinigung Gießerei", "1009"),
        ("Gips aus Rauchgasreinigung Kraftwerk", "1001"),
    ],
)
def test_flue_gas_cleaning_is_an_incinerators_unless_another_origin_is_named(
    text: str, sub_chapter: str
) -> None:
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("屠宰下脚料（骨头、内脏）", "020202"),  # noqa: RUF001 - bones and offal of slaughter
        ("废糖蜜，制糖车间", "020499"),  # noqa: RUF001
        ("工程渣土（基坑开挖土方）", "170504"),  # noqa: RUF001
        ("吨袋（空）原料包装", "150102"),  # noqa: RUF001
        ("huesos de matadero", "020202"),
        ("Knochen", "020202"),
        ("Gleisschotter", "170508"),
        ("Balasto de vía férrea", "170508"),  # the ballast, not the ferrous metal
        ("Spoorballast ProRail", "170508"),
        ("Demolition timber grade C", "170201"),
        ("Kernbruch ungegossen", "100906"),
        ("Avbaningsmassor från kalkstensbrott", "010102"),  # massor: masses, no pulp
        ("bergmassor", "010102"),
    ],
)
def test_vocabulary_of_session_25(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_spinning_mill_is_a_textile_mill() -> None:
    answer = classify("Comber noil / cotton fibre waste, spinning mill")
    assert answer.candidates[0].sub_chapter == "0402"  # textile fibres, not paper fibres


def test_landfill_gas_in_chinese_is_a_gas() -> None:
    assert classify("填埋气（沼气）发电").kind is ResourceKind.GAS  # noqa: RUF001


@pytest.mark.parametrize(
    "text",
    [
        "Li-ion batteries energy storage system",
        "退役动力电池 磷酸铁锂 电动汽车",  # an EV's battery: 电 is no head beside 电池
        "新能源汽车 动力电池",
    ],
)
def test_a_word_naming_no_resource_gives_way_to_a_material_in_its_clause(text: str) -> None:
    assert classify(text).kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    "text",
    [
        "Strom",
        "Biogas Strom 500 kW",
        "electricity surplus 5 MW",
        "Biomass electricity",  # electricity made from a fuel ends in it
        "Holzstrom",
        "Restholz Energie",
    ],
)
def test_electricity_is_still_refused_beside_a_utility(text: str) -> None:
    with pytest.raises(ClassificationError, match="not a heat, steam, water, material or gas"):
        classify(text)


@pytest.mark.parametrize(
    "text",
    [
        "Heat exchanger tubes, copper, scrap",
        "Cooling water pump, scrap",
        "Steam trap, defective",
        "Heat pump (R134a) decommissioned",
        "Nitrogen dewar",
    ],
)
def test_a_utilitys_equipment_is_no_utility(text: str) -> None:
    assert classify(text).kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Heat pump HP3 output 400 kW at 65 °C available to district network", ResourceKind.HEAT),
        ("Compressed air compressor 3 surplus 500 Nm3/h", ResourceKind.GAS),  # the unit decides
        ("Abwärme Wärmetauscher 2 MW", ResourceKind.HEAT),
        ("Wärmepumpe 400 kW", ResourceKind.HEAT),
        ("Cooling water 40 m3/h from heat exchanger", ResourceKind.WATER),
        ("Cooling water through plate heat exchanger", ResourceKind.WATER),  # a route
        ("Process heat through heat exchanger", ResourceKind.HEAT),
        ("Cooling water 500 cubic meters", ResourceKind.WATER),  # a unit, no meter
        ("Kühlwasseranlage", ResourceKind.WATER),  # a plant's water, no machine
        ("Dampfanlage", ResourceKind.STEAM),
    ],
)
def test_a_utility_named_with_its_equipment_stays_the_utility(
    text: str, kind: ResourceKind
) -> None:
    assert classify(text).kind is kind


def test_an_italian_quarry_is_no_cable() -> None:
    # cava (a quarry) stems as cavi (cables): read as itself, an origin in chapter 01
    answer = classify("Scarti di pietra (informi), cava di porfido")
    assert not any(c.code.startswith("17") for c in answer.candidates)
    assert classify("cavi di rame").candidates[0].code == "170411"


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("sludge", True),  # a form any industry's waste takes: 19 08 05 would be a guess
        ("Schlamm", True),
        ("磨边污泥", True),  # an edge grinding's: the glass's (玻璃磨边污泥) is told
        ("sewage sludge", False),  # a term of more words says whose
        ("Schlamm aus Galvanik", False),  # an origin says whose
        ("sludge, EWC 19 08 05", False),  # a code written says which
    ],
)
def test_a_form_alone_is_asked_about(text: str, asked: bool) -> None:
    assert classify(text).needs_review is asked


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Cullet - hot end rejects flint containers ex line 3", "101112"),
        ("Steinwolle Produktionsabfälle, Werk 2", "101103"),
        ("Stenuld produktionsspild (kantafskær)", "101103"),
        ("Glasull spill, isoleringsfabrik", "101103"),  # a compound ending in a factory
        ("floor tiles, production rejects", "101208"),
        ("Ziegel Ausschuss", "101208"),
    ],
)
def test_a_material_made_where_it_arises_is_the_makers(text: str, code: str) -> None:
    # the List files cullet, rock wool and tiles both where they are made (10 11, 10 12) and
    # where they are used up (19 12, 17): a production word says which
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Steinwolle, Rückbau Halle 3", "170604"),  # no word of making
        ("roof tiles", "170103"),
        ("Cullet for container production", "191205"),  # a destination: where it goes
        ("sorting reject", "191212"),  # the head's own word: a sorting plant's reject
        ("Gipskartonplatten aus Umbau der Produktionshalle", "170802"),
        ("Tegels uit renovatie fabriekshal", "170103"),
        ("Gipskarton Wiederherstellung Brandschutz Büro", "170802"),  # no herstellung
        ("Dakpannen, stormschade, uitvalsweg", "170103"),  # no uitval
        ("Płytki ceramiczne, miejsce wytwarzania odpadów: remont biura", "170103"),
        ("Sludge from production", "190805"),  # no paper mill's
        ("Ionenaustauscherharz aus Produktion", "190905"),  # no hazardous 11 01 16
        ("Glasscherben, Flaschen, Ausschuss Abfüllung", "150107"),  # the bottles told
        ("Pipe lagging removed from factory boiler house", "170604"),  # no 10 01
    ],
)
def test_a_material_not_said_made_there_keeps_its_first_entry(text: str, code: str) -> None:
    # a rebuilding, a word that only starts like one of making, or a head whose entries in
    # chapters 01 to 12 are no maker's: the used-up entry stays
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Keramische fabriek: afgekeurde gebakken wandtegels, breuk", "101208"),
        ("Poultry processing: feathers, heads & feet, Cat 3 ABP, line 2", "020202"),
    ],
)
def test_the_material_after_a_label_heads_the_row(text: str, code: str) -> None:
    # the label names the plant or the line; the clause after it says what the row is
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("农作物秸秆", "020103"),
        ("畜禽粪便（猪粪）", "020106"),  # noqa: RUF001 - full-width brackets, as registers write
        ("病死畜禽", "020102"),
        ("豆渣 豆制品厂", "020304"),
        ("食用菌菌渣 种植基地", "020103"),  # not the pharmaceutical mycelium of 菌渣
        ("Pig slurry, lagoon", "020106"),
        ("Spent mushroom compost", "020103"),
        ("Dybstrøelse fra kvægstald", "020106"),
        ("Restos de poda de olivar", "020199"),  # an olive grove is a farm
        ("Kalkugnsdamm från kalkbruk", "101304"),  # a lime works, no paper mill (bruk)
        ("Fibre cement sheet offcuts", "101311"),
        ("Fibercementplader afskær, produktion", "101311"),
        ("Chutes de plaques fibres-ciment", "101311"),
        ("Plaques fibres-ciment amiantées (toiture)", "170605"),  # a hazard said
        ("GK-Plattenwerk: Fehlproduktion, Plattenverschnitt", "101399"),  # the maker's entry
        ("Gipskarton", "170802"),
    ],
)
def test_vocabulary_of_session_26(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        # two words for the treatment, one for the dairy: the dairy's own effluent sludge
        ("Osady z oczyszczania ścieków przemysłowych w zakładowej oczyszczalni mleczarni", "0205"),
        ("Szlamy galwaniczne z oczyszczalni ścieków", "1101"),  # the head names its industry
        ("Galvanikschlamm aus der Abwasserbehandlung", "1101"),
        ("Schlamm aus der Abwasserbehandlung", "1908"),  # a sludge of no industry
        ("Refus dégrillage STEP 45 000 EH", "1908"),  # rejects of any process: the plant's
    ],
)
def test_waste_water_treatment_gives_way_to_the_industry(text: str, sub_chapter: str) -> None:
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Window fitter: old double glazed units", "170202"),  # a fitter is no filter
        ("Broiler litter (shavings + droppings) house 1-6 cleanout", "020106"),  # no boiler
        ("Salmon filleting trimmings and frames, processing factory", "020202"),  # no filler
        ("Glaszetter: vervangen ruiten", "170202"),
    ],
)
def test_words_one_letter_from_another_material_are_themselves(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Glass plant Line 1: cooling water return 28 °C, 150 m3/h", ResourceKind.WATER),
        ("Steel works / BOF shop: converter gas (LDG) surplus", ResourceKind.GAS),
        ("Waste heat recovery HX-203: flue gas 180->90°C, 2.4 MW", ResourceKind.HEAT),
        ("Reparto verniciatura: fanghi di vernice all'acqua", ResourceKind.MATERIAL),
        ("Foundry dept: cooling water pump, scrapped (cast iron casing)", ResourceKind.MATERIAL),
    ],
)
def test_the_clause_after_a_label_says_what_the_row_is(text: str, kind: ResourceKind) -> None:
    # a label names the plant, even by its product (glass, steel); the utility a label names
    # is the row's, and a utility's equipment after a label is still equipment
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Altöl: 5 t, Fässer", "130205"),  # a container after the label holds the row
        ("GK-Plattenwerk: Fehlproduktion, Plattenverschnitt", "101399"),  # a state of it
        ("Fabrik 2: slam fra flotation", "190805"),  # a Fabrik is no fabric (04 02 22)
    ],
)
def test_a_label_naming_a_material_keeps_it_when_the_rest_names_none(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("Filter cake from PVC production", "0702"),
        ("Filterkage fra fremstilling af PVC, halogenholdig", "0702"),
        ("Osady z zakładowej oczyszczalni ścieków wytwórni tworzyw sztucznych", "0702"),
        ("Tortas de filtración producción de plaguicidas", "0704"),  # the cakes' production
        ("Boues rouges issues de la production d'alumine (procédé Bayer)", "0103"),
        ("Sand for glass production", "0104"),  # a destination: where the sand goes
    ],
)
def test_a_material_whose_making_is_named_is_the_origin(text: str, sub_chapter: str) -> None:
    # alumina's entry (10 03 05) is where it is used, not made: no origin
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Lager 5: IBC mit Säureresten", "060106"),  # a container after a label: what it holds
        ("Plant 4: big bags with fly ash", "100102"),
        ("Kessel 2: Asche Holz", "100101"),  # written apart, as without the label
        ("Calcin, destinataire: usine Saint-Gobain", "191205"),  # a Saint is no suint
    ],
)
def test_a_label_reads_the_clause_after_it_as_a_row_is_read(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_machine_named_by_its_material_after_a_label_is_no_head() -> None:
    assert classify("Werk 2: Kühlwasser Glasofen").kind is ResourceKind.WATER


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("Kassation fra glasuldsproduktion (fiberaffald)", "1011"),  # a compound of making
        ("Fehlcharge Lack, Lackfabrik", "0801"),
        ("Off-spec batch from the dairy", "0205"),
    ],
)
def test_an_off_spec_batch_of_a_named_origin_is_the_origins(text: str, sub_chapter: str) -> None:
    # 16 03 only when no origin's entry fits
    assert classify(text).candidates[0].sub_chapter == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("家具厂生产边角料：刨花板、密度板下脚料", "030105"),  # noqa: RUF001 - as registers write
        ("服装厂裁剪边角料，涤纶面料", "040222"),  # noqa: RUF001
        ("涂料厂不合格品（溶剂型涂料）批次T-0912", "080111"),  # noqa: RUF001
        ("Tiles, bricks, concrete - factory yard", "170107"),  # no making across a break
    ],
)
def test_vocabulary_of_session_26_factories(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Supermarket back of store: baled cardboard boxes from deliveries", "150101"),
        ("Butik: wellpapp från varuleveranser, balad", "150101"),
        ("Karton en papier van leveringen, winkel", "150101"),
        ("cardboard, supermarket", "200101"),  # no delivery said: a shop's municipal fraction
    ],
)
def test_what_came_in_with_deliveries_is_packaging(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Fehlchargen Dispersionsfarbe wasserbasiert, lösemittelfrei", "080112"),
        ("Extrusion Halle 2: Anfahrbrocken und Fehlchargen PE-HD, nicht mahlbar", "070213"),
        ("Plasterbord manufacture - wet end rejects and board offcuts", "101399"),
    ],
)
def test_a_product_named_beside_its_state_or_its_making_is_that(text: str, code: str) -> None:
    # an off-spec batch of a named product is the product's entry, not 16 03; a maker's
    # entry said made there is not brought back to the used-up one by similarity
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Wood production waste", "030105"),  # the wood is the waste beside a word of no code
        ("Odpady produkcyjne drewno", "030105"),
        ("Sand for the manufacture of glass", "010409"),  # making in a destination
        ("Copper cable from glass production", "170411"),  # a cable wherever it was
        ("Świetlówki z wytwórni tworzyw sztucznych", "200121"),
        ("Sewage sludge, municipal, customer: PVC factory", "200306"),  # a receiver field
        ("Klärschlamm aus der kommunalen Kläranlage, Abwasserbehandlung, Abnehmer: Zementwerk",
         "190805"),
        ("Batteries: lead", "160601"),  # a material after a label naming one is its detail
        ("Öl: Schlamm", "130205"),
        ("Glasskår fra produktion (flaskeglas), afvist", "101112"),  # the maker's
        ("Glasscherben, Flaschen, Ausschuss Abfüllung", "150107"),  # the bottles filled
        ("Tiles, production rejects, collection and removal", "101208"),
    ],
)  # fmt: skip
def test_a_second_review_of_made_and_labels(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    ["Werk 2: Abwärme Kühlwasser", "Plant 2: waste heat cooling water", "Werk 2: Abwärme Rauchgas"],
)
def test_the_heat_a_utility_carries_after_a_label_is_the_row(text: str) -> None:
    assert classify(text).kind is ResourceKind.HEAT


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Out-of-date flour and dough scraps from bakery line 2", "020601"),  # no anode scraps
        ("Hårdzink från förzinkningsgrytan", "110501"),
    ],
)
def test_vocabulary_of_session_26_third_batch(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_carcass_cutting_is_no_demolition() -> None:
    answer = classify("Odpady poubojowe kat. 3 (kości, tłuszcz) rozbiór")
    assert not any(c.code.startswith("17") for c in answer.candidates)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Float line cullet rejects, off-spec glass not returned to batch house", "101112"),
        ("浮法线冷端切边碎玻璃", "101112"),
        ("Residuos de tejidos vegetales (restos de poda y hoja) - finca", "020103"),  # no tejas
    ],
)
def test_a_head_naming_a_form_reads_the_material_beside_it(text: str, code: str) -> None:
    # "rejects" names no entry: the cullet beside it is what was made there (the float line)
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Window glass rejects from the sorting line", "170202"),  # its own word: no maker's
        ("Concrete release agent residues from production", "170101"),  # not beside the head
        ("Cable insulation scrap from production", "170411"),  # no mineral wool named
        ("Off-spec detergent from detergent plant", "070612"),
        ("Scarti di plastica conferiti, area ricevimento isola ecologica", "070213"),
    ],
)
def test_a_third_review_of_forms_and_fractions(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Messing draaispanen", "120103"),
        ("Alu-spåner fra fræsning", "120103"),
        ("Kupfer Späne, Dreherei", "120103"),
        ("Stålspåner fra drejebænke, olieholdige", "120101"),  # the oil names no wood twin
        ("Virutas de mecanizado de latón, torno 4", "120103"),
    ],
)
def test_a_metal_and_the_shavings_it_makes_name_its_filings(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Holz Späne", "030105"),
        ("Spåner fra høvleriet", "030105"),
        ("Pflanzenschutzmittel, abgelaufen", "020109"),  # the product alone: where it is used
    ],
)
def test_what_a_form_or_product_names_alone_stays(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "sub_chapter"),
    [
        ("Filterkuchen aus der Herstellung von Pflanzenschutzmitteln, halogenhaltig", "0704"),
        ("Filterkage, ikke-halogeneret, fra produktion af vaskemidler", "0706"),
        ("Filterkaka från färgämnesframställning, halogenfri", "0703"),
        ("Placek filtracyjny \u2013 wydział pestycydów", "0704"),
        ("Moderlut från kristallisation av bekämpningsmedel", "0704"),
        ("Mutterlauge aus der Wirkstoffsynthese", "0705"),
    ],
)
def test_the_making_of_a_product_is_the_origin(text: str, sub_chapter: str) -> None:
    assert classify(text).candidates[0].code[:4] == sub_chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Frakcja nadsitowa z sortowni", "191212"),
        ("Frakcja podsitowa 0-80 mm z mechanicznego przetwarzania odpadów", "191212"),
        ("Siebunterlauf aus der Aufbereitung", "191212"),
        ("screen undersize 0-40 mm ex MRF", "191212"),
        ("Kesselasche MVA Linie 2", "190112"),  # AVV 19 01 12: Rost- und Kesselaschen
        ("eaux mères aqueuses", "070101"),  # organic chemistry's, not a salt works' bittern
    ],
)
def test_vocabulary_of_session_27(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Gummiabfälle aus der Produktion", "070299"),  # made there: the rubber maker's
        ("Gummiaffald, vulkaniseret, fra afgratning - gummivarefabrik", "070299"),
        ("rubber", "191204"),  # alone: where it is used up
        ("Dewatered biosludge, site ETP of pesticide formulation plant", "070412"),
        ("biosludge from the municipal WWTP", "190805"),
    ],
)
def test_a_rubber_plant_and_its_own_sludges(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("填埋气 甲烷含量50% 可供发电", ResourceKind.GAS, None),  # for power generation
        ("沼气 用于发电", ResourceKind.GAS, None),
        ("粉煤灰 外售水泥厂", ResourceKind.MATERIAL, "100102"),  # sold to: no origin
        ("余热 供热", ResourceKind.HEAT, None),  # heat supply is no destination
    ],
)
def test_a_chinese_destination_written_with_its_word(
    text: str, kind: ResourceKind, code: str | None
) -> None:
    answer = classify(text)
    assert answer.kind is kind
    assert (answer.candidates[0].code if answer.candidates else None) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("slipslam från glasbruk", "101114"),
        ("玻璃磨边污泥", "101114"),
        ("Schleifschlamm", "120115"),  # alone: metal machining's
        ("Polvere di levigatura MDF, filtro a maniche", "030105"),
        ("Slibestøv fra MDF-produktion, posefilter", "030105"),
        ("中密度纤维板砂光粉\uff0c布袋除尘器", "030105"),
        ("Schleifstaub", "120101"),  # alone: metal filings
        ("scorie TMV", "190112"),
        ("Yeso artificial de la DGC, para cementeras", "100105"),
        ("Harkroostervuil inlaat RWZI", "190801"),
    ],
)
def test_grinding_and_sanding_by_their_origin_and_plant_abbreviations(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_mono_incineration_is_an_incinerator() -> None:
    answer = classify("Aske fra monoforbrænding af spildevandsslam, filteraske")
    assert answer.candidates[0].code.startswith("1901")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Charbon actif épuisé - décoloration, atelier chimie fine", "070710"),
        ("spent activated carbon, pharmaceutical plant", "070510"),
        ("spent activated carbon from the EfW flue gas cleaning", "190110"),
        ("Aktivkohle", "061302"),  # alone: the List's activated carbon entry
    ],
)
def test_spent_activated_carbon_is_its_origins_absorbent(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Gummigranulat aus der Produktion", "191204"),  # crumb rubber: a treatment's product
        ("Gummi Abfall von Produktionsmaschinen", "191204"),  # a machine's, not made there
        ("Paletten Holz", "150103"),  # a container first leads as before
        ("Big Bags Kunststoff", "150102"),
        ("Aluminium draaispanen", "120103"),
        ("Mutterlauge aus der Saline", "060314"),  # a salt works' bittern
        ("Eaux mères, marais salants", "060314"),
        ("Folie Kunststoff, ölverschmiert", "150110"),
        ("Aska från värmeframställning, träflis", "100101"),  # no making across the comma
        ("Kapotte houten pallets (EUR), ontvangst suiker en concentraat", "150103"),
    ],
)
def test_a_review_of_session_27(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_hazard_word_keeps_a_told_untwinned_code_asked_about() -> None:
    # the told 19 12 04 has no hazardous twin: answered, but not without a question
    assert classify("Plastic and rubber contaminated with oil").needs_review


def test_a_compound_naming_its_own_product_makes_no_other() -> None:
    answer = classify("Slam mejerifabrik rengöringsmedel")  # a dairy's, not detergent making
    assert not answer.candidates[0].code.startswith("07")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("轴承厂磨床含油磨削污泥", "120118"),
        ("蔬菜加工车间下脚料", "020399"),
        ("Backbruch, Kekslinie 4", "020601"),
        ("Lots déclassés biscuiterie", "020601"),  # the off-spec lots of a named origin
    ],
)
def test_vocabulary_of_session_27_second_batch(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("送风机废润滑油", "130205"),  # a blower's oil: 送 begins no destination here
        ("废物名称 送风机废润滑油 去向 交由有资质单位处置", "130205"),
        ("用于喷涂的废油漆桶", "150110"),  # "used for spraying": a modifier, no destination
        ("送货托盘", "150103"),
        ("Glasbruch aus der Glashütte, Lieferung an Aufbereiter", "101112"),  # goes out
        ("Frisdrank met suiker, afgekeurde batch, bottelarij", "020702"),  # sugar: no origin
        ("Residui salini da trattamento fumi", "100119"),  # salini: no salt works
        ("Polvere di levigatura metalli", "120101"),
    ],
)
def test_a_second_review_of_session_27(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "chapter"),
    [
        ("剩余污泥\uff08生化\uff09 送电厂掺烧", "19"),  # sent to a power plant: not its waste
        ("拆除废岩棉 送建筑垃圾场", "17"),
        ("废润滑油 送货区", "13"),  # a delivery area names no destination
    ],
)
def test_a_chinese_word_beginning_with_song_sends_it_there(text: str, chapter: str) -> None:
    assert classify(text).candidates[0].code[:2] == chapter


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Exhausted cation/anion resins, condensate polishing, boiler house", "190905"),
        ("Ionenaustauscherharz Galvanik", "110116"),  # an origin with its own entry keeps it
        ("Recortes de espuma PU - moldeo", "070213"),  # foam, not dross skimmings
        ("脱脂废槽液 涂装前处理 HW17", "110113"),
        ("RTO蓄热陶瓷 报废更换", "161106"),
        ("焊渣 二氧化碳保护焊", "120113"),  # the welding's gas names no resource
    ],
)
def test_vocabulary_of_session_27_a_chinese_park(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("rags and wipes waste, oil contaminated", "150202"),  # no "waste oil" across the comma
        ("Absorbent pads & spill-kit waste (solvent contaminated)", "150202"),
        ("groente-, fruit- en tuinafval", "200201"),  # a term written with its own comma
    ],
)
def test_no_term_spans_a_clause_break(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("OBM cuttings ex shale shakers, rig NS-7", "010505"),
        ("Recortes de perforación con lodo base aceite", "010505"),
        ("油基钻井泥浆及钻屑", "010505"),
        ("Molchschlamm aus Erdgasfernleitung", "050799"),
        ("Fanghi da dissalatore greggio, unità topping", "050102"),
        ("Avskiljarslam, tankbilstvätt", "130502"),
        ("Filterkage fra filterpresse, enzymfabrikken", "070510"),  # as enzymproduktion
        ("Gebruikte bleekaarde uit raffinage van plantaardige olie", "020399"),
        ("Opakowania papierowe i tekturowe, magazyn", "150101"),  # no board mill
        ("Fish silage (acid-preserved viscera), salmon processing", "020202"),
        ("聚乙烯装置不合格粒料及过渡料", "070213"),
        ("冷库报废冷柜 含R22制冷剂", "160211"),
        ("超纯水系统混床失效树脂", "190905"),  # a material, not the ultrapure water
        ("Pièces anatomiques, bloc opératoire", "180102"),
        ("Utgångna blodpåsar från blodcentralen", "180102"),
        ("Fissaggio esausto radiologia", "090104"),
    ],
)
def test_vocabulary_of_session_27_four_more_parks(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_wafer_is_no_water() -> None:
    assert classify("Broken wafers from production line").kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Rejected car body parts (steel)", "170405"),  # no body parts of a hospital
        ("Heizkörperteile, Stahl, Schrott", "170405"),
        ("Verbrauchtes Ionenaustauscherharz, Kraftwerk", "190905"),  # not plating's 11 01 16
        ("Pannaska från fluidbäddpanna i avfallsförbränningsanläggningen", "190116"),
        ("Bäddsand från CFB-panna, avfallsförbränning", "190119"),
        ("Filterasche aus Steinkohlefeuerung, E-Filter", "100102"),  # a filter names both
        ("Recortes de perforación de chapa de acero", "170405"),  # punching, not drilling
        ("Produits phytosanitaires non utilisables (principe actif interdit)", "020109"),
        ("WASTE, OIL, HYDRAULIC", "130113"),  # an ERP's words opening the text still read
        ("Waste, thermal oil", "130307"),
        ("Empty, aerosol cans", "150111"),
        ("Fish silage, fish farm mortalities", "020102"),
    ],
)
def test_a_third_review_of_session_27(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


def test_a_chiller_beside_waste_heat_is_the_heat() -> None:
    assert classify("Abwärme Chiller Halle 3").kind is ResourceKind.HEAT


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Lager Ost - Holzpaletten, beschädigt", "150103"),
        ("Entrepôt central - film étirable PE", "150102"),
        ("Centro logístico - cartón de embalajes", "150101"),
        ("Tankreiniging - waswater, oliehoudend", "160708"),  # a water after a place: as before
    ],
)
def test_a_place_no_term_reads_before_a_dash_leaves_the_row_to_the_clause_after(
    text: str, code: str
) -> None:
    # "Almacén central - palets de madera rotos": the warehouse's words no longer rank the codes
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "Kanister verunreinigt mit Salzsäure",
        "Fûts acier souillés par des isocyanates",
        "Bidones contaminados con ácido clorhídrico",
        "Drums, acid contaminated",
    ],
)
def test_packaging_a_chemical_soiled_is_packaging_that_held_it(text: str) -> None:
    # a word of soiling says what the packaging held, as a word of residue does: 15 01 10*
    assert classify(text).candidates[0].code == "150110"


def test_soil_a_chemical_soiled_is_no_packaging() -> None:
    assert classify("Soil contaminated with acid").candidates[0].code == "170503"


@pytest.mark.parametrize(
    "text",
    [
        "Line 2 slag, water-cooled",  # how the slag was made, after a label naming the line
        "Kiln 3 dust, gas-fired kiln",
        "Steam trap ST-12, defective",  # a tag between the equipment and the rest
        "Cooling water pump CW-P3, scrapped",
    ],
)
def test_a_utility_that_says_how_a_thing_was_made_or_what_it_served_is_no_utility(
    text: str,
) -> None:
    assert classify(text).kind is ResourceKind.MATERIAL


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CO2-levering aan kassen, zomer", ResourceKind.GAS),  # a compound: the CO2's supply
        ("Cooling water CW-3", ResourceKind.WATER),  # a tag alone names the water's circuit
    ],
)
def test_a_utility_before_a_hyphen_or_a_tag_can_still_be_the_row(
    text: str, kind: ResourceKind
) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Recortes de PVC", "070213"),
        ("Chutes de PVC", "070213"),
        ("Scarti PVC rigido", "070213"),
        ("Odpady PCW", "070213"),  # Polish writes PVC as PCW
        ("Film PE usado", "070213"),  # not a spent catalyst's 16 08
    ],
)
def test_plastics_by_their_abbreviations_in_every_language(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "Lodos de la depuradora propia, planta de PVC",
        "Fanghi depurazione interna impianto PVC",
        "Schlamm aus betriebseigener Abwasserbehandlung PVC-Betrieb",
        "Osady z oczyszczalni zakładu PCW",
    ],
)
def test_a_plant_named_by_its_product_is_the_origin_of_its_own_effluent_sludge(text: str) -> None:
    # the plastics maker's on-site effluent sludge (07 02 12), not a municipal plant's 19 08 05
    assert classify(text).candidates[0].code == "070212"


@pytest.mark.parametrize(
    "text",
    [
        "Lackiererei L2: leere Lackdosen mit Restanhaftungen, 3 t",
        "Halle 3: Fässer mit Restanhaftungen",
    ],
)
def test_packaging_after_a_label_with_a_word_of_residues_is_the_packaging(text: str) -> None:
    # residues in cans are no other material the cans hold: 15 01 10*, not the paint shop's
    assert classify(text).candidates[0].code == "150110"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Bidones metálicos vacíos que contenían disolvente", "150110"),
        ("Screenings, collected daily", "190801"),  # daily is no dairy
        ("Laitier de haut fourneau granulé, expédié en cimenterie", "1002"),  # goes there
        ("Cenizas volantes enviadas a cementera", "100102"),
    ],
)
def test_what_a_text_says_of_its_container_schedule_and_destination(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Spülwasser mit Chromsäure", ResourceKind.MATERIAL),  # a spent water carrying acid
        ("Rinse water containing acid", ResourceKind.MATERIAL),
        ("Eaux de rinçage souillées par des solvants", ResourceKind.MATERIAL),
        ("Spülwasser, frei von Öl", ResourceKind.WATER),  # the chemical said absent
        ("Rinse water, not containing oil", ResourceKind.WATER),
        ("Cooling water with biocide", ResourceKind.WATER),  # no spent water, no chemical
    ],
)
def test_a_spent_water_carrying_a_chemical_is_its_liquid_waste(
    text: str, kind: ResourceKind
) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("IPA", "140603"),
        ("Zinc ash skimmed from hot-dip galv kettle", "110502"),
        ("AC roofing sheets removed from farm building", "170605"),
        ("Sludge from chemical clean of boiler tubes, CCGT station", "1001"),
    ],
)
def test_abbreviations_of_uk_and_irish_waste_returns(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Filter cake Cr/Ni plating effluent plant", "1101"),  # a plant, no effluent offered
        ("Recycled fibre mill ETP sludge, belt press cake", "0303"),  # the mill's own ETP
        ("Blanking offcuts, steel sheet, transfer press P1", "1201"),
    ],
)
def test_an_industrys_own_effluent_plant_and_presses(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Braki produkcyjne płytek ceramicznych po wypale", "101208"),  # płytek: płytki
        ("Osad z zakładowej oczyszczalni ścieków, wytwórnia kosmetyków", "0706"),  # -ów
        ("Pozostałości podestylacyjne z produkcji farmaceutyków", "0705"),
    ],
)
def test_polish_genitive_plurals_stem_as_their_nominatives(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Diclorometano sucio, lavado de reactores, fab. de fitosanitarios", "0704"),
        ("Filter cake, prod. of pesticides", "0704"),
        ("Tierras de filtración agotadas, refinería", "050115"),  # no soil
    ],
)
def test_making_abbreviated_and_filter_earths(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Beryllium oxide - dust", "0603"),  # a substance before a dash, no place
        ("Mercury - sludge", "060404"),
        ("Boues envoyées par la papeterie", "0303"),  # par: where it came from
        ("Fanghi inviati dalla cartiera", "0303"),
        ("Wood factory fly ash", "1001"),  # the factory's boiler: combustion's 10 01
        ("Popiół lotny fabryki mebli", "1001"),
        ("Steel works fly ash, EAF", "1002"),  # a thermal process keeps its own entries
        ("Mist Milchbetrieb", "0201"),  # a dairy farm's manure, no dairy's making
    ],
)
def test_a_first_review_of_session_28(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Steam-net surplus 5 t/h", ResourceKind.STEAM),  # a noun after the hyphen
        ("Cooling water-flow 200 m3/h", ResourceKind.WATER),
        ("Rinse water neutralised with caustic soda 20 m3/d", ResourceKind.WATER),
        ("Agua de lavado neutralizada con sosa", ResourceKind.WATER),
    ],
)
def test_a_first_review_of_session_28_kinds(text: str, kind: ResourceKind) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "Whole digestate, AD plant fed with food-processing residues and cattle slurry",
        "Digestate, biogas plant fed with dairy and slaughterhouse wastes",
    ],
)
def test_what_a_treatment_plant_makes_is_its_own_whatever_it_was_fed(text: str) -> None:
    assert classify(text).candidates[0].code.startswith("1906")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Rode gips uit neutralisatie TiO2-productie", "061101"),  # TiO2 names its making
        ("Slib eigen AWZI zuivelbedrijf, ontwaterd", "0205"),  # the dairy's own plant
        ("Lodos EDAR propia curtidos al cromo", "0401"),
        ("Afgekeurde gevelstenen na ovenbrand, steenbakkerij", "1012"),  # no facade of 17
        ("Kartonagen aus Versand", "1501"),  # Versand is no sand
        ("Fuhrpark/Stapler - Altreifen", "160103"),  # a forklift is no steel
    ],
)
def test_vocabulary_of_session_28_registers(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_degrees_are_no_fish_bones() -> None:
    assert classify("Restwarmte koelwater 35 graden, circa 20 MW").kind is ResourceKind.HEAT


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CO2 aus der Fermentation, 99,9 %, verflüssigt", ResourceKind.GAS),  # the formula
        ("Väte i överskott från krackern, 95 % H2", ResourceKind.GAS),
    ],
)
def test_gases_by_their_formulas_in_every_language(text: str, kind: ResourceKind) -> None:
    assert classify(text).kind is kind


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Slam från PVC-fabrikens reningsverk", "0702"),  # the factory's, genitive
        ("Förbrukad lut, sulfidhaltig, eten-krackern", "0701"),  # an ethylene cracker
    ],
)
def test_a_cracker_and_a_factorys_genitive_are_origins(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("冲压车间 冷轧钢板冲压边角料", "1201"),  # 冷轧|钢板 is no 轧钢, steel rolling
        ("沥青路面铣刨料 不含煤焦油", "170302"),  # no coal tar
        ("铸铁件车间 浇注后旧砂 落砂", "1009"),
    ],
)
def test_chinese_vocabulary_of_session_28(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    "text",
    ["Udtjent pladevarmeveksler, skrottet", "报废板式换热器", "Heat exchanger, scrapped, 2 t"],
)
def test_a_scrapped_heat_exchanger_is_discarded_equipment(text: str) -> None:
    assert classify(text).candidates[0].code == "160214"


@pytest.mark.parametrize(
    "text", ["Abwärme Wärmetauscher 3 MW", "Heat recovery heat exchanger, 2 MW"]
)
def test_heat_offered_from_a_heat_exchanger_is_the_heat(text: str) -> None:
    assert classify(text).kind is ResourceKind.HEAT


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DASRI piquants-coupants, laboratoire d'analyses médicales", "1801"),  # no lab chemicals
        ("生物质锅炉布袋除尘飞灰", "1001"),  # a boiler's fly ash
    ],
)
def test_a_medical_laboratory_and_a_boiler_are_origins(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Sorting residues from paper mill", "0303"),  # a mill's reject, no treatment plant's
        ("Air pollution control residue from cement kiln", "1013"),
        ("Asche aus der Feuerverzinkerei", "110502"),  # a galvanizer's own ash
        ("Altkabel", "1704"),  # alt is a word: old cables
        ("Paint sludge containing TiO2", "0801"),  # a pigment in the paint, no TiO2 making
        ("废旧砂轮片", "1201"),  # grinding wheels, no old sand
        ("Sludge before treatment, paper mill", "0303"),
        ("Gasflaschen CO2 leer", "1605"),  # what holds the gas
        ("Fanghi stab. con calce", "19"),  # stabilised, no plant
    ],
)
def test_a_second_review_of_session_28(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    "text",
    ["Toluene waste from stencil cleaning", "IPA waste from stencil cleaning"],
)
def test_a_chemical_before_a_head_of_no_codes_names_the_entry(text: str) -> None:
    # the solvent is the waste, not the flue gas cleaning the similarity read in "cleaning"
    assert classify(text).candidates[0].code == "140603"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("tobacco stems, cigarette factory", "0203"),  # a stem is no steam
        ("Scarti di lavorazione tabacco (costole e polveri), manifattura", "0203"),
        ("Boues de nettoyage des cuves de stockage résines", "1607"),  # the article *des*
        ("甲苯储罐清罐污泥", "1607"),
        ("制糖厂 甜菜清洗泥土", "020401"),
        ("白酒厂 蒸馏后丢糟 批次J-0815", "020702"),
        ("屠宰车间 猪骨及脂肪边角料", "020202"),
    ],
)
def test_tobacco_tank_cleaning_and_food_plants_of_session_29(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Gâteau de filtre-presse, synthèse de tensioactifs", "0706"),  # surfactants' making
        ("Filterkaka från fettsyrarening, tvåltillverkning", "0706"),  # tvål|tillverkning
        ("Filterkage fra sæbefremstilling", "0706"),
        ("filter cake from soap making", "0706"),
        ("Tortas de filtración, fabricación de biocidas", "0704"),
        ("Muterlauge wässrig aus Azofarbstoff-Synthese", "0703"),  # German *Synthese*
    ],
)
def test_the_making_of_soaps_surfactants_and_biocides_is_an_origin(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_a_soap_named_alone_keeps_its_entry_where_used() -> None:
    assert classify("Seifenreste").candidates[0].code == "200130"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("canettes aluminium", "150104"),  # cans of aluminium: no aluminium of demolition
        ("Latas de aluminio vacías deformadas", "150104"),
        ("Lege drankblikjes uit afvullijn, gedeukt", "150104"),
        ("aluminiumburkar", "150104"),
        ("IBC of waste oil", "130205"),  # what it holds is the waste
        ("Fässer mit Lackschlamm", "080114"),
        ("Aerosol Dosen", "160504"),
        ("Broken wood pallets from goods-in warehouse", "150103"),
    ],
)
def test_packaging_is_what_it_is_made_of_not_what_it_holds(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("PE film offcuts, extrusion line 2", "0702"),  # no photographic film
        ("PA66 scrap, compounding", "0702"),  # no aluminium
        ("Afgekeurde partij PS-korrels (off-spec), extruderlijn 4", "0702"),
        ("Scarti di produzione PA66 (spurghi di estrusione)", "0702"),
        ("ABS regrind", "0702"),
    ],
)
def test_plastics_abbreviations_english_and_others_lacked(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Sfridi laterizi cotti (mattoni forati rotti) della fornace", "101208"),  # fired
        ("Kasserede gipsforme fra sanitetsfabrik", "101206"),
        ("Kasserade anodstumpar från elektrolyshallen", "100302"),
        ("Lodos de torre de refrigeración", "100126"),
    ],
)
def test_ceramic_rejects_moulds_anode_stubs_and_cooling_tower_sludge(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Phenol unit C-402 heavy ends / tar", "070108"),  # a chemical's unit makes it
        ("Goudrons lourds de distillation, unité caprolactame", "0701"),
        ("Zużyty węgiel aktywny, instalacja tlenku etylenu", "0701"),
        ("Phenolanlage Rückstände", "07"),  # a plant's residues, no discarded phenol
        ("PVC plant VCM residues", "0702"),
    ],
)
def test_a_basic_organic_chemical_beside_its_plant_names_07_01(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("H2SO4 alky unit acid sludge", "0501"),  # "unit acid": no making of an acid
        ("the manufacture PVC sludge", "0702"),  # a making word opening its clause
        ("Kasserede frekvensomformere og styretavler", "1602"),  # a control panel, no styrene
        ("Restos de limpieza de cisternas de benceno", "1607"),  # what the tank held
    ],
)
def test_a_chemical_or_a_making_word_in_the_wrong_place_names_no_origin(
    text: str, code: str
) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Verbruikte CoMo katalysatorkorrels uit hydrotreater, in big bags", "1608"),
        ("katalysatorfyld brugt", "1608"),  # a shape or filling no text knows after a material
        ("Bremsbelaege asbestfrei, Demontage Halle 3", "160112"),  # "-frei" is no reading
    ],
)
def test_a_compound_whose_head_no_text_knows_reads_its_modifier(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_a_modifier_cut_inside_a_word_is_no_reading() -> None:
    # "fjernvarm|erør" would be district heat: the pipes are a material
    text = "Udskiftede fjernvarmerør (stål) fra ledningsrenovering"
    assert classify(text).kind.value == "material"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Destillationsrest fra eddikesyreanlæg, tjæreagtig", "070108"),  # no distillery
        ("destillationsrest fra whiskydestilleri", "020702"),
        ("聚丙烯装置不合格品 粉料 批号PP2407", "070213"),  # polymers by Chinese names
        ("聚氯乙烯管材边角料", "0702"),
    ],
)
def test_danish_still_bottoms_and_chinese_polymer_names(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Carbón activo agotado filtros planta tratamiento agua de aporte", "190904"),
        ("Carboni attivi esausti dal trattamento acqua di processo (impianto demi)", "190904"),
        ("Fanghi di decarbonatazione, impianto trattamento acqua industriale", "190903"),
        ("charbon actif usé, traitement d'eau de chaudière", "190904"),
        ("lodos planta tratamiento aguas residuales", "1908"),  # waste water stays 19 08
        ("boues station de traitement d'eau usée", "1908"),
    ],
)
def test_industrial_water_preparation_is_19_09_in_more_languages(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize("text", ["agua de aporte 20 m3/h", "acqua di reintegro 5 m3/h"])
def test_make_up_water_offered_stays_water(text: str) -> None:
    assert classify(text).kind.value == "water"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("PVC window frames from house renovation", "170203"),  # renovation is construction
        ("PVC-kozijnen gedemonteerd bij renovatie woningen", "170203"),
        ("装修垃圾：废石膏板", "170802"),  # noqa: RUF001 (a Chinese register's colon)
        ("Kasserade kylmöbler (frysboxar) med HFC, personalmatsal", "200123"),
        ("Shredderschroot uit autoshredder, E40 kwaliteit", "191001"),
        ("Shredder-NE-Schwerfraktion (Zorba) nach Wirbelstromscheider", "191002"),
        ("Car shredder ASR after Fe and NF separation", "1910"),
        ("Precast concrete works own rejects - cracked hollowcore slabs", "101314"),
    ],
)
def test_renovation_shredder_fractions_and_refrigerated_cabinets(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Mangime composto fuori specifica, lotto 4471", "0203"),  # compound feed, no compost
        ("Futtermittel verdorben", "0203"),
        ("过期饲料", "0203"),
        ("Olio esausto di frittura reparto snack", "200125"),  # no engine oil
        ("zużyty olej po smażeniu", "200125"),
        ("Kości i ścinki tłuszczu z rozbioru półtusz wieprzowych, kat. 3", "0202"),
        ("graisse animale", "0202"),  # no spent fat of machining
    ],
)
def test_feed_frying_oil_and_animal_fat_are_food_wastes(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_compost_is_still_compost_in_italian() -> None:
    assert classify("ammendante compostato misto").candidates[0].code == "190503"


@pytest.mark.parametrize(
    "text",
    [
        "OCC cardboard baled, warehouse DC-North, approx 12 bales/wk",  # OCC: packaging again
        "Cardboard boxes (flattened) from inbound parts logistics, baler 2",
        "Wellpapp och kartong från inleveranser, balat",
    ],
)
def test_cardboard_said_packaging_or_delivered_is_packaging(text: str) -> None:
    assert classify(text).candidates[0].code == "150101"


def test_a_plants_own_bottles_stay_its_product() -> None:
    text = "Container glass plant - hot end rejects from IS machine, amber bottles"
    assert classify(text).candidates[0].code == "101112"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Cooling water pump CW-P3 (motor + casing), scrapped, power station", "160214"),
        ("Cement plant Kiln 1: fluorescent tubes from relamping, 300 pcs", "200121"),
    ],
)
def test_scrapped_pumps_and_lamps_are_what_they_are(text: str, code: str) -> None:
    assert classify(text).candidates[0].code == code


@pytest.mark.parametrize(
    "text",
    [
        "Heat pump output 400 kW",
        "Wärmepumpe 400 kW Abwärme",
        "pompa di calore 200 kW",
        "Abwärme Pumpen Halle 3",  # the pumps' waste heat, as German names it
        "Abwärme Kältemaschine Halle 3",
    ],
)
def test_a_heat_pumps_output_stays_heat(text: str) -> None:
    assert classify(text).kind.value == "heat"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Vlakglas uit kozijnvervanging", "170202"),  # a window frame replaced: construction
        ("Vlakglas van vervangen ramen, bouwproject", "170202"),
        ("boues de traitement des eaux usées", "1908"),  # waste water, no water preparation
    ],
)
def test_window_glass_replaced_and_french_sewage_sludge(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("laiterie : emballages en carton", "1501"),  # what the packaging is made of
        ("central lechera: envases de cartón", "1501"),
        ("Caseificio: imballaggi di cartone", "1501"),
        ("Pastificio: pasta fuori specifica e rotture di linea, big bag", "0203"),
        ("Scarti di PVC plastificato (granulo fuori specifica) dalla linea compound", "0702"),
    ],
)
def test_packaging_after_a_label_and_pasta_factories(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)


def test_what_a_container_after_a_label_holds_is_still_the_row() -> None:
    assert classify("Lager: Fässer mit Altöl").candidates[0].code == "130205"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("asbestfreier Bauschutt", "170107"),  # -freier, -fritt, -frie: absent, no asbestos
        ("asbestfritt rivningsavfall", "1709"),
        ("rénovation du four briques réfractaires", "1611"),  # a furnace, no building
        ("foder af ildfast materiale", "1611"),  # Danish foder: a lining here, no feed
    ],
)
def test_what_the_review_of_session_30_found(text: str, code: str) -> None:
    answer = classify(text)
    assert answer.candidates[0].code.startswith(code)
    assert not answer.candidates[0].hazardous


@pytest.mark.parametrize(
    "text", ["Fernwärmerohre Abbruch", "Kühlwasserpumpe defekt", "Druckluftschläuche defekt"]
)
def test_a_utility_before_an_unknown_head_is_its_equipment(text: str) -> None:
    assert classify(text).kind.value == "material"


def test_a_compound_read_by_its_modifier_alone_is_left_for_review() -> None:
    answer = classify("Hydraulikölschläuche")  # hoses, not the oil they carried
    assert answer.needs_review


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Yarn cut-offs & selvedge waste, weaving shed 3", "0402"),
        ("Stofrester fra syning af møbelbetræk", "0402"),
        ("蓝湿皮削匀屑，含铬", "040108"),  # noqa: RUF001 (a Chinese register's comma)
        ("Afvaltoner poeder uit opvangbakken digitale pers", "0803"),
        ("Utgångna foderrester från fodersilo, mögelangripna", "0203"),
    ],
)
def test_textile_leather_toner_and_feed_words(text: str, code: str) -> None:
    assert classify(text).candidates[0].code.startswith(code)
