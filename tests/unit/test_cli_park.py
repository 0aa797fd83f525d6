"""``symbiosis park check``, ``symbiosis schemas export`` and ``symbiosis match``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from domain.park import bundled_park_path, load_park
from symbiosis.cli import app

runner = CliRunner()
KALUNDBORG = str(bundled_park_path("kalundborg"))

# Written by hand from the matching rules (kind, temperature + 5 K approach, EWC and hazard,
# water quality, gas species and purity, quantity after unit conversion, distance on both sides,
# window, different companies) applied to domain/data/parks/kalundborg.yaml; see the comments
# there for why each pair matches and why five needs match nothing.
EXPECTED_PAIRS = {
    ("argo-waste-gypsum", "gyproc-gypsum"),
    ("asnaes-gypsum", "gyproc-gypsum"),
    ("asnaes-steam", "fish-farm-heat"),
    ("asnaes-steam", "kf-district-heat"),
    ("asnaes-steam", "novo-steam"),
    ("asnaes-warm-water", "fish-farm-heat"),
    ("kf-sludge", "farms-fertiliser"),
    ("kf-treated-effluent", "asnaes-reuse-water"),
    ("novo-yeast-slurry", "farms-fertiliser"),
    ("novozymes-biomass", "farms-fertiliser"),
    ("refinery-cooling-water", "asnaes-reuse-water"),
    ("refinery-fuel-gas", "gyproc-fuel-gas"),
}
UNMATCHED_NEEDS = {
    "refinery-hp-steam",  # temperature: 250 degC supply < 320 + 5
    "inbicon-steam",  # same company (Orsted) as the only steam supplier
    "asnaes-fuel-gas",  # quantity: 3000 m^3/h < 5000
    "argo-sludge-fuel",  # hazardous 05 01 06* not accepted
    "aalborg-fly-ash",  # distance: ~168 km > 100 km
}

BAD_PARK = """\
park: Bad
sites:
  - id: plant
    name: Plant
    company: co
    lat: 55.6
    lon: 11.0
    streams:
      - id: plant-heat
        kind: heat
        unit: MWW
        nominal: 5
        temperature_c: 90
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "park.yaml"
    path.write_text(text)
    return path


# --- park check --------------------------------------------------------------------------------


def test_park_check_ok() -> None:
    result = runner.invoke(app, ["park", "check", KALUNDBORG])
    assert result.exit_code == 0, result.output
    assert "Kalundborg Symbiosis" in result.stdout
    assert "ok, 12 sites of 10 companies" in result.stdout
    for kind in ("heat", "steam", "water", "material", "gas", "total"):
        assert kind in result.stdout
    total = next(line for line in result.stdout.splitlines() if "total" in line)
    assert re.findall(r"\d+", total) == ["14", "12", "2"]  # streams, needs, exchanges


def test_park_check_counts_one_site_of_one_company_in_the_singular(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_PARK.replace("unit: MWW", "unit: MW"))
    result = runner.invoke(app, ["park", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok, 1 site of 1 company" in result.stdout


def test_park_check_bad_file(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_PARK)
    result = runner.invoke(app, ["park", "check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"{path}:11: sites[0].streams[0].unit: 'MWW' is not a unit pint understands; "
        "did you mean 'MW'?"
    )
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("command", [["park", "check"], ["match"]])
def test_missing_file_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2  # the file cannot be read: usage, not a problem in a park
    assert result.stderr.strip() == f"{tmp_path / 'nope.yaml'}: no such file"
    assert "Traceback" not in result.output


def test_park_check_json_of_a_valid_park() -> None:
    result = runner.invoke(app, ["park", "check", KALUNDBORG, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["file"], report["ok"], report["problems"]) == (KALUNDBORG, True, [])
    summary = report["summary"]
    assert summary["park"].startswith("Kalundborg Symbiosis")
    assert (summary["problems"], summary["sites"], summary["companies"]) == (0, 12, 10)
    assert (summary["streams"], summary["needs"], summary["exchanges"]) == (14, 12, 2)
    assert set(summary["kinds"]) == {"heat", "steam", "water", "material", "gas"}
    assert sum(k["streams"] for k in summary["kinds"].values()) == 14


def test_park_check_json_lists_problems_as_objects(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_PARK.replace("temperature_c: 90", "temperature_c: hot"))
    result = runner.invoke(app, ["park", "check", str(path), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["summary"] == {"problems": 2}
    assert report["problems"][0] == {
        "file": str(path),
        "line": 11,
        "path": "sites[0].streams[0].unit",
        "reason": "'MWW' is not a unit pint understands; did you mean 'MW'?",
    }
    assert report["problems"][1]["path"] == "sites[0].streams[0].temperature_c"


@pytest.mark.parametrize(
    ("text", "code", "line", "reason"),
    [
        (None, 2, None, "no such file"),
        ("park: x\nsites: [\n", 1, 3, "YAML syntax error: "),
    ],
)
def test_park_check_json_of_an_unreadable_file(
    tmp_path: Path, text: str | None, code: int, line: int | None, reason: str
) -> None:
    path = tmp_path / "park.yaml"
    if text is not None:
        path.write_text(text)
    result = runner.invoke(app, ["park", "check", str(path), "--json"])
    assert result.exit_code == code
    (problem,) = json.loads(result.stdout)["problems"]
    assert (problem["file"], problem["line"], problem["path"]) == (str(path), line, "")
    assert problem["reason"].startswith(reason)


def test_usage_error_exits_2() -> None:
    result = runner.invoke(app, ["park", "check"])
    assert result.exit_code == 2


# --- schemas export ----------------------------------------------------------------------------

MODELS = [
    "Park",
    "ReadingsRecord",
    "SiteReadings",
    "ReadingBatch",
    "Reading",
    "LedgerEntry",
    "Alert",
    "Site",
    "Stream",
    "SiteHeader",
    "StreamRecord",
    "Need",
    "Exchange",
    "Offer",
    "Rejection",
    "DeadLetter",
    "WebhookState",
    "OmfRecord",
    "AlertWebhook",
    "AlertCloudEvent",
]

_BATCH = {
    "batch_id": "b-1",
    "stream": "asnaes-steam",
    "readings": [
        {"meter": "asnaes-steam", "ts": "2025-01-01T00:00:00Z", "value": 61.2, "unit": "MW"}
    ],
}

SAMPLES = {
    "ReadingsRecord": {"site": "asnaes", "batches": [_BATCH]},
    "SiteReadings": {"schema_version": 2, "site": "asnaes", "batches": [_BATCH]},
    "Reading": {"meter": "asnaes-steam", "ts": "2025-01-01T00:00:00Z", "value": 61.2, "unit": "MW"},
    "ReadingBatch": {
        "batch_id": "b-1",
        "stream": "asnaes-steam",
        "readings": [
            {"meter": "asnaes-steam", "ts": "2025-01-01T00:00:00Z", "value": 61.2, "unit": "MW"}
        ],
    },
    "LedgerEntry": {
        "stream": "asnaes-steam",
        "site": "asnaes",
        "kind": "steam",
        "unit": "MW",
        "window_s": 10,
        "measured": 60,
        "committed": 25,
        "available": 35,
        "steadiness": 0.98,
        "samples": 10,
        "updated_at": "2025-01-01T00:00:10Z",
    },
    "Alert": {
        "alert_id": "asnaes-steam:novo-steam:1",
        "idempotency_key": "asnaes-steam:novo-steam:1:opened",
        "event": "opened",
        "stream": "asnaes-steam",
        "need": "novo-steam",
        "kind": "steam",
        "available": 35,
        "unit": "MW",
        "quantity": 20,
        "need_unit": "MW",
        "distance_km": 3.2,
        "benefit": {"co2e_t_per_yr": 40000},
        "ts": "2025-01-01T00:00:10Z",
    },
    "Stream": {"id": "s", "kind": "heat", "unit": "MW", "nominal": 3, "temperature_c": 90},
    "Need": {"id": "n", "site": "x", "kind": "heat", "unit": "kW", "min_quantity": 100},
    "Site": {"id": "x", "name": "X", "company": "c", "lat": 55.6, "lon": 11.1},
    "Exchange": {"id": "e", "stream": "s", "need": "n", "quantity": 1, "unit": "MW"},
    "Offer": {
        "id": "o1",
        "site": "x",
        "description": "FGD gypsum, wet",
        "quantity": 240,
        "unit": "t/wk",
        "source": "stock.xlsx:14",
    },
    "DeadLetter": {
        "alert": {
            "alert_id": "al-1",
            "idempotency_key": "al-1:1",
            "event": "opened",
            "stream": "asnaes-steam",
            "need": "novo-steam",
            "kind": "steam",
            "available": 35,
            "unit": "MW",
            "quantity": 20,
            "need_unit": "MW",
            "distance_km": 3.2,
            "benefit": {"co2e_t_per_yr": 40000},
            "ts": "2025-01-01T00:00:10Z",
        },
        "url": "https://partner.example/hooks",
        "attempts": 6,
        "last_status": 503,
        "error": "HTTP 503",
        "permanent": False,
        "ts": "2025-01-01T00:05:00Z",
    },
    "Rejection": {
        "stage": "sink",
        "source": "symbiosis.readings/0/17",
        "reason": "stream: String should match pattern",
        "payload": "{}",
        "ts": "2025-01-01T00:00:10Z",
    },
}


def test_schemas_export(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "schemas"
    result = runner.invoke(app, ["schemas", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f"{m}.schema.json" for m in MODELS), "openapi.json"]
    )
    openapi = json.loads((out / "openapi.json").read_text())
    assert openapi["openapi"].startswith("3.")
    assert "/v1/readings" in openapi["paths"]
    schemas = {m: json.loads((out / f"{m}.schema.json").read_text()) for m in MODELS}
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"], name
        assert schema["description"], name
    assert schemas["Park"]["title"] == "Symbiosis park file"

    for name, sample in SAMPLES.items():
        jsonschema.validate(sample, schemas[name])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**SAMPLES["Reading"], "meter": "Not A Slug"}, schemas["Reading"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**SAMPLES["Stream"], "colour": "red"}, schemas["Stream"])

    first = {m: (out / f"{m}.schema.json").read_bytes() for m in MODELS}
    assert runner.invoke(app, ["schemas", "export", str(out)]).exit_code == 0
    assert {m: (out / f"{m}.schema.json").read_bytes() for m in MODELS} == first  # stable


def test_schemas_export_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["schemas", "export", str(blocker / "sub")])
    assert result.exit_code == 2  # the environment, not a problem in the input
    assert "cannot write schemas" in result.stderr


# --- match -------------------------------------------------------------------------------------


def match_lines(path: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["match", path])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_match_prints_exactly_the_expected_pairs() -> None:
    lines = match_lines(KALUNDBORG)
    pairs = [(str(m["stream"]), str(m["need"])) for m in lines]
    assert set(pairs) == EXPECTED_PAIRS
    assert pairs == sorted(pairs)  # sorted by stream, then need; no duplicates
    assert not UNMATCHED_NEEDS & {need for _, need in pairs}
    for m in lines:
        assert set(m) == {
            "stream",
            "need",
            "kind",
            "available",
            "unit",
            "quantity",
            "need_unit",
            "distance_km",
            "co2e_t_per_yr",
        }


def test_match_values_follow_the_park_file() -> None:
    by_pair = {(m["stream"], m["need"]): m for m in match_lines(KALUNDBORG)}
    steam = by_pair["asnaes-steam", "novo-steam"]
    # 60 MW nominal minus the 25 MW committed to Novo Nordisk; the need takes at most
    # 45 MW of which 25 are committed, so 20 MW more.
    assert (steam["kind"], steam["available"], steam["unit"]) == ("steam", 35.0, "MW")
    assert (steam["quantity"], steam["need_unit"]) == (20.0, "MW")
    heat = by_pair["asnaes-steam", "kf-district-heat"]
    assert (heat["quantity"], heat["need_unit"]) == (35000.0, "kW")
    gypsum = by_pair["argo-waste-gypsum", "gyproc-gypsum"]
    assert gypsum["quantity"] == pytest.approx(40 * 365.25)  # t/d -> t/yr (Julian year)
    water = by_pair["refinery-cooling-water", "asnaes-reuse-water"]
    assert (water["quantity"], water["need_unit"]) == (7200.0, "m^3/d")
    gas = by_pair["refinery-fuel-gas", "gyproc-fuel-gas"]
    assert gas["quantity"] == 2500.0  # capped by the need's max_quantity
    assert 0.3 < float(str(by_pair["asnaes-warm-water", "fish-farm-heat"]["distance_km"])) < 0.7


def test_match_prints_figures_without_noise_or_false_precision() -> None:
    for line in match_lines(KALUNDBORG):
        for key in ("available", "quantity", "co2e_t_per_yr"):
            value = line[key]
            if value is None:
                continue
            mantissa = repr(abs(value)).split("e")[0]  # the shortest text giving the float
            digits = mantissa.replace(".", "").strip("0")
            assert len(digits) <= 6, (key, value)  # six significant figures at most


def test_match_on_a_bad_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["match", str(write(tmp_path, BAD_PARK))])
    assert result.exit_code == 1
    assert "'MWW' is not a unit pint understands" in result.stderr
    assert result.stdout == ""


def test_match_with_no_pairs(tmp_path: Path) -> None:
    text = BAD_PARK.replace("MWW", "MW")
    result = runner.invoke(app, ["match", str(write(tmp_path, text))])
    assert result.exit_code == 0
    assert result.stdout == ""


def test_match_uses_the_time_window(tmp_path: Path) -> None:
    text = BAD_PARK.replace("MWW", "MW") + (
        "  - {id: town, name: Town, company: town-co, lat: 55.61, lon: 11.01}\n"
        "needs:\n"
        "  - id: town-heat\n"
        "    site: town\n"
        "    kind: heat\n"
        "    unit: MW\n"
        "    min_quantity: 1\n"
        "    min_duration_s: 3600\n"  # never blocks at nominal: taken as sustained forever
        "    active_until: UNTIL\n"
    )
    future = datetime(datetime.now(UTC).year + 50, 1, 1, tzinfo=UTC).isoformat()
    lines = match_lines(str(write(tmp_path, text.replace("UNTIL", future))))
    assert [(m["stream"], m["need"]) for m in lines] == [("plant-heat", "town-heat")]
    assert match_lines(str(write(tmp_path, text.replace("UNTIL", "2001-01-01T00:00:00Z")))) == []


def test_committed_docs_schemas_are_up_to_date(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    assert runner.invoke(app, ["schemas", "export", str(tmp_path)]).exit_code == 0
    stale = [
        p.name
        for p in sorted(tmp_path.iterdir())
        if not (docs / p.name).is_file() or (docs / p.name).read_bytes() != p.read_bytes()
    ]
    assert not stale, f"run `symbiosis schemas export docs/schemas` to refresh {stale}"


# --- match --explain ---------------------------------------------------------------------------

WHY_UNMATCHED = {  # need -> (the stream it would take, the rule that refuses it, words said)
    "refinery-hp-steam": ("asnaes-steam", "temperature", "250 °C < 320 °C + 5 K"),
    "inbicon-steam": ("asnaes-steam", "company", "same company (orsted)"),
    "asnaes-fuel-gas": ("refinery-fuel-gas", "quantity", "3000 m^3/h available < 5000 m^3/h"),
    "argo-sludge-fuel": ("refinery-oily-sludge", "ewc", "05 01 06* is hazardous"),
    "aalborg-fly-ash": ("asnaes-fly-ash", "distance", "km > the need's 100 km"),
}


def explain(need: str) -> dict[str, Any]:
    result = runner.invoke(app, ["match", KALUNDBORG, "--explain", need, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize("need", sorted(WHY_UNMATCHED))
def test_explain_says_why_a_need_is_not_matched(need: str) -> None:
    report = explain(need)
    assert report["need"] == need
    by_stream = {s["stream"]: s for s in report["streams"]}
    assert len(by_stream) == 14  # every stream of the park
    assert not any(s["match"] for s in report["streams"])
    stream, rule, words = WHY_UNMATCHED[need]
    failed = {c["rule"]: c["detail"] for c in by_stream[stream]["checks"] if not c["ok"]}
    assert rule in failed, failed
    assert words in failed[rule]


def test_explain_agrees_with_match_for_every_need() -> None:
    pairs = {(str(m["stream"]), str(m["need"])) for m in match_lines(KALUNDBORG)}
    for need in load_park(Path(KALUNDBORG)).needs:
        report = explain(need.id)
        matched = {(s["stream"], need.id) for s in report["streams"] if s["match"]}
        assert matched == {p for p in pairs if p[1] == need.id}, need.id
        for s in report["streams"]:
            checks = s["checks"]
            assert "matcher" not in {c["rule"] for c in checks}  # the rules agree with it
            assert s["match"] == all(c["ok"] for c in checks)
            assert (s["quantity"] is not None) == s["match"]


def test_explain_as_a_table_for_a_person() -> None:
    result = runner.invoke(
        app, ["match", KALUNDBORG, "--explain", "novo-steam"], env={"COLUMNS": "120"}
    )
    assert result.exit_code == 0, result.output
    assert "need novo-steam of novo-nordisk" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "asnaes-steam" in line)
    assert "yes" in row
    assert "20 MW at 3.2 km" in row
    assert "same company (novo-nordisk)" in result.stdout  # its own stream, refused


def test_explain_an_unknown_need_is_a_usage_error() -> None:
    result = runner.invoke(app, ["match", KALUNDBORG, "--explain", "novo-stem"])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("no need 'novo-stem'; did you mean 'novo-steam'?")
