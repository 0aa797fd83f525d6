"""Park files: the bundled park loads; bad files fail with file:line: field: message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from domain.errors import ParkFileError
from domain.park import (
    DEMO_PARK,
    ParkValidationError,
    bundled_park_path,
    load_park,
    nominal_available,
    park_json_schema,
    parse_park,
)
from schemas.common import ResourceKind
from schemas.registry import WaterQuality

BASE = """\
park: Test park
sites:
  - id: plant
    name: Plant
    company: co-a
    lat: 55.66
    lon: 11.08
    streams:
      - id: plant-heat
        kind: heat
        unit: MW
        nominal: 5
        temperature_c: 90
      - id: plant-ash
        kind: material
        unit: t/d
        nominal: 20
        ewc: "100102"
  - id: town
    name: Town
    company: co-b
    lat: 55.68
    lon: 11.10
needs:
  - id: town-heat
    site: town
    kind: heat
    unit: kW
    min_quantity: 1000
    min_temperature_c: 70
    max_distance_km: 10
  - id: town-ash
    site: town
    kind: material
    unit: t/yr
    min_quantity: 100
    accepts_ewc: ["1001"]
exchanges:
  - id: plant-town-heat
    stream: plant-heat
    need: town-heat
    quantity: 2
    unit: MW
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def errors_of(text: str, source: str = "x.yaml") -> list[str]:
    with pytest.raises(ParkFileError) as info:
        parse_park(text, source)
    return str(info.value).splitlines()


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --- the bundled park -------------------------------------------------------------------------


def test_bundled_park_loads() -> None:
    park = load_park(bundled_park_path(DEMO_PARK))
    assert park.park.startswith("Kalundborg")
    assert 8 <= len(park.sites) <= 12
    assert len({s.company for s in park.sites}) >= 6
    assert 12 <= len(park.streams()) <= 16
    assert 10 <= len(park.needs) <= 14
    assert 1 <= len(park.exchanges) <= 2
    assert {st.kind for _, st in park.streams()} == set(ResourceKind)
    # coordinates are Kalundborg's (one deliberately distant cement plant aside)
    local = [s for s in park.sites if s.id != "aalborg-portland"]
    assert all(55.65 <= s.lat <= 55.71 and 11.06 <= s.lon <= 11.15 for s in local)
    qualities = {st.water_quality for _, st in park.streams() if st.kind is ResourceKind.WATER}
    assert qualities == {WaterQuality.COOLING, WaterQuality.GREY}
    assert all(st.ewc for _, st in park.streams() if st.kind is ResourceKind.MATERIAL)


def test_bundled_park_path_unknown_name() -> None:
    with pytest.raises(ParkFileError, match="no bundled park named 'atlantis'"):
        bundled_park_path("atlantis")


def test_base_fixture_is_valid() -> None:
    park = parse_park(BASE, "x.yaml")
    assert [n.id for n in park.needs] == ["town-heat", "town-ash"]


# --- errors name file, line and field ---------------------------------------------------------


def test_unknown_unit(tmp_path: Path) -> None:
    text = edit("unit: MW\n        nominal: 5", "unit: MWW\n        nominal: 5")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParkFileError) as info:
        load_park(path)
    line = line_of(text, "unit: MWW")
    expected = (
        f"{path}:{line}: sites[0].streams[0].unit: 'MWW' is not a unit pint understands; "
        "did you mean 'MW'?"
    )
    assert str(info.value) == expected


def test_bad_slug() -> None:
    text = edit("- id: plant-ash", "- id: Plant Ash")
    line = line_of(text, "id: Plant Ash")
    [error] = errors_of(text)
    assert error.startswith(f"x.yaml:{line}: sites[0].streams[1].id: must be a slug")
    assert "(got 'Plant Ash')" in error


def test_unknown_site_reference_points_at_the_need() -> None:
    text = edit("site: town\n    kind: material", "site: twon\n    kind: material")
    line = line_of(text, "site: twon")
    assert errors_of(text) == [
        f"x.yaml:{line}: needs[1].site: need 'town-ash' names unknown site 'twon'; "
        "did you mean 'town'?"
    ]


def test_duplicate_ids_point_at_the_second_use() -> None:
    text = edit("- id: town-ash", "- id: town-heat")
    first, second = line_of(text, "id: town-heat"), line_of(text, "id: town-heat", 2)
    assert errors_of(text) == [
        f"x.yaml:{second}: needs[1].id: need id 'town-heat' is used more than once "
        f"(also at needs[0].id, line {first})"
    ]


def test_duplicate_stream_id_across_sites() -> None:
    text = edit(
        "    lon: 11.10\n",
        "    lon: 11.10\n    streams:\n      - {id: plant-ash, "
        "kind: water, unit: m^3/h, nominal: 3}\n",
    )
    [error] = errors_of(text)
    line = line_of(text, "{id: plant-ash")
    assert error.startswith(f"x.yaml:{line}: sites[1].streams[0].id: stream id 'plant-ash' is used")


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("unit: kW", "unit: t/h", "needs[0].unit", "'t/h' is not a rate a heat need"),
        ("unit: t/d", "unit: m^3/d", "sites[0].streams[1].unit", "material stream"),
        (
            "unit: MW\n        nominal: 5",
            "unit: MWh\n        nominal: 5",
            "sites[0].streams[0].unit",
            "'MWh' is not a rate a heat stream",
        ),
    ],
)
def test_unit_of_the_wrong_dimension(old: str, new: str, field: str, words: str) -> None:
    text = edit(old, new)
    line = line_of(text, new.splitlines()[0].strip())
    [error] = errors_of(text)
    assert error.startswith(f"x.yaml:{line}: {field}: ")
    assert words in error


def test_steam_may_be_given_as_mass_flow() -> None:
    text = edit("kind: heat\n        unit: MW", "kind: steam\n        unit: t/h")
    parse_park(text, "x.yaml")


def test_gas_volume_without_species_is_valid() -> None:
    # compared by volume with volume needs; only a mass <-> volume pair needs a species
    text = edit(
        "  - id: town\n",
        "  - id: town\n    streams:\n      - id: town-gas\n"
        "        kind: gas\n        unit: m^3/h\n        nominal: 100\n",
    )
    park = parse_park(text, "x.yaml")
    assert park.site("town").streams[0].unit == "m^3/h"


def test_gas_power_unit_is_not_a_rate_of_gas() -> None:
    text = edit(
        "  - id: town\n",
        "  - id: town\n    streams:\n      - id: town-gas\n"
        "        kind: gas\n        unit: GJ/h\n        nominal: 100\n",
    )
    [error] = errors_of(text)
    assert error.startswith(f"x.yaml:{line_of(text, 'unit: GJ/h')}: sites[1].streams[0].unit: ")
    assert "use volume flow (m^3/h) or mass flow (t/yr)" in error


def test_yaml_syntax_error_has_its_line() -> None:
    text = edit("    lat: 55.68\n", "    lat: [55.68\n")
    [error] = errors_of(text)
    assert error.startswith("x.yaml:")
    assert "YAML syntax error" in error
    assert int(error.split(":")[1]) >= line_of(text, "lat: [55.68")


def test_naive_datetime_is_rejected() -> None:
    text = edit(
        "    max_distance_km: 10\n",
        "    max_distance_km: 10\n    active_from: 2024-05-01 08:00:00\n",
    )
    line = line_of(text, "active_from")
    [error] = errors_of(text)
    assert error.startswith(f"x.yaml:{line}: needs[0].active_from: Input should have timezone info")


def test_every_error_is_listed_sorted_by_line() -> None:
    text = edit("unit: MW\n        nominal: 5", "unit: MWW\n        nominal: 5")
    text = edit("site: town\n    kind: material", "site: nowhere\n    kind: material", text)
    text = edit('ewc: "100102"', 'ewc: "999999"', text)
    text = edit("    lon: 11.10\n", "    lon: 11.10\n    colour: blue\n", text)
    errors = errors_of(text)
    assert [e.split(": ")[1] for e in errors] == [
        "sites[0].streams[0].unit",
        "sites[0].streams[1].ewc",
        "sites[1].colour",
        "needs[1].site",
    ]
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines)


def test_unknown_field_suggests_the_right_one() -> None:
    text = edit("min_temperature_c: 70", "min_temprature_c: 70")
    [error] = errors_of(text)
    assert error == (
        f"x.yaml:{line_of(text, 'min_temprature_c')}: needs[0].min_temprature_c: unknown field "
        "(not part of a need); did you mean 'min_temperature_c'?"
    )


def test_missing_field_points_at_its_entry() -> None:
    text = edit("    min_quantity: 1000\n", "")
    assert errors_of(text) == [
        f"x.yaml:{line_of(text, 'id: town-heat')}: needs[0].min_quantity: required field is missing"
    ]


def test_ewc_codes_are_checked_against_the_list() -> None:
    text = edit('ewc: "100102"', 'ewc: "100100"')
    text = edit('accepts_ewc: ["1001"]', 'accepts_ewc: ["1001", "1099", "21", "12345"]', text)
    line = line_of(text, "accepts_ewc")
    assert errors_of(text) == [
        f"x.yaml:{line_of(text, 'ewc: ')}: sites[0].streams[1].ewc: "
        "EWC code '100100' is not on the European List of Waste",
        f"x.yaml:{line}: needs[1].accepts_ewc[1]: '1099' is not an EWC sub-chapter",
        f"x.yaml:{line}: needs[1].accepts_ewc[2]: '21' is not an EWC chapter",
        f"x.yaml:{line}: needs[1].accepts_ewc[3]: must be an EWC chapter (2 digits), "
        "sub-chapter (4) or code (6) (got '12345')",
    ]


def test_an_ewc_code_on_heat_is_refused() -> None:
    """An EWC code names a waste material: a heat stream with one is a mistake."""
    text = edit(
        "  - id: town\n",
        "  - id: town\n    streams:\n      - id: town-boiler\n"
        "        kind: heat\n        unit: MW\n        nominal: 5\n"
        '        temperature_c: 90\n        ewc: "100102"\n',
    )
    [error] = errors_of(text)
    line = line_of(text, 'ewc: "100102"', nth=2)
    assert error.startswith(f"x.yaml:{line}: sites[1].streams[0].ewc: ")
    assert "a heat stream has no EWC code (got 10 01 02)" in error


def test_unquoted_ewc_codes_are_read_as_written() -> None:
    # Unquoted, YAML would read 020304 as the octal integer 66756 and 100102 as an int.
    text = edit('ewc: "100102"', "ewc: 020304")
    text = edit('accepts_ewc: ["1001"]', "accepts_ewc: [0203, 10]", text)
    park = parse_park(text, "x.yaml")
    assert park.site("plant").streams[1].ewc == "020304"
    assert park.needs[1].accepts_ewc == ["0203", "10"]


def test_exchange_checks() -> None:
    text = edit("quantity: 2\n    unit: MW", "quantity: 2\n    unit: t/d")
    [error] = errors_of(text)
    assert error.startswith(f"x.yaml:{line_of(text, 'unit: t/d', 2)}: exchanges[0].unit: ")
    text = edit("stream: plant-heat", "stream: plant-ash")
    serve, unit = errors_of(text)
    assert serve.endswith(
        "exchanges[0].need: a material stream cannot serve a heat need ('plant-ash' -> 'town-heat')"
    )
    assert "exchanges[0].unit: exchange 'plant-town-heat' unit: cannot convert MW to t/d" in unit
    text = edit("need: town-heat", "need: town-hot")
    [error] = errors_of(text)
    assert error == (
        f"x.yaml:{line_of(text, 'need: town-hot')}: exchanges[0].need: exchange "
        "'plant-town-heat' names unknown need 'town-hot'; did you mean 'town-heat'?"
    )


def test_infinite_quantity_is_rejected() -> None:
    [error] = errors_of(edit("nominal: 20", "nominal: .inf"))
    assert error.endswith("sites[0].streams[1].nominal: must be a finite number")


def test_duplicate_yaml_key() -> None:
    text = edit("    lat: 55.68\n", "    lat: 55.68\n    lat: 55.69\n")
    assert errors_of(text) == [
        f"x.yaml:{line_of(text, 'lat: 55.69')}: sites[1].lat: duplicate key "
        f"(first at line {line_of(text, 'lat: 55.68')})"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "x.yaml: the file is empty"),
        ("# nothing but a comment\n", "x.yaml: the file is empty"),
        ("- a\n- b\n", "x.yaml:1: the top level must be a mapping"),
        ("just words\n", "x.yaml:1: the top level must be a mapping"),
        ("park: !!python/object:os.system x\n", "x.yaml:1: YAML error: could not determine"),
    ],
)
def test_not_a_park_document(text: str, message: str) -> None:
    [error] = errors_of(text)
    assert error.startswith(message)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ParkFileError, match=r"nope\.yaml: no such file"):
        load_park(tmp_path / "nope.yaml")
    with pytest.raises(ParkFileError, match="is a directory"):
        load_park(tmp_path)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"park: \xff\xfe\n")
    with pytest.raises(ParkFileError, match="not UTF-8"):
        load_park(binary)


def test_validation_error_carries_issues() -> None:
    with pytest.raises(ParkValidationError) as info:
        parse_park(edit("lat: 55.66", "lat: 95.66"), "x.yaml")
    [issue] = info.value.issues
    assert (issue.source, issue.line, issue.field) == ("x.yaml", 6, "sites[0].lat")


# --- optional fields ---------------------------------------------------------------------------

OPTIONAL = """\
schema_version: 1
park: Everything optional
sites:
  - id: works
    name: Works
    company: works-co
    lat: 55.0
    lon: 11.0
    disclose_identity: true
    streams:
      - id: works-water
        name: Rinse water
        kind: water
        unit: m^3/h
        nominal: 40
        water_quality: process
        meters: [works-water-a, works-water-b]
        max_distance_km: 3
        variability: 0.2
        description: Rinse water after filtration
      - id: works-h2
        kind: gas
        unit: t/yr
        nominal: 900
        gas_species: h2
        purity_pct: 99.5
      - id: works-steam
        kind: steam
        unit: t/h
        nominal: 12
        temperature_c: 180
  - id: mill
    name: Mill
    company: mill-co
    lat: 55.01
    lon: 11.01
needs:
  - id: mill-water
    site: mill
    kind: water
    unit: m^3/d
    min_quantity: 100
    max_quantity: 900
    accepts_water_quality: [demineralised, potable, process]
    min_duration_s: 600
    active_from: 2024-01-01T00:00:00Z
    active_until: 2030-01-01T00:00:00+01:00
    subscription:
      webhook: https://mill.example/hooks/symbiosis
  - id: mill-h2
    site: mill
    kind: gas
    unit: kg/h
    min_quantity: 10
    gas_species: h2
    min_purity_pct: 99
  - id: mill-heat
    site: mill
    kind: heat
    unit: MW
    min_quantity: 1
    min_temperature_c: 90
    approach_margin_k: 10
exchanges:
  - id: works-mill-water
    stream: works-water
    need: mill-water
    quantity: 10
    unit: m^3/h
    start: 2024-02-01T00:00:00Z
    end: 2026-02-01T00:00:00Z
"""


def test_a_park_with_optional_fields_loads() -> None:
    park = parse_park(OPTIONAL, "optional.yaml")
    water = park.site("works").streams[0]
    assert water.meter_ids == ["works-water-a", "works-water-b"]
    assert water.water_quality is WaterQuality.PROCESS
    need = park.needs[0]
    assert need.active_until == datetime(2029, 12, 31, 23, 0, tzinfo=UTC)
    assert need.subscription is not None
    assert str(need.subscription.webhook) == "https://mill.example/hooks/symbiosis"
    assert park.needs[2].approach_margin_k == 10


def test_yaml_anchors_and_merge_keys() -> None:
    text = OPTIONAL.replace(
        "  - id: mill-h2\n    site: mill\n    kind: gas\n",
        ("  - &h2need\n    id: mill-h2\n    site: mill\n    kind: gas\n"),
        1,
    )
    text += "\n"  # merge a copy of the h2 need under another id
    text = text.replace(
        "exchanges:\n",
        ("  - <<: *h2need\n    id: mill-h2-backup\n    min_quantity: 5\nexchanges:\n"),
        1,
    )
    park = parse_park(text, "x.yaml")
    backup = park.needs[-1]
    assert (backup.id, backup.gas_species, backup.min_quantity) == ("mill-h2-backup", "h2", 5)


# --- nominal availability and the JSON Schema ------------------------------------------------


def test_nominal_available_subtracts_active_exchanges() -> None:
    park = parse_park(OPTIONAL, "x.yaml")
    during = nominal_available(park, datetime(2025, 1, 1, tzinfo=UTC))
    assert during == {"works-water": 30.0, "works-h2": 900.0, "works-steam": 12.0}
    assert nominal_available(park, datetime(2023, 1, 1, tzinfo=UTC))["works-water"] == 40.0
    assert nominal_available(park, datetime(2026, 2, 1, tzinfo=UTC))["works-water"] == 40.0


def test_nominal_available_converts_units_and_never_goes_negative() -> None:
    text = edit("quantity: 2\n    unit: MW", "quantity: 9000\n    unit: kW")
    park = parse_park(text, "x.yaml")
    assert nominal_available(park, datetime.now(UTC))["plant-heat"] == 0.0
    park = parse_park(edit("quantity: 2\n    unit: MW", "quantity: 2000\n    unit: kW"), "x.yaml")
    assert nominal_available(park, datetime.now(UTC))["plant-heat"] == pytest.approx(3.0)


def test_park_json_schema_describes_park_files() -> None:
    schema = park_json_schema()
    assert schema["title"] == "Symbiosis park file"
    assert "description" in schema
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bundled = load_park(bundled_park_path())
    validator.validate(bundled.model_dump(mode="json", exclude_none=True))
    validator.validate(parse_park(OPTIONAL, "x").model_dump(mode="json", exclude_none=True))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"park": "x", "sites": [{"id": "Bad Id"}]})
