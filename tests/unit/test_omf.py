"""OMF 1.1/1.2 over HTTP: the protocol (domain/omf.py) and the route, without services.

Messages are the specification's own examples (osisoft/OMF-Docs: types/type-message-example.md,
containers/container-msg-example.md, data/data-msg-example.md, omf-msg-sample.md, the v1.1
branch's examples with producertoken), plus types of the same shape with units a meter takes.
The route runs in-process on a real registry follower (never started: records are applied
directly) and a fake Kafka producer that can be switched off.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from domain import omf
from domain.directory import Directory
from domain.errors import UnavailableError
from domain.intake import UNMAPPED, check_readings
from domain.omf import (
    MAX_MESSAGE_BYTES,
    Book,
    OmfError,
    data_rows,
    decode_body,
    parse_headers,
    plan_containers,
    plan_types,
    quality_of,
)
from domain.registry_records import apply_record, decode_record
from ingest.api.app import create_app
from ingest.api.limits import RateLimiter
from ingest.api.services import Services
from ingest.api.tokens import Principal
from ingest.gateway import ReadingGateway
from runtime.settings import Settings
from schemas.omf import OmfRecord
from schemas.readings import ReadingQuality, ReadingsRecord
from schemas.registry import Site, Stream
from schemas.rejections import Rejection
from topics.registry_follower import RegistryFollower

# --- the specification's examples (1.2, documentation/...) ---------------------------------

SPEC_TYPES = """[{
    "id": "Plant", "version": "1.0.0.0", "type": "object", "classification": "static",
    "extrapolation": "all",
    "properties": {
        "PlantId": { "type": "string", "isindex": true },
        "PlantName": { "type": "string", "isname": true },
        "Address": { "type": "string" },
        "Contact": { "type": "string" }
    }
}, {
    "id": "Tank", "version": "1.0.0.0", "type": "object", "classification": "static",
    "extrapolation": "all",
    "properties": {
        "TankName": { "type": "string", "isindex": true, "isname": true },
        "Serial": { "type": "string" },
        "Model": { "type": "string" }
    }
}, {
    "id": "TankPressure", "version": "1.0.0.0", "type": "object", "classification": "dynamic",
    "extrapolation": "forward",
    "properties": {
        "Timestamp": { "type": "string", "format": "date-time", "isindex": true },
        "Pressure": { "type": "number", "name": "Tank Pressure",
            "description": "Tank Pressure in Pa", "uom": "pascal",
            "interpolation": "continuous", "maximum": 20, "minimum": 10 }
    }
}]"""

SPEC_CONTAINERS = """[{
    "id": "Tank1_PressureMeasurements", "typeid": "TankPressure", "datasource": "Modbus",
    "indexes": ["Pressure"], "extrapolation": "forward"
}, {
    "id": "Tank2_PressureMeasurements", "typeid": "TankPressure", "datasource": "Modbus",
    "indexes": ["Pressure"], "extrapolation": "forward",
    "propertyoverrides": { "Pressure": { "minimum": 15, "maximum": 30 } }
}]"""

SPEC_ENUM_TYPES = """[{
    "id": "DeviceStatusEnum",
    "enum": { "values": [
        { "name": "Device Connected", "value": 0 },
        { "name": "Device Failure", "value": 1 },
        { "name": "Uncertain - Out Limits", "value": 3 } ] }
}, {
    "id": "TankPressureV2", "type": "object", "classification": "dynamic",
    "properties": {
        "Timestamp": { "type": "string", "format": "date-time", "isindex": true },
        "Pressure": { "type": "number", "name": "Tank Pressure", "uom": "pascal",
            "interpolation": "continuous", "maximum": 20, "minimum": 10 },
        "DeviceStatus": { "reftypeid": "DeviceStatusEnum",
            "interpolation": "stepwisecontinuousleading", "isquality": true }
    }
}]"""

SPEC_REFERENCE_TYPES = """[{
    "id": "LocationProperties", "type": "object",
    "properties": {
        "Latitude":{ "type": "number", "format": "float32" },
        "Longitude":{ "type": "number", "format": "float32" }
    }
}, {
    "id": "TankV2", "type": "object", "classification": "static",
    "properties": {
        "TankName": { "type": "string", "isname": true, "isindex": true },
        "Serial": { "type": "string" },
        "Model": { "type": "string" },
        "Location": { "reftypeid": "LocationProperties" }
    }
}]"""

# The data example (data-msg-example.md): static data, links, then two containers' values.
SPEC_DATA = """[{
    "typeid": "Plant",
    "values": [{ "PlantId": "WTP1", "PlantName": "Water Treatment Plant One",
                 "Address": "123 Meridian Ave", "Contact": "Bob Ross" }]
}, {
    "typeid": "Tank",
    "values": [{ "TankName": "Tank1", "Serial": "5236-3523-KKF4", "Model": "FN-2187" },
               { "TankName": "Tank2", "Serial": "2364-4243-FS12", "Model": "TK-421" }]
}, {
    "typeid": "__Link",
    "values": [{ "source": { "typeid": "Plant", "index": "WTP1" },
                 "target": { "typeid": "Tank", "index": "Tank1" } },
               { "source": { "typeid": "Tank", "index": "Tank1" },
                 "target": { "containerid": "Tank1_PressureMeasurements" } }]
}, {
    "containerid": "Tank1_PressureMeasurements",
    "values": [{ "Timestamp": "2019-09-11T22:23:23.430Z", "Pressure": 12.0 },
               { "Timestamp": "2019-09-11T22:24:23.430Z", "Pressure": 11.5 }]
}, {
    "containerid": "Tank2_PressureMeasurements",
    "values": [{ "Timestamp": "2019-09-11T22:23:23.430Z", "Pressure": 14.0 },
               { "Timestamp": "2019-09-11T22:24:23.430Z", "Pressure": 15.1 }]
}]"""

# The same shapes with quantities a park meters (the spec's Pressure is not a surplus rate):
# one number property (the container id is the meter, or a tag), and two (tags per property).
FLOW_TYPES = """[{
    "id": "FlowMeasurement", "version": "1.0.0.0", "type": "object", "classification": "dynamic",
    "properties": {
        "Timestamp": { "type": "string", "format": "date-time", "isindex": true },
        "Flow": { "type": ["number", "null"], "format": "float64", "uom": "m3/h" },
        "Status": { "type": "integer", "format": "int32", "isquality": true }
    }
}, {
    "id": "BoilerMeasurement", "version": "1.0.0.0", "type": "object", "classification": "dynamic",
    "properties": {
        "Timestamp": { "type": "string", "format": "date-time", "isindex": true },
        "SteamPower": { "type": "number", "uom": "kW" },
        "Blowdown": { "type": "number", "uom": "m3/h" },
        "Drum level": { "type": "number", "uom": "mm" }
    }
}]"""

# --- a directory with two companies ---------------------------------------------------------

ACME = Site(
    id="acme-works", name="Acme works", company="acme", lat=55.6, lon=11.1,
    streams=[
        Stream(id="acme-steam", kind="steam", unit="MW", nominal=20, temperature_c=200),
        Stream(id="acme-cooling", kind="water", unit="m^3/h", nominal=300,
               meters=["acme-cw-1", "acme-cw-2", "acme-blowdown"]),
    ],
    tag_map={
        "Tank1_PressureMeasurements": "acme-cw-1",
        "Boiler1.SteamPower": "acme-steam",
        "Boiler1.Blowdown": "acme-blowdown",
    },
)  # fmt: skip
RIVAL = Site(
    id="rival-plant", name="Rival", company="rival", lat=55.7, lon=11.2,
    streams=[Stream(id="rival-water", kind="water", unit="m^3/h", nominal=50)],
    tag_map={"Cooling": "rival-water"},
)  # fmt: skip


def directory() -> Directory:
    d = Directory()
    d.put_site(ACME)
    d.put_site(RIVAL)
    return d


def apply(d: Directory, writes: list[tuple[str, OmfRecord | None]]) -> None:
    for key, record in writes:
        value = record.model_dump_json().encode() if record is not None else None
        apply_record(d, "omf", key, decode_record("omf", value))


def define(d: Directory, types: str, containers: str | None = None, company: str = "acme") -> None:
    apply(d, plan_types(json.loads(types), "create", Book(d, company)).writes)
    if containers is not None:
        apply(d, plan_containers(json.loads(containers), "create", Book(d, company)).writes)


def refused(call: Any, *args: Any) -> OmfError:
    with pytest.raises(OmfError) as e:
        call(*args)
    return e.value


# --- headers and body ---------------------------------------------------------------------


def test_headers_of_the_spec_are_read_case_insensitively_with_create_by_default() -> None:
    h = parse_headers({"messagetype": "Type", "messageformat": "JSON", "omfversion": "1.2"})
    assert (h.message_type, h.action, h.version, h.gzip) == ("type", "create", "1.2", False)
    # 1.1 (v1.1 branch, headers.md): producertoken is accepted (and ignored)
    v11 = {"producertoken": "b7CNvN36cq", "omfversion": "1.1", "messagetype": "data",
           "action": "UPDATE", "messageformat": "json", "compression": "GZIP"}  # fmt: skip
    h = parse_headers(v11)
    assert (h.message_type, h.action, h.version, h.gzip) == ("data", "update", "1.1", True)
    # 1.0 (fledge's choice for EDS 2020, Connector Relay, PI Web API 2019): 1.1 only adds to it
    assert parse_headers({"messagetype": "type", "omfversion": "1.0"}).version == "1.0"


@pytest.mark.parametrize(
    ("headers", "status", "field"),
    [
        ({"omfversion": "1.2"}, 400, "messagetype"),
        ({"messagetype": "event", "omfversion": "1.2"}, 400, "messagetype"),
        ({"messagetype": "data"}, 400, "omfversion"),
        ({"messagetype": "data", "omfversion": "2.0"}, 501, "omfversion"),
        ({"messagetype": "data", "omfversion": "0.9"}, 501, "omfversion"),
        ({"messagetype": "data", "omfversion": "banana"}, 400, "omfversion"),
        ({"messagetype": "data", "omfversion": "1.2", "action": "upsert"}, 400, "action"),
        ({"messagetype": "data", "omfversion": "1.2", "messageformat": "avro"}, 501,
         "messageformat"),
        ({"messagetype": "data", "omfversion": "1.2", "compression": "zstd"}, 501, "compression"),
    ],
)  # fmt: skip
def test_bad_headers_are_named_with_the_specs_status(
    headers: dict[str, str], status: int, field: str
) -> None:
    e = refused(parse_headers, headers)
    assert e.status == status
    assert [x.field for x in e.errors] == [field]


def test_a_gzip_body_unpacks_and_a_bomb_or_garbage_is_refused() -> None:
    items = json.loads(SPEC_TYPES)
    assert decode_body(gzip.compress(SPEC_TYPES.encode()), gzip=True, max_bytes=10**6) == items
    assert decode_body(b'{"containerid": "x", "values": []}', gzip=False, max_bytes=100) == [
        {"containerid": "x", "values": []}
    ]  # a bare object (the spec's "Reference Data Message Example") is one item
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")
    assert len(bomb) < MAX_MESSAGE_BYTES
    assert refused(decode_body_args, bomb, True, 4 * 1024 * 1024).status == 413
    assert refused(decode_body_args, b"[1,", False, 100).status == 400
    assert refused(decode_body_args, SPEC_TYPES.encode(), True, 10**6).status == 400  # not gzip
    assert (
        refused(decode_body_args, gzip.compress(b"[]")[:-6], True, 100).status == 400
    )  # truncated
    assert refused(decode_body_args, b'"text"', False, 100).status == 400


def decode_body_args(raw: bytes, gz: bool, max_bytes: int) -> Any:
    return decode_body(raw, gzip=gz, max_bytes=max_bytes)


# --- types ---------------------------------------------------------------------------------


def test_the_specs_type_examples_are_kept_dynamic_read_static_kept_by_id() -> None:
    d = directory()
    plan = plan_types(json.loads(SPEC_TYPES), "create", Book(d, "acme"))
    assert [k for k, _ in plan.writes] == ["acme/type/Plant", "acme/type/Tank",
                                           "acme/type/TankPressure"]  # fmt: skip
    apply(d, plan.writes)
    pressure = d.omf_types["acme"]["TankPressure"]
    assert (pressure.classification, pressure.index) == ("dynamic", "Timestamp")
    assert [(p.id, p.uom) for p in pressure.values] == [("Pressure", "pascal")]
    assert d.omf_types["acme"]["Plant"].classification == "static"
    assert d.omf_types["acme"]["Plant"].values == []
    for example in (SPEC_ENUM_TYPES, SPEC_REFERENCE_TYPES):
        apply(d, plan_types(json.loads(example), "create", Book(d, "acme")).writes)
    v2 = d.omf_types["acme"]["TankPressureV2"]
    assert (v2.quality, [p.id for p in v2.values]) == ("DeviceStatus", ["Pressure"])
    assert d.omf_types["acme"]["DeviceStatusEnum"].classification == "none"
    assert "TankPressure" not in d.omf_types.get("rival", {})  # books are per company


def test_sending_a_type_again_is_harmless_a_different_one_conflicts_update_replaces() -> None:
    d = directory()
    define(d, SPEC_TYPES)
    again = plan_types(json.loads(SPEC_TYPES), "create", Book(d, "acme"))
    assert (again.writes, again.unchanged) == ([], 3)
    changed = json.loads(SPEC_TYPES)
    changed[2]["properties"]["Pressure"]["uom"] = "bar"
    e = refused(plan_types, changed[2:], "create", Book(d, "acme"))
    assert e.status == 409
    assert [(x.item, x.field) for x in e.errors] == [(0, "[0].id")]
    # beside unchanged ones, the conflicting item is refused alone (the others are kept)
    partial = plan_types(changed, "create", Book(d, "acme"))
    assert (partial.writes, partial.unchanged) == ([], 2)
    assert [(x.item, x.field, x.status) for x in partial.refused] == [(2, "[2].id", 409)]
    update = plan_types(changed, "update", Book(d, "acme"))
    assert [k for k, _ in update.writes] == ["acme/type/TankPressure"]
    apply(d, update.writes)
    assert d.omf_types["acme"]["TankPressure"].values[0].uom == "bar"
    # another company defines the same id freely: its own book
    assert len(plan_types(changed, "create", Book(d, "rival")).writes) == 3


def test_keywords_and_enumerated_values_ignore_case() -> None:
    d = directory()
    shouting = [{"ID": "Meter", "Classification": "DYNAMIC", "Type": "Object", "Properties": {
        "Time": {"Type": "String", "Format": "Date-Time", "IsIndex": True},
        "Value": {"TYPE": "Number", "UOM": "t/h"}}}]  # fmt: skip
    apply(d, plan_types(shouting, "create", Book(d, "acme")).writes)
    t = d.omf_types["acme"]["Meter"]
    assert (t.index, t.values[0].id, t.values[0].uom) == ("Time", "Value", "t/h")
    twice = [{"id": "X", "ID": "Y"}]
    assert refused(plan_types, twice, "create", Book(d, "acme")).errors[0].field == "[0].ID"


@pytest.mark.parametrize(
    ("properties", "status", "reason"),
    [
        ({"Value": {"type": "number"}}, 400, "needs an isindex"),
        ({"T": {"type": "string", "format": "date-time", "isindex": True},
          "U": {"type": "string", "format": "date-time", "isindex": True}}, 501, "compound"),
        ({"N": {"type": "integer", "isindex": True}}, 501, "indexed by time"),
        ({"T": {"type": "string", "format": "date-time", "isindex": True},
          "V": {"type": "number", "format": "int32"}}, 400, "not a format of number"),
        ({"T": {"type": "string", "format": "date-time", "isindex": True},
          "V": {"type": ["number", "string"]}}, 400, "must be one of"),
        ({"T": {"type": "string", "format": "date-time", "isindex": True},
          "V": {"name": "no type"}}, 400, "needs a type or a reftypeid"),
        ({"T": {"type": "string", "format": "date-time", "isindex": True},
          "Q1": {"type": "integer", "isquality": True},
          "Q2": {"type": "integer", "isquality": True}}, 501, "isquality"),
    ],
)  # fmt: skip
def test_dynamic_types_symbiosis_cannot_read_are_refused_with_the_specs_status(
    properties: dict[str, Any], status: int, reason: str
) -> None:
    item = {"id": "Odd", "type": "object", "classification": "dynamic", "properties": properties}
    e = refused(plan_types, [item], "create", Book(directory(), "acme"))
    assert e.status == status
    assert reason in str(e)
    assert all(x.item == 0 for x in e.errors)


def test_malformed_type_items_are_refused_by_item_and_field_the_others_kept() -> None:
    bad = [{"id": "__Mine", "classification": "static", "properties": {}}, "text"]
    e = refused(plan_types, bad, "create", Book(directory(), "acme"))
    assert e.status == 400
    assert [(x.item, x.field) for x in e.errors] == [(0, "[0].id"), (1, "[1]")]
    plan = plan_types([*json.loads(SPEC_TYPES), *bad], "create", Book(directory(), "acme"))
    assert [k for k, _ in plan.writes] == ["acme/type/Plant", "acme/type/Tank",
                                           "acme/type/TankPressure"]  # fmt: skip
    assert [(x.item, x.field) for x in plan.refused] == [(3, "[3].id"), (4, "[4]")]
    assert plan.refused_items == [3, 4]


def test_a_type_nested_deeper_than_json_writes_is_refused_by_item_not_a_server_error() -> None:
    deep: object = 1
    for _ in range(300):
        deep = {"a": deep}
    item = {"id": "Deep", "type": "object", "classification": "static", "properties": {},
            "extra": deep}  # fmt: skip
    e = refused(plan_types, [item], "create", Book(directory(), "acme"))
    assert e.status == 400
    assert [(x.item, x.field) for x in e.errors] == [(0, "[0]")]
    assert "cannot be read as a definition" in str(e)


def test_deleting_a_type_needs_only_its_id_and_not_while_a_container_uses_it() -> None:
    d = directory()
    define(d, FLOW_TYPES, '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    e = refused(plan_types, [{"id": "FlowMeasurement"}], "delete", Book(d, "acme"))
    assert (e.status, e.errors[0].field) == (409, "[0].id")
    gone = plan_types([{"id": "BoilerMeasurement"}, {"id": "Nope"}], "delete", Book(d, "acme"))
    assert (gone.writes, gone.unchanged) == ([("acme/type/BoilerMeasurement", None)], 1)
    apply(d, gone.writes)
    assert "BoilerMeasurement" not in d.omf_types["acme"]


# --- containers ----------------------------------------------------------------------------


def test_containers_map_to_the_companys_meters_by_id_or_tag() -> None:
    d = directory()
    define(d, FLOW_TYPES)
    containers = [
        {"id": "acme-cw-2", "typeid": "FlowMeasurement"},  # the meter id itself
        {"id": "Tank1_PressureMeasurements", "typeId": "FlowMeasurement"},  # a tag
        {"id": "Boiler1", "typeid": "BoilerMeasurement", "typeversion": "1.0.0.0"},  # 1.1
    ]
    plan = plan_containers(containers, "create", Book(d, "acme"))
    apply(d, plan.writes)
    book = Book(d, "acme")
    maps = {
        c: {p: (ref.meter, unit) for p, (ref, unit) in
            book.mapping(book.containers[c], book.types[book.containers[c].typeid]).items()}
        for c in ("acme-cw-2", "Tank1_PressureMeasurements", "Boiler1")
    }  # fmt: skip
    assert maps == {
        "acme-cw-2": {"Flow": ("acme-cw-2", "m3/h")},
        "Tank1_PressureMeasurements": {"Flow": ("acme-cw-1", "m3/h")},
        "Boiler1": {"SteamPower": ("acme-steam", "kW"), "Blowdown": ("acme-blowdown", "m3/h")},
    }  # "Drum level" maps to no meter: its values are ignored


def test_a_container_of_another_companys_meter_is_refused_like_an_unknown_one() -> None:
    d = directory()
    define(d, FLOW_TYPES)
    for name in ("rival-water", "Cooling", "no-such-meter"):
        e = refused(plan_containers, [{"id": name, "typeid": "FlowMeasurement"}], "create",
                    Book(d, "acme"))  # fmt: skip
        assert e.status == 400
        assert e.errors[0].field == "[0].id"
        assert f"maps to no meter of the company: {name!r}" in e.errors[0].reason


def test_the_specs_container_example_needs_its_type_and_a_unit_the_meter_takes() -> None:
    d = directory()
    e = refused(plan_containers, json.loads(SPEC_CONTAINERS), "create", Book(d, "acme"))
    assert e.status == 404  # "A referenced resource was not found": the type is not defined
    assert [x.field for x in e.errors] == ["[0].typeid", "[1].typeid"]
    define(d, SPEC_TYPES)
    e = refused(plan_containers, json.loads(SPEC_CONTAINERS), "create", Book(d, "acme"))
    assert e.status == 400
    assert [x.field for x in e.errors] == ["[0].typeid", "[1].id"]
    assert "cannot convert pascal to m^3/h" in e.errors[0].reason  # pressure is not a flow
    # the spec's propertyoverrides set the unit of the container's values
    fixed = json.loads(SPEC_CONTAINERS)[:1]
    fixed[0]["propertyoverrides"] = {"Pressure": {"uom": "m3/h", "maximum": 30}}
    apply(d, plan_containers(fixed, "create", Book(d, "acme")).writes)
    assert d.omf_containers["acme"]["Tank1_PressureMeasurements"].uom == {"Pressure": "m3/h"}
    static = [{"id": "acme-cw-2", "typeid": "Plant"}]
    assert "containers are for dynamic types" in str(
        refused(plan_containers, static, "create", Book(d, "acme"))
    )


def test_container_conflicts_updates_and_deletes() -> None:
    d = directory()
    define(d, FLOW_TYPES, '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    other = [{"id": "acme-cw-2", "typeid": "FlowMeasurement", "datasource": "Modbus"}]
    assert refused(plan_containers, other, "create", Book(d, "acme")).status == 409
    assert len(plan_containers(other, "update", Book(d, "acme")).writes) == 1
    wrong = [{"id": "acme-cw-2", "typeid": "BoilerMeasurement"}]
    assert refused(plan_containers, wrong, "delete", Book(d, "acme")).errors[0].field == (
        "[0].typeid"
    )
    gone = plan_containers([{"id": "acme-cw-2", "typeid": "FlowMeasurement"}], "delete",
                           Book(d, "acme"))  # fmt: skip
    apply(d, gone.writes)
    assert d.omf_containers["acme"] == {}


def test_an_omf_record_is_applied_only_under_its_own_key() -> None:
    d = directory()
    plan = plan_types(json.loads(FLOW_TYPES), "create", Book(d, "acme"))
    _, record = plan.writes[0]
    assert record is not None
    with pytest.raises(Exception, match="not the OMF record's key"):
        apply_record(d, "omf", "rival/type/FlowMeasurement", record)
    apply_record(d, "omf", "rival/type/Nothing", None)  # unknown tombstones are ignored


# --- data ----------------------------------------------------------------------------------


def test_the_specs_data_example_becomes_readings_and_static_data_and_links_are_ignored() -> None:
    d = directory()
    define(d, SPEC_TYPES)
    fixed = json.loads(SPEC_CONTAINERS)
    for c in fixed:
        c["propertyoverrides"] = {"Pressure": {"uom": "m3/h"}}
    fixed[1]["id"] = "acme-cw-2"
    apply(d, plan_containers(fixed, "create", Book(d, "acme")).writes)
    data = json.loads(SPEC_DATA)
    data[4]["containerid"] = "acme-cw-2"
    rows = data_rows(data, Book(d, "acme"))
    assert rows.errors == []
    assert rows.ignored == 1 + 2 + 2  # Plant, two Tanks, two links
    assert rows.rows == [
        {"meter": "acme-cw-1", "ts": "2019-09-11T22:23:23.430Z", "value": 12.0, "unit": "m3/h",
         "quality": "good"},
        {"meter": "acme-cw-1", "ts": "2019-09-11T22:24:23.430Z", "value": 11.5, "unit": "m3/h",
         "quality": "good"},
        {"meter": "acme-cw-2", "ts": "2019-09-11T22:23:23.430Z", "value": 14.0, "unit": "m3/h",
         "quality": "good"},
        {"meter": "acme-cw-2", "ts": "2019-09-11T22:24:23.430Z", "value": 15.1, "unit": "m3/h",
         "quality": "good"},
    ]  # fmt: skip
    assert rows.sources[0] == "POST /omf [3].values[0]"
    checked = check_readings(rows.rows, d, company="acme", now=datetime.now(UTC), max_skew_s=300,
                             locate=rows.locate)  # fmt: skip
    assert (checked.accepted, checked.errors) == (4, [])


def test_values_map_per_property_with_quality_nulls_and_named_errors() -> None:
    d = directory()
    define(d, FLOW_TYPES, '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"},'
                          ' {"id": "Boiler1", "typeid": "BoilerMeasurement"}]')  # fmt: skip
    data = [
        {"containerId": "acme-cw-2", "Values": [
            {"Timestamp": "2026-01-01T00:00:00Z", "Flow": 250.0, "Status": 0},
            {"timestamp": "2026-01-01T00:00:01Z", "flow": 251.0, "status": 1073741824},
            {"Timestamp": "2026-01-01T00:00:02Z", "Flow": None},  # nullable: no reading
            {"Flow": 252.0},  # no index
            {"Timestamp": "2026-01-01T00:00:03Z", "Flow": "lots"},
        ]},
        {"containerid": "Boiler1", "values": [
            {"Timestamp": "2026-01-01T00:00:00Z", "SteamPower": 1500, "Blowdown": None,
             "Drum level": 12.5},
        ]},
        {"containerid": "Tank9", "values": [{"Timestamp": "2026-01-01T00:00:00Z", "Flow": 1}]},
        {"typeid": "FlowMeasurement", "values": []},
    ]  # fmt: skip
    rows = data_rows(data, Book(d, "acme"))
    readings = [r for r in rows.rows if r is not UNMAPPED]
    assert [(r["meter"], r["value"], r["quality"]) for r in readings] == [  # type: ignore[index]
        ("acme-cw-2", 250.0, "good"), ("acme-cw-2", 251.0, "uncertain"),
        ("acme-cw-2", "lots", "good"), ("acme-steam", 1500, "good"),
    ]  # fmt: skip
    assert [(e.field, e.reason) for e in rows.errors] == [
        ("[0].values[3].Timestamp", "the index (timestamp) is missing"),
        ("[1].values[0].Blowdown", "null, but the type does not declare it nullable"),
        ("[2].containerid", "'Tank9' is not a container of the company (send its container "
                            "message first)"),
        ("[3].typeid", "'FlowMeasurement' is dynamic: its data goes to a container (give "
                            "containerid)"),
    ]  # fmt: skip
    assert rows.ignored == 2  # the nullable null, "Drum level" (mapped to no meter)
    checked = check_readings(rows.rows, d, company="acme", now=datetime.now(UTC), max_skew_s=300,
                             locate=rows.locate)  # fmt: skip
    assert [e.field for e in checked.errors] == ["[0].values[4].Flow"]
    assert checked.errors[0].reason == "must be a number, not a string"


def test_a_data_message_names_its_rows_in_omf_terms() -> None:
    d = directory()
    define(d, FLOW_TYPES, '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    rows = data_rows([{"containerid": "acme-cw-2", "values": [
        {"Timestamp": "2026-01-01T00:00:00", "Flow": -1e13}]}], Book(d, "acme"))  # fmt: skip
    checked = check_readings(rows.rows, d, company="acme", now=datetime.now(UTC), max_skew_s=300,
                             locate=rows.locate)  # fmt: skip
    assert {e.field for e in checked.errors} == {"[0].values[0].Timestamp", "[0].values[0].Flow"}


@pytest.mark.parametrize(
    ("value", "quality"),
    [(None, "good"), (True, "good"), (False, "bad"), (0, "good"), (1, "bad"), (3, "bad"),
     (0x40000000, "uncertain"), (0x80000000, "bad"), ("Good", "good"), ("UNCERTAIN", "uncertain"),
     ("offline", "bad"), (0.0, "good"), ([1], None)],
)  # fmt: skip
def test_quality_values(value: object, quality: str | None) -> None:
    got = quality_of(value)
    assert (got.value if got is not None else None) == quality
    assert quality is None or ReadingQuality(quality) == got


# --- the route, in-process ------------------------------------------------------------------


class FakeKafka:
    """The API's publisher: records what was sent; ``down`` refuses, ``unacked`` times out."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, bytes | None]] = []
        self.down = False
        self.unacked = False

    def send(self, topic: str, key: str | None, value: bytes | None) -> object:
        if self.down:
            raise UnavailableError(f"Kafka did not take a record for {topic} (test)")
        self.sent.append((topic, key, value))
        return object()

    def wait(self, futures: Any, timeout_s: float) -> int:
        if self.unacked:
            raise UnavailableError("not acknowledged in time (test)")
        return len(list(futures))

    def close(self) -> None:
        pass

    def on(self, topic: str) -> list[tuple[str | None, bytes | None]]:
        return [(k, v) for t, k, v in self.sent if t == topic]


class FakeTokens:
    def verify(self, token: str) -> Principal | None:
        if token == "operator":
            return Principal(role="operator", company=None, prefix="op")
        if token in ("acme", "rival"):
            return Principal(role="company", company=token, prefix=token)
        return None


@pytest.fixture
def api() -> Iterator[tuple[TestClient, FakeKafka, Settings]]:
    settings = Settings()
    kafka = FakeKafka()
    follower = RegistryFollower(settings.kafka_bootstrap, settings.topics)  # not started
    for site in (ACME, RIVAL):
        follower.apply(settings.topics.sites, site.id, site.model_dump_json().encode())
    services = Services(
        settings=settings, publisher=kafka, registry=follower,  # type: ignore[arg-type]
        gateway=ReadingGateway(settings, kafka, follower),  # type: ignore[arg-type]
        pool=None, tokens=FakeTokens(),  # type: ignore[arg-type]
    )  # fmt: skip
    with TestClient(create_app(settings, services)) as client:
        yield client, kafka, settings


DATA = (
    '[{"containerid": "acme-cw-2", "values": [{"Timestamp": "2026-01-01T00:00:00Z", "Flow": 1}]}]'
)
HEADERS_12 = {"Authorization": "Bearer acme", "messageformat": "json", "omfversion": "1.2",
              "X-Requested-With": "XMLHttpRequest"}  # fmt: skip


def post(client: TestClient, messagetype: str, body: str | bytes, path: str = "/omf",
         **headers: str) -> Any:  # fmt: skip
    raw = body.encode() if isinstance(body, str) else body
    return client.post(path, content=raw, headers={**HEADERS_12, "messagetype": messagetype,
                                                    **headers})  # fmt: skip


def readings_sent(kafka: FakeKafka, settings: Settings) -> list[tuple[str, float]]:
    out = []
    for _, value in kafka.on(settings.topics.readings):
        assert value is not None
        for batch in ReadingsRecord.model_validate_json(value).batches:
            out += [(r.meter, r.value) for r in batch.readings]
    return out


def rejections(kafka: FakeKafka, settings: Settings) -> list[Rejection]:
    return [Rejection.model_validate_json(v or b"") for _, v in kafka.on(settings.topics.rejected)]


def test_a_pi_adapter_defines_types_and_containers_then_sends_gzip_data(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    r = post(client, "type", gzip.compress(FLOW_TYPES.encode()), compression="gzip")
    assert r.status_code == 200, r.text
    assert r.json() == {"messagetype": "type", "action": "create", "applied": 2, "unchanged": 0,
                        "accepted": 0, "rejected": 0, "ignored": 0, "errors": []}  # fmt: skip
    keys = [k for k, _ in kafka.on(settings.topics.omf)]
    assert keys == ["acme/type/FlowMeasurement", "acme/type/BoilerMeasurement"]
    r = post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]',
             path="/piwebapi/omf")  # fmt: skip
    assert (r.status_code, r.json()["applied"]) == (200, 1)
    # sent again at the adapter's restart: nothing changes, nothing is written
    assert post(client, "type", FLOW_TYPES).json()["unchanged"] == 2
    assert len(kafka.on(settings.topics.omf)) == 3
    values = [{"Timestamp": f"2026-01-01T00:00:0{i}Z", "Flow": 100.0 + i} for i in range(3)]
    data = [{"containerid": "acme-cw-2", "values": values}]
    r = post(client, "data", gzip.compress(orjson.dumps(data)), compression="gzip",
             **{"Content-Type": "application/octet-stream"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["errors"]) == (3, [])
    assert readings_sent(kafka, settings) == [("acme-cw-2", 100.0), ("acme-cw-2", 101.0),
                                              ("acme-cw-2", 102.0)]  # fmt: skip


def test_refused_values_are_named_and_on_the_rejected_topic_the_rest_accepted(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    post(client, "type", FLOW_TYPES)
    post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    data = [{"containerid": "acme-cw-2", "values": [
        {"Timestamp": "2026-01-01T00:00:00Z", "Flow": 10.0},
        {"Timestamp": "2026-01-01T00:00:01", "Flow": 11.0},
    ]}, {"containerid": "rival-water", "values": [
        {"Timestamp": "2026-01-01T00:00:00Z", "Flow": 10.0}]}]  # fmt: skip
    r = post(client, "data", json.dumps(data))
    assert r.status_code == 200  # one value accepted: the client must not re-send the message
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (0, "[0].values[1].Timestamp"), (1, "[1].containerid")]  # fmt: skip
    sources = {x.source for x in rejections(kafka, settings)}
    assert {"POST /omf (data create) [0].values[1]", "POST /omf (data create) [1]"} <= sources
    assert readings_sent(kafka, settings) == [("acme-cw-2", 10.0)]


def test_refused_definitions_answer_the_specs_status_and_are_recorded(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    assert post(client, "type", SPEC_TYPES).status_code == 200
    changed = json.loads(SPEC_TYPES)[:1]
    changed[0]["properties"]["Address"]["type"] = "integer"
    r = post(client, "type", json.dumps(changed))
    assert r.status_code == 409
    reason = "type 'Plant' is already defined differently (send action update to replace it)"
    assert r.json()["errors"] == [{"row": 0, "field": "[0].id", "reason": reason}]
    r = post(client, "container", SPEC_CONTAINERS)  # pascal is not a flow; Tank2 maps nowhere
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["[0].typeid", "[1].id"]
    r = post(client, "type", "[{]")
    assert (r.status_code, r.json()["error"]) == (400, "bad_request")
    r = post(client, "data", "[]", action="delete")
    assert (r.status_code, r.json()["error"]) == (501, "not_implemented")
    r = post(client, "data", "[]", omfversion="2.0")
    assert r.status_code == 501
    reasons = [x.reason for x in rejections(kafka, settings)]
    assert len(reasons) == 5
    assert reasons[0].startswith("409: the type message is refused: [0].id")
    assert all(k == "acme" for k, _ in kafka.on(settings.topics.rejected))
    assert "acme/container/Tank1_PressureMeasurements" not in {
        k for k, _ in kafka.on(settings.topics.omf)
    }


def test_omf_11_with_producertoken_is_accepted(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, _, _ = api
    v11 = {"producertoken": "b7CNvN36cq", "omfversion": "1.1"}
    assert post(client, "type", FLOW_TYPES, **v11).status_code == 200
    c = '[{"id": "acme-cw-2", "typeid": "FlowMeasurement", "typeVersion": "1.0.0.0"}]'
    assert post(client, "container", c, **v11).status_code == 200
    data = DATA.replace("2026-01-01T00:00:00Z", "2017-01-11T22:23:23.430Z")
    r = post(client, "data", data, **v11)
    assert (r.status_code, r.json()["accepted"]) == (200, 1)


def test_tokens_operator_size_and_kafka_down(api: tuple[TestClient, FakeKafka, Settings]) -> None:
    client, kafka, _ = api
    assert post(client, "type", FLOW_TYPES, Authorization="Bearer nope").status_code == 401
    r = post(client, "type", FLOW_TYPES, Authorization="Bearer operator")
    assert r.status_code == 403
    big = b"[" + b" " * MAX_MESSAGE_BYTES + b"]"
    assert post(client, "type", big).status_code == 413
    assert post(client, "type", FLOW_TYPES).status_code == 200
    assert (
        post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]').status_code
        == 200
    )
    data = DATA
    before = len(kafka.sent)
    kafka.down = True
    assert post(client, "data", data).status_code == 503
    assert (
        post(client, "container", '[{"id": "acme-cw-1", "typeid": "FlowMeasurement"}]').status_code
        == 503
    )
    assert len(kafka.sent) == before  # nothing answered as accepted that Kafka did not take
    kafka.down, kafka.unacked = False, True
    assert post(client, "data", data).status_code == 503
    kafka.unacked = False
    r = post(client, "container", '[{"id": "acme-cw-1", "typeid": "FlowMeasurement"}]')
    assert r.status_code == 200  # the retry after a 503 goes through


def test_another_company_cannot_use_or_see_a_companys_definitions(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, _, _ = api
    post(client, "type", FLOW_TYPES)
    post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    rival = {"Authorization": "Bearer rival"}
    r = post(client, "data", DATA, **rival)
    assert r.status_code == 404  # not a container of the rival: "not found", like an unknown one
    assert r.json()["errors"][0]["field"] == "[0].containerid"
    assert post(client, "type", FLOW_TYPES, **rival).json()["applied"] == 2  # its own book
    r = post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]', **rival)
    assert r.status_code == 400
    assert "maps to no meter of the company" in r.json()["message"]


def test_the_openapi_document_lists_the_omf_routes(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, _, _ = api
    doc = client.get("/openapi.json").json()
    for path in ("/omf", "/piwebapi/omf"):
        op = doc["paths"][path]["post"]
        assert {p["name"] for p in op["parameters"]} >= {"messagetype", "omfversion", "action"}
        assert {"200", "400", "403", "404", "409", "413", "501", "503"} <= set(op["responses"])


def test_omf_data_is_held_to_the_same_pushes_in_flight_bound(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    post(client, "type", FLOW_TYPES)
    post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    gate = client.app.state.services.pushes_in_flight  # type: ignore[attr-defined]
    gate.count = gate.limit  # as many pushes as allowed already wait for a slow Kafka
    busy = post(client, "data", DATA)
    assert busy.status_code == 503
    assert int(busy.headers["Retry-After"]) >= 1
    assert not readings_sent(kafka, settings)
    gate.count = 0
    assert post(client, "data", DATA).status_code == 200


# --- what real OMF clients send (fledge's OMF north, AVEVA adapters and samples) -----------

FLEDGE_DOUBLE = [{"id": "Double64", "type": "object", "classification": "dynamic", "properties": {
    "Double64": {"type": ["number", "null"], "format": "float64"},
    "Time": {"type": "string", "format": "date-time", "isindex": True}}}]  # fmt: skip
TWO_QUALITIES = {"id": "TwoQualities", "type": "object", "classification": "dynamic",
                 "properties": {
    "Timestamp": {"type": "string", "format": "date-time", "isindex": True},
    "Flow": {"type": "number", "uom": "m3/h"},
    "DeviceStatus": {"type": "integer", "format": "int16", "isquality": True},
    "OpcStatus": {"type": "integer", "format": "uint32", "isquality": True}}}  # fmt: skip


def recent(seconds: float = 60) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_type_beside_one_that_cannot_be_represented_is_kept() -> None:
    d = directory()
    plain = json.loads(FLOW_TYPES)[0]
    plan = plan_types([plain, TWO_QUALITIES], "create", Book(d, "acme"))
    assert [k for k, _ in plan.writes] == ["acme/type/FlowMeasurement"]
    assert plan.write_items == [0]
    assert [(x.item, x.field, x.status) for x in plan.refused] == [(1, "[1].properties", 501)]
    assert refused(plan_types, [TWO_QUALITIES], "create", Book(d, "acme")).status == 501


def test_a_container_beside_one_that_maps_nowhere_is_kept_and_the_other_refused_alone() -> None:
    d = directory()
    define(d, FLOW_TYPES)
    items = [{"id": "acme-cw-2", "typeid": "FlowMeasurement"},
             {"id": "Tank2", "typeid": "FlowMeasurement"},
             {"id": "acme-cw-1", "typeid": "Nope"}]  # fmt: skip
    plan = plan_containers(items, "create", Book(d, "acme"))
    assert [k for k, _ in plan.writes] == ["acme/container/acme-cw-2"]
    assert [(x.item, x.field, x.status) for x in plan.refused] == [
        (1, "[1].id", 400), (2, "[2].typeid", 404)]  # fmt: skip


def test_a_definition_given_twice_differently_keeps_the_first_and_names_it() -> None:
    d = directory()
    define(d, FLOW_TYPES)
    items = [{"id": "acme-cw-2", "typeid": "FlowMeasurement"},
             {"id": "acme-cw-2", "typeid": "FlowMeasurement", "datasource": "x"}]  # fmt: skip
    plan = plan_containers(items, "create", Book(d, "acme"))
    assert [k for k, _ in plan.writes] == ["acme/container/acme-cw-2"]
    assert [x.reason for x in plan.refused] == ["defined differently by item [0] of this message"]


def test_the_quota_refuses_the_definitions_past_it_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(omf, "MAX_TYPES_PER_COMPANY", 2)
    d = directory()
    define(d, '[{"id": "Kept", "classification": "static", "properties": {}}]')
    items = [{"id": f"T{i}", "classification": "static", "properties": {}} for i in range(3)]
    plan = plan_types([{"id": "Kept", "classification": "static", "properties": {}}, *items],
                      "create", Book(d, "acme"))  # fmt: skip
    assert (plan.unchanged, [k for k, _ in plan.writes]) == (1, ["acme/type/T0"])
    assert [(x.item, x.status, x.code) for x in plan.refused] == [
        (2, 409, "quota_exceeded"), (3, 409, "quota_exceeded")]  # fmt: skip
    apply(d, plan.writes)
    e = refused(plan_types, items[1:], "create", Book(d, "acme"))
    assert (e.status, e.code) == (409, "quota_exceeded")


def test_two_values_of_a_meter_in_one_microsecond_are_not_both_accepted() -> None:
    d = directory()
    define(d, FLOW_TYPES, '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"},'
                          ' {"id": "acme-cw-1", "typeid": "FlowMeasurement"}]')  # fmt: skip
    data = [
        {"containerid": "acme-cw-2", "values": [
            {"Timestamp": "2026-01-01T00:00:00.1234567Z", "Flow": 10.0},
            {"Timestamp": "2026-01-01T00:00:00.1234568Z", "Flow": 20.0},  # 100 ns later
            {"Timestamp": "2026-01-01T00:00:00.123457Z", "Flow": 30.0}]},  # 1 us later
        {"containerid": "acme-cw-2", "values": [
            {"Timestamp": "2026-01-01T01:00:00.1234560+01:00", "Flow": 40.0}]},  # same instant
        {"containerid": "acme-cw-1", "values": [
            {"Timestamp": "2026-01-01T00:00:00.1234567Z", "Flow": 50.0}]},  # another meter
    ]  # fmt: skip
    rows = data_rows(data, Book(d, "acme"))
    assert [r["value"] for r in rows.rows if r is not UNMAPPED] == [10.0, 30.0, 50.0]  # type: ignore[index]
    assert [e.field for e in rows.errors] == ["[0].values[1].Timestamp", "[1].values[0].Timestamp"]
    assert rows.errors[0].reason.startswith(
        "the same instant as [0].values[0].Timestamp for meter 'acme-cw-2'"
    )
    assert rows.sources[1] == "POST /omf [0].values[1]"


def test_data_update_is_taken_as_create_and_data_delete_is_refused(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    post(client, "type", FLOW_TYPES)
    post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    data = DATA.replace("2026-01-01T00:00:00Z", recent())
    r = post(client, "data", data, action="update")  # fledge's default OMFDataActionCode
    assert r.status_code == 200, r.text
    assert (r.json()["action"], r.json()["accepted"]) == ("update", 1)
    assert readings_sent(kafka, settings) == [("acme-cw-2", 1.0)]
    r = post(client, "data", data, action="delete")
    assert (r.status_code, r.json()["error"]) == (501, "not_implemented")


def test_a_type_or_container_message_with_one_item_refused_keeps_the_others(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    plain = json.loads(FLOW_TYPES)[0]
    r = post(client, "type", json.dumps([plain, TWO_QUALITIES]))
    assert r.status_code == 200, r.text
    assert (r.json()["applied"], r.json()["rejected"]) == (1, 1)
    assert r.json()["errors"] == [{"row": 1, "field": "[1].properties",
                                   "reason": "more than one isquality property cannot be "
                                             "represented"}]  # fmt: skip
    containers = [{"id": "acme-cw-2", "typeid": "FlowMeasurement"},
                  {"id": "Tank2", "typeid": "FlowMeasurement", "datasource": "Modbus"}]  # fmt: skip
    r = post(client, "container", json.dumps(containers), path="/piwebapi/omf")
    assert r.status_code == 200, r.text
    assert (r.json()["applied"], r.json()["rejected"]) == (1, 1)
    assert [e["field"] for e in r.json()["errors"]] == ["[1].id"]
    assert [k for k, _ in kafka.on(settings.topics.omf)] == [
        "acme/type/FlowMeasurement", "acme/container/acme-cw-2"]  # fmt: skip
    recorded = rejections(kafka, settings)
    assert [(x.source, x.reason.split(":")[0]) for x in recorded] == [
        ("POST /omf (type create) [1]", "501"),
        ("POST /piwebapi/omf (container create) [1]", "400"),
    ]  # fmt: skip
    assert json.loads(recorded[1].payload) == containers[1]
    assert all(k == "acme" for k, _ in kafka.on(settings.topics.rejected))
    # the kept container takes data at once
    r = post(client, "data", DATA.replace("2026-01-01T00:00:00Z", recent()))
    assert (r.status_code, r.json()["accepted"]) == (200, 1)


def test_data_with_some_values_accepted_is_200_with_none_400_or_404(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    post(client, "type", json.dumps(FLEDGE_DOUBLE))
    containers = [{"id": m, "typeid": "Double64",
                   "propertyoverrides": {"Double64": {"uom": "m3/h"}}}
                  for m in ("acme-cw-1", "acme-cw-2")]  # fmt: skip
    post(client, "container", json.dumps(containers))
    ok = {"containerid": "acme-cw-1", "values": [{"Double64": 250.0, "Time": recent(120)}]}
    negative = {"containerid": "acme-cw-2", "values": [{"Double64": -0.02, "Time": recent(120)}]}
    unknown = {"containerid": "pump9.flow", "values": [{"Double64": 1.0, "Time": recent(120)}]}
    for _ in range(2):  # fledge re-sends a block it was not answered 2xx for: no reason to here
        r = post(client, "data", json.dumps([ok, negative]), action="update")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["accepted"], body["rejected"]) == (1, 1)
        assert body["errors"] == [{"row": 1, "field": "[1].values[0].Double64", "reason":
                                   "a surplus rate cannot be negative (stream 'acme-cooling'), "
                                   "got -0.02"}]  # fmt: skip
    r = post(client, "data", json.dumps([negative]))
    assert (r.status_code, r.json()["accepted"], r.json()["rejected"]) == (400, 0, 1)
    r = post(client, "data", json.dumps([unknown, unknown]))
    assert (r.status_code, r.json()["error"], r.json()["rejected"]) == (404, "not_found", 2)
    r = post(client, "data", json.dumps([unknown, negative]))
    assert r.status_code == 400  # not every refusal is a missing container
    static = {"typeid": "NoSuchType", "values": [{"Name": "x"}]}
    assert post(client, "data", json.dumps([static])).status_code == 404
    sources = [x.source for x in rejections(kafka, settings)]
    assert sources.count("POST /omf (data update) [1].values[0]") == 2


def test_a_message_over_the_readings_limit_is_413_and_recorded(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    post(client, "type", FLOW_TYPES)
    post(client, "container", '[{"id": "acme-cw-2", "typeid": "FlowMeasurement"}]')
    settings.api_max_batch_readings = 2
    values = [{"Timestamp": recent(i), "Flow": 1.0} for i in range(3)]
    r = post(client, "data", json.dumps([{"containerid": "acme-cw-2", "values": values}]))
    assert r.status_code == 413
    big = b"[" + b" " * MAX_MESSAGE_BYTES + b"]"
    assert post(client, "data", big).status_code == 413
    reasons = [x.reason for x in rejections(kafka, settings)]
    assert reasons[0] == "413: 3 readings in one message; the limit is 2"
    assert reasons[1].startswith("413: an OMF message body is at most")
    assert not readings_sent(kafka, settings)


def test_unchanged_definitions_do_not_take_the_registry_write_rate(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, _, _ = api
    services = client.app.state.services  # type: ignore[attr-defined]
    services.registry_write_rate = RateLimiter(1e-6, 1)  # one write, then none for a long time
    assert post(client, "type", FLOW_TYPES).json()["applied"] == 2
    for _ in range(5):  # an adapter's restarts
        r = post(client, "type", FLOW_TYPES)
        assert (r.status_code, r.json()["unchanged"]) == (200, 2)
    changed = json.loads(FLOW_TYPES)
    changed[0]["properties"]["Flow"]["uom"] = "m3/s"
    r = post(client, "type", json.dumps(changed), action="update")
    assert r.status_code == 429
    assert "Retry-After" in r.headers


def test_pi_web_api_clients_authenticate_with_basic_the_token_as_password(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, kafka, settings = api
    for path in ("/omf", "/piwebapi/omf", "/piwebapi/omf/"):
        r = post(client, "type", FLOW_TYPES, path=path, Authorization=basic("any user", "acme"))
        assert r.status_code == 200, r.text
    for auth in (basic("acme", ""), basic("user", "nope"), "Basic !!notbase64", "Digest x"):
        r = post(client, "type", FLOW_TYPES, Authorization=auth)
        assert r.status_code == 401, auth
        challenge = r.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert "Basic realm=" in challenge
    r = client.post("/omf", content=FLOW_TYPES, headers={"messagetype": "type",
                                                         "omfversion": "1.2"})  # fmt: skip
    assert r.status_code == 401
    assert "Basic" in r.headers["WWW-Authenticate"]
    assert post(client, "type", FLOW_TYPES, Authorization=basic("u", "operator")).status_code == 403
    # a browser holding Basic credentials sends them with any cross-site form, which cannot
    # set messagetype: refused, and kept off the company's rejected topic
    before = len(rejections(kafka, settings))
    form = client.post(
        "/omf",
        content=b"a=b",
        headers={
            "Authorization": basic("u", "acme"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert (form.status_code, form.json()["errors"][0]["field"]) == (400, "messagetype")
    assert len(rejections(kafka, settings)) == before
    bearer = client.post("/omf", content=b"[]", headers={"Authorization": "Bearer acme",
                                                         "omfversion": "1.2"})  # fmt: skip
    assert bearer.status_code == 400
    assert len(rejections(kafka, settings)) == before + 1  # a client's mistake, recorded
    # the other doors keep bearer tokens only
    push = client.post("/v1/readings", json={"readings": []},
                       headers={"Authorization": basic("u", "acme")})  # fmt: skip
    assert (push.status_code, push.headers["WWW-Authenticate"]) == (401, "Bearer")


def test_the_adapters_endpoint_with_a_trailing_slash_is_served_without_a_redirect(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, _, _ = api
    for path in ("/piwebapi/omf/", "/omf/"):
        headers = {**HEADERS_12, "messagetype": "type", "compression": "gzip"}
        r = client.post(path, content=gzip.compress(FLOW_TYPES.encode()), headers=headers,
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 200, (path, r.status_code, r.text)
    r = client.post("/v1/readings/", content=b"x", headers={"Authorization": "Bearer acme"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 415  # the exemption is the OMF routes' only


def test_piwebapi_system_answers_what_fledge_reads_to_choose_omf_12(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, _, _ = api
    for path in ("/piwebapi/system", "/piwebapi/system/"):
        r = client.get(path, headers={"Accept": "application/json",
                                      "Authorization": basic("fledge", "acme")})  # fmt: skip
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"ProductTitle", "ProductVersion"}
        # omfinfo.cpp SetOMFVersion: "2019" -> 1.0, "2020" -> 1.1, anything else 1.2
        version = f"{body['ProductTitle']}-{body['ProductVersion']}"
        assert "2019" not in version
        assert "2020" not in version
    r = client.get("/piwebapi/system")
    assert r.status_code == 401
    assert "Basic" in r.headers["WWW-Authenticate"]


def test_the_openapi_document_names_both_schemes_of_the_omf_routes(
    api: tuple[TestClient, FakeKafka, Settings],
) -> None:
    client, _, _ = api
    doc = client.get("/openapi.json").json()
    for path, method in (("/omf", "post"), ("/piwebapi/omf", "post"),
                         ("/piwebapi/system", "get")):  # fmt: skip
        security = doc["paths"][path][method]["security"]
        assert {"HTTPBearer": []} in security
        assert {"HTTPBasic": []} in security
    assert doc["paths"]["/v1/readings"]["post"]["security"] == [{"HTTPBearer": []}]
    assert doc["components"]["securitySchemes"]["HTTPBasic"]["scheme"] == "basic"
