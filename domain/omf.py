"""OMF (Open Message Format) 1.0, 1.1 and 1.2 as an AVEVA PI adapter sends it over HTTP.

The specification is the public ``osisoft/OMF-Docs`` repository (``documentation/headers.md``,
``message-types.md``, ``types/``, ``containers/``, ``data/``, ``http-behaviors.md``; 1.1 on
its ``v1.1`` branch). What this module does with it, pure and without I/O:

- :func:`parse_headers`: the ``messagetype``, ``messageformat``, ``omfversion``, ``action``
  and ``compression`` headers (values case-insensitive; 1.1's ``producertoken`` is ignored:
  the token says who the company is; 1.0 is taken as 1.1, which only adds features to it);
- :func:`decode_body`: gunzip (bounded) and parse the JSON array of message items;
- :func:`plan_types` and :func:`plan_containers`: check a type or container message against
  the company's book (:class:`Book`, read from the :class:`~domain.directory.Directory`) and
  say which :class:`~schemas.omf.OmfRecord` s to write; an identical re-send changes nothing,
  a different definition under ``create`` is a conflict (409); each item is kept or refused
  on its own (the message is refused only when none is kept);
- :func:`data_rows`: turn a data message into reading rows for the ingest gateway, the same
  rows every other door produces (so the same checks, rejections and idempotency apply); a
  second value of a meter at the same instant (to the microsecond) is refused, not merged.

A container is read into meters of its company: for a type with one number property, the
container id is a meter id or a tag of one of the company's sites' ``tag_map``; for several,
each property ``P`` maps through the tag (or meter id) ``<container id>.<P>``. Keywords are
case-insensitive (``index.md``: "anything defined in this document, such as keywords and
enumerated values, is treated as case insensitive"), and so are property names here.

Errors carry the HTTP status the specification's "HTTP Behaviors" page gives them: 400 a
malformed message, 404 a referenced type that is not defined, 409 a conflicting redefinition,
413 over the size limit, 501 a feature symbiosis cannot represent.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeVar, cast

import orjson
from pydantic import TypeAdapter, ValidationError

from domain.directory import Directory, MeterRef
from domain.errors import InvalidInputError, UnitError
from domain.intake import UNMAPPED, RowError
from domain.units import factor
from domain.wording import reason_of
from schemas.omf import (
    OMF_ID_MAX_CHARS,
    OmfContainer,
    OmfRecord,
    OmfType,
    OmfValueProperty,
    omf_key,
)
from schemas.readings import ReadingQuality, ReadingTs
from schemas.units import UNIT_MAX_CHARS

MAX_MESSAGE_BYTES: Final = 192 * 1024
"""``http-behaviors.md``: "The body of an OMF message has a maximum size of 192KB" (413)."""

VERSIONS: Final = ("1.0", "1.1", "1.2")
"""OMF versions taken: 1.1 only adds features to 1.0 (``v1.1`` branch, ``whats-new.md``)."""
MAX_TYPES_PER_COMPANY: Final = 2_000
MAX_CONTAINERS_PER_COMPANY: Final = 20_000
MAX_PROPERTIES: Final = 1_000
LINK_TYPE: Final = "__link"
"""The one predefined type (``data/link-type.md``); its data relates assets: ignored."""

_R = TypeVar("_R")

MessageType = Literal["type", "container", "data"]
Action = Literal["create", "update", "delete"]
MESSAGE_TYPES: Final[tuple[MessageType, ...]] = ("type", "container", "data")
ACTIONS: Final[tuple[Action, ...]] = ("create", "update", "delete")

_NUMBER_FORMATS: Final = {
    "number": {"float64", "float32", "float16"},
    "integer": {"int64", "int32", "int16", "uint64", "uint32", "uint16"},
}
_BASE_TYPES: Final = {"array", "boolean", "integer", "number", "object", "string"}
_STATUS_ORDER: Final = (400, 501, 404, 409)
"""When items fail for different reasons, the answer is the first status that applies."""
_INSTANT: Final = TypeAdapter(ReadingTs)
"""Reads an index value as :class:`~schemas.readings.Reading` reads ``ts`` (to the microsecond)."""


@dataclass(frozen=True, slots=True)
class ItemError:
    """One refused part of a message: which item (``None``: headers or body), field, why.

    ``code`` is the problem's stable code when it is not the status's own (``quota_exceeded``).
    """

    item: int | None
    field: str
    reason: str
    status: int = 400
    code: str = ""


class OmfError(InvalidInputError):
    """A message refused as a whole: its HTTP status, a sentence, every item's error."""

    def __init__(
        self, status: int, message: str, errors: Sequence[ItemError] = (), code: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = list(errors)
        self.code = code


def status_of(errors: Sequence[ItemError]) -> int:
    """The status of errors of different kinds: the first of 400, 501, 404, 409 that applies."""
    return next((s for s in _STATUS_ORDER if any(e.status == s for e in errors)), 400)


def _refusal(errors: Sequence[ItemError], what: str) -> OmfError:
    status = status_of(errors)
    first = next(e for e in errors if e.status == status)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return OmfError(status, f"{what}: {first.field}: {first.reason}{more}", errors, first.code)


@dataclass(frozen=True, slots=True)
class OmfHeaders:
    """The OMF headers of one request (``headers.md``)."""

    message_type: MessageType
    action: Action
    version: str
    gzip: bool


def parse_headers(headers: Mapping[str, str]) -> OmfHeaders:
    """The OMF headers of a request; names and values are case-insensitive.

    Args:
        headers: The HTTP headers (a case-insensitive mapping, as Starlette's, or one with
            lower-case names). ``producertoken`` (1.1) and ``X-Requested-With`` are ignored;
            ``Content-Encoding: gzip`` is taken like ``compression: gzip``.

    Raises:
        OmfError: 400 for a missing or unknown ``messagetype``, ``omfversion`` or ``action``;
            501 for another ``messageformat`` than json, another compression than gzip, or
            an OMF version other than 1.0, 1.1 and 1.2.
    """

    def get(name: str) -> str:
        return (headers.get(name) or "").strip().lower()

    errors: list[ItemError] = []
    message_type = get("messagetype")
    if message_type not in MESSAGE_TYPES:
        reason = f"must be one of {', '.join(MESSAGE_TYPES)}, not {message_type!r}"
        errors.append(ItemError(None, "messagetype", reason if message_type else "is required"))
    message_format = get("messageformat") or "json"
    if message_format != "json":
        errors.append(ItemError(None, "messageformat", f"only json, not {message_format!r}", 501))
    version = get("omfversion")
    if not version:
        errors.append(ItemError(None, "omfversion", "is required (1.0, 1.1 or 1.2)"))
    elif version not in VERSIONS:
        status = 501 if re.fullmatch(r"\d{1,3}(\.\d{1,3}){1,3}", version) else 400
        reason = f"{version!r}: only 1.0, 1.1 and 1.2"
        errors.append(ItemError(None, "omfversion", reason, status))
    action = get("action") or "create"
    if action not in ACTIONS:
        errors.append(ItemError(None, "action", f"must be one of {', '.join(ACTIONS)}"))
    compression = get("compression")
    if compression not in ("", "gzip"):
        errors.append(ItemError(None, "compression", f"only gzip, not {compression!r}", 501))
    if errors:
        raise _refusal(errors, "the OMF headers are not valid")
    gzip = compression == "gzip" or get("content-encoding") == "gzip"
    return OmfHeaders(cast(MessageType, message_type), cast(Action, action), version, gzip)


def decode_body(raw: bytes, *, gzip: bool, max_bytes: int) -> list[object]:
    """The message items of a body: a JSON array (a single object is taken as one item).

    Args:
        raw: The body as received (at most :data:`MAX_MESSAGE_BYTES`, checked by the caller).
        gzip: The body is gzip-compressed (``compression: gzip``).
        max_bytes: Most bytes a compressed body may unpack to (a gzip bomb is refused).

    Raises:
        OmfError: 400 not gzip, not JSON, not an array; 413 unpacks to more than ``max_bytes``.
    """
    data = raw
    if gzip:
        unpack = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = unpack.decompress(raw, max_bytes + 1)
        except zlib.error as e:
            raise OmfError(400, f"the body is not gzip: {e}") from e
        if len(data) > max_bytes:
            raise OmfError(413, f"the body unpacks to more than {max_bytes} bytes")
        if not unpack.eof:
            raise OmfError(400, "the gzip body is truncated")
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise OmfError(400, f"the body is not JSON: {e}") from e
    if isinstance(parsed, dict):
        return [parsed]
    if not isinstance(parsed, list):
        raise OmfError(400, "an OMF message body is a JSON array of objects")
    return parsed


def keywords(item: object, where: str, errors: list[ItemError], i: int) -> dict[str, Any] | None:
    """An object's keys lower-cased (OMF keywords are case-insensitive); ``None`` on error."""
    if not isinstance(item, dict):
        errors.append(ItemError(i, where or f"[{i}]", "must be a JSON object"))
        return None
    out: dict[str, Any] = {}
    for key, value in item.items():
        low = key.lower()
        if low in out:
            errors.append(ItemError(i, f"{where}.{key}", "given twice (keywords ignore case)"))
            return None
        out[low] = value
    return out


def _fingerprint(kw: Mapping[str, Any], i: int, errors: list[ItemError]) -> str | None:
    """A digest of a type or container definition, to compare a re-sent one with the stored one.

    ``None`` (an error appended) for one nested deeper than orjson writes (254 levels).
    """
    canonical = dict(kw)
    props = kw.get("properties")
    if isinstance(props, dict):
        canonical["properties"] = {
            name: {k.lower(): v for k, v in p.items()} if isinstance(p, dict) else p
            for name, p in props.items()
        }
    try:
        text = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as e:
        errors.append(ItemError(i, f"[{i}]", f"cannot be read as a definition: {e}"))
        return None
    return hashlib.sha256(text).hexdigest()


def _omf_id(kw: Mapping[str, Any], name: str, i: int, errors: list[ItemError]) -> str | None:
    value = kw.get(name)
    where = f"[{i}].{name}"
    if value is None:
        errors.append(ItemError(i, where, "is required"))
    elif not isinstance(value, str) or not value.strip():
        errors.append(ItemError(i, where, "must be a non-empty string"))
    elif len(value) > OMF_ID_MAX_CHARS:
        errors.append(ItemError(i, where, f"at most {OMF_ID_MAX_CHARS} characters"))
    else:
        return value
    return None


def _base_type(spec: Any, where: str, i: int, errors: list[ItemError]) -> tuple[str, bool] | None:
    """A property's ``type`` as ``(base type, nullable)`` (``["number", "null"]``)."""
    names = spec if isinstance(spec, list) else [spec]
    if not names or not all(isinstance(n, str) for n in names):
        errors.append(ItemError(i, where, "must be a type name or an array of them"))
        return None
    lowered = [n.lower() for n in names]
    bases = [n for n in lowered if n != "null"]
    if len(bases) != 1 or bases[0] not in _BASE_TYPES:
        errors.append(ItemError(i, where, f"must be one of {sorted(_BASE_TYPES)} (or null)"))
        return None
    return bases[0], "null" in lowered


@dataclass
class _DynamicShape:
    index: list[str] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)
    values: list[OmfValueProperty] = field(default_factory=list)


def _dynamic_property(
    name: str, spec: object, shape: _DynamicShape, i: int, errors: list[ItemError]
) -> None:
    where = f"[{i}].properties.{name}"
    kw = keywords(spec, where, errors, i)
    if kw is None:
        return
    if not name.strip() or len(name) > OMF_ID_MAX_CHARS:
        errors.append(ItemError(i, where, f"a property id has 1 to {OMF_ID_MAX_CHARS} characters"))
        return
    base: tuple[str, bool] | None = None
    if "type" in kw:
        base = _base_type(kw["type"], f"{where}.type", i, errors)
        if base is None:
            return
    elif not isinstance(kw.get("reftypeid"), str):
        errors.append(ItemError(i, where, "needs a type or a reftypeid"))
        return
    fmt = kw.get("format")
    fmt = fmt.lower() if isinstance(fmt, str) else fmt
    if kw.get("isindex") is True:
        shape.index.append(name)
        if base is None or base[0] != "string" or fmt != "date-time":
            errors.append(
                ItemError(
                    i,
                    where,
                    "symbiosis reads data indexed by time only: the "
                    "index must be a string of format date-time",
                    501,
                )
            )
        return
    if kw.get("isquality") is True:
        shape.quality.append(name)
        return
    if base is None or base[0] not in _NUMBER_FORMATS:
        return  # strings, booleans, arrays, objects, references: not readings, ignored
    if fmt is not None and fmt not in _NUMBER_FORMATS[base[0]]:
        errors.append(ItemError(i, f"{where}.format", f"{fmt!r} is not a format of {base[0]}"))
        return
    uom = kw.get("uom")
    if uom is not None and (not isinstance(uom, str) or not 0 < len(uom) <= 64):
        errors.append(ItemError(i, f"{where}.uom", "must be a unit of 1 to 64 characters"))
        return
    shape.values.append(OmfValueProperty(id=name, uom=uom, nullable=base[1]))


def parse_type(
    kw: Mapping[str, Any], i: int, company: str, errors: list[ItemError]
) -> OmfType | None:
    """One item of a type message (keywords lower-cased) as the record to keep.

    Dynamic types need one ``isindex`` property of type string, format date-time; their
    number and integer properties are the values read (``uom`` their unit, nullable when
    declared ``["number", "null"]``), one ``isquality`` property their quality. Static types
    and types without classification (enums, referenced types) are kept by id and fingerprint
    only: their content is accepted and not used.
    """
    type_id = _omf_id(kw, "id", i, errors)
    if type_id is not None and type_id.startswith("__"):
        errors.append(ItemError(i, f"[{i}].id", "ids starting with __ are reserved"))
        return None
    classification = kw.get("classification")
    if isinstance(classification, str):
        classification = classification.lower()
    if classification not in (None, "dynamic", "static"):
        errors.append(ItemError(i, f"[{i}].classification", "must be dynamic or static"))
        return None
    shape_type = kw.get("type")
    if shape_type is not None and (
        not isinstance(shape_type, str) or shape_type.lower() != "object"
    ):
        errors.append(ItemError(i, f"[{i}].type", "must be object"))
        return None
    props = kw.get("properties")
    if classification is not None and not isinstance(props, dict):
        errors.append(ItemError(i, f"[{i}].properties", "must be an object of properties"))
        return None
    version = kw.get("version", "1.0.0.0")
    if not isinstance(version, str) or len(version) > 64:
        errors.append(ItemError(i, f"[{i}].version", "must be a version string (x.x.x.x)"))
        return None
    if type_id is None:
        return None
    fingerprint = _fingerprint(kw, i, errors)
    if fingerprint is None:
        return None
    if classification != "dynamic":
        return OmfType(
            company=company,
            id=type_id,
            classification="static" if classification == "static" else "none",
            version=version,
            fingerprint=fingerprint,
        )
    assert isinstance(props, dict)
    return _dynamic_type(props, type_id, version, fingerprint, company, i, errors)


def _dynamic_type(
    props: Mapping[str, Any],
    type_id: str,
    version: str,
    fingerprint: str,
    company: str,
    i: int,
    errors: list[ItemError],
) -> OmfType | None:
    before = len(errors)
    where = f"[{i}].properties"
    if len(props) > MAX_PROPERTIES:
        errors.append(ItemError(i, where, f"at most {MAX_PROPERTIES} properties"))
        return None
    seen: dict[str, str] = {}
    shape = _DynamicShape()
    for name, spec in props.items():
        if name.lower() in seen:
            reason = f"same name as {seen[name.lower()]!r} (names ignore case)"
            errors.append(ItemError(i, f"{where}.{name}", reason))
            continue
        seen[name.lower()] = name
        _dynamic_property(name, spec, shape, i, errors)
    if not shape.index:
        reason = "a dynamic type needs an isindex property (date-time)"
        errors.append(ItemError(i, where, reason))
    elif len(shape.index) > 1:
        reason = "a compound index cannot be represented (one date-time)"
        errors.append(ItemError(i, where, reason, 501))
    if len(shape.quality) > 1:
        reason = "more than one isquality property cannot be represented"
        errors.append(ItemError(i, where, reason, 501))
    if len(errors) > before:
        return None
    return OmfType(
        company=company,
        id=type_id,
        classification="dynamic",
        version=version,
        fingerprint=fingerprint,
        index=shape.index[0],
        values=shape.values,
        quality=shape.quality[0] if shape.quality else None,
    )


class Book:
    """One company's OMF types and containers, and how its containers map onto its meters.

    A view of a :class:`~domain.directory.Directory`; hold the directory's lock while using it.
    """

    def __init__(self, directory: Directory, company: str) -> None:
        self.directory = directory
        self.company = company
        self.types: Mapping[str, OmfType] = directory.omf_types.get(company, {})
        self.containers: Mapping[str, OmfContainer] = directory.omf_containers.get(company, {})
        self._tags: dict[str, str | None] | None = None

    def _tag(self, name: str) -> str | None:
        if self._tags is None:
            tags: dict[str, str | None] = {}
            for site in self.directory.sites.values():
                if site.company != self.company:
                    continue
                for tag, meter in site.tag_map.items():
                    tags[tag] = meter if tags.get(tag, meter) == meter else None  # ambiguous
            self._tags = tags
        return self._tags.get(name)

    def meter(self, name: str) -> MeterRef | None:
        """The company's meter a name stands for: a tag of its sites' tag maps, or a meter id.

        Another company's meter is answered like an unknown one (``None``).
        """
        ref = self.directory.meter(self._tag(name) or name)
        return ref if ref is not None and ref.company == self.company else None

    def mapping(
        self, container: OmfContainer, omf_type: OmfType
    ) -> dict[str, tuple[MeterRef, str]]:
        """Property id -> (meter, unit) for the container's number properties that map.

        The unit is the container's ``uom`` override, else the type property's ``uom``, else
        the meter's stream unit.
        """
        single = len(omf_type.values) == 1
        out: dict[str, tuple[MeterRef, str]] = {}
        for prop in omf_type.values:
            names = [f"{container.id}.{prop.id}", *([container.id] if single else [])]
            ref = next((r for r in map(self.meter, names) if r is not None), None)
            if ref is not None:
                unit = container.uom.get(prop.id) or prop.uom or ref.stream.unit
                out[prop.id] = (ref, unit)
        return out


def _guarded(
    parse: Callable[..., _R | None], kw: Mapping[str, Any], i: int, *args: Any
) -> _R | None:
    """``parse(kw, i, *args)``, a value the record models refuse being an error of item ``i``."""
    errors: list[ItemError] = args[-1]
    try:
        return parse(kw, i, *args)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = reason_of(first)
        errors.append(ItemError(i, f"[{i}]", f"{where}: {reason}" if where else reason))
        return None


@dataclass
class Plan:
    """What a type or container message changes, and which of its items are refused.

    Attributes:
        writes: Records to write, in message order (``None``: a tombstone).
        write_items: Per write, the message item it comes from.
        unchanged: Items kept as they were (identical re-sends, deletes of absent ids).
        refused: Errors of the items refused one by one (each names its item); the others
            are written. Never every item: a message with nothing kept raises instead.
    """

    writes: list[tuple[str, OmfRecord | None]] = field(default_factory=list)
    write_items: list[int] = field(default_factory=list)
    unchanged: int = 0
    refused: list[ItemError] = field(default_factory=list)

    def write(self, item: int, key: str, record: OmfRecord | None) -> None:
        """Add one write of message item ``item``."""
        self.writes.append((key, record))
        self.write_items.append(item)

    @property
    def kept(self) -> int:
        """Items written or unchanged."""
        return len(self.writes) + self.unchanged

    @property
    def refused_items(self) -> list[int]:
        """The refused items, in message order (each once)."""
        return sorted({e.item for e in self.refused if e.item is not None})


def plan_types(items: Sequence[object], action: Action, book: Book) -> Plan:
    """Check a type message against the company's book; the writes it makes.

    Long because: one case per action and per outcome (new, identical, conflicting), each
    with the error the specification's HTTP behaviours give it.

    ``create`` adds new types (an identical one is unchanged; a different one under the same
    id is a conflict, 409). ``update`` adds or replaces. ``delete`` needs only ``id``; a type
    still used by a container is a conflict; an absent one is unchanged. Each item is kept or
    refused on its own: the refused ones are in :attr:`Plan.refused`, the others are written.

    Raises:
        OmfError: every item refused (nothing is written): 400, 501, 409 as :func:`_refusal`.
    """
    errors: list[ItemError] = []
    plan = Plan()
    seen: dict[str, tuple[str, int]] = {}
    for i, item in enumerate(items):
        kw = keywords(item, f"[{i}]", errors, i)
        if kw is None:
            continue
        if action == "delete":
            type_id = _omf_id(kw, "id", i, errors)
            if type_id is None:
                continue
            users = sorted(c.id for c in book.containers.values() if c.typeid == type_id)
            if users:
                errors.append(
                    ItemError(
                        i,
                        f"[{i}].id",
                        f"type {type_id!r} is used by container {users[0]!r}: delete it first",
                        409,
                    )
                )
            elif type_id in book.types:
                plan.write(i, omf_key(book.company, "type", type_id), None)
            else:
                plan.unchanged += 1
            continue
        record = _guarded(parse_type, kw, i, book.company, errors)
        if record is None:
            continue
        if _redefinition(i, record, book.types.get(record.id), "type", action, seen, plan, errors):
            plan.write(i, omf_key(book.company, "type", record.id), OmfRecord(type=record))
    _quota(book.types, plan, MAX_TYPES_PER_COMPANY, "types", errors)
    return _settled(plan, errors, "the type message is refused")


def _quota(
    existing: Mapping[str, object], plan: Plan, limit: int, what: str, errors: list[ItemError]
) -> None:
    """Refuse (409 ``quota_exceeded``) the writes of new ids past the company's ``limit``.

    Ids are counted in message order: the first ones that fit are kept.
    """
    room = limit - len(existing)
    new_ids: set[str] = set()
    kept: list[tuple[int, tuple[str, OmfRecord | None]]] = []
    for i, (key, record) in zip(plan.write_items, plan.writes, strict=True):
        ident = key.split("/", 2)[2]
        if record is not None and ident not in existing and ident not in new_ids:
            if len(new_ids) >= room:
                reason = f"quota: a company keeps at most {limit} OMF {what}"
                errors.append(ItemError(i, f"[{i}].id", reason, 409, "quota_exceeded"))
                continue
            new_ids.add(ident)
        kept.append((i, (key, record)))
    plan.write_items = [i for i, _ in kept]
    plan.writes = [w for _, w in kept]


def _settled(plan: Plan, errors: list[ItemError], what: str) -> Plan:
    """The plan, its refused items noted; refused whole when no item is kept.

    Raises:
        OmfError: items were refused and none was kept (:func:`_refusal`'s status).
    """
    if errors and not plan.kept:
        raise _refusal(errors, what)
    plan.refused = errors
    return plan


def parse_container(
    kw: Mapping[str, Any], i: int, book: Book, errors: list[ItemError]
) -> OmfContainer | None:
    """One item of a container message as the record to keep, checked against the book.

    Its type must be one of the company's dynamic types (404 when undefined), and at least one
    of its number properties must map to a meter of the company whose unit converts to that
    meter's (see :class:`Book`). ``propertyoverrides`` may set a property's ``uom``; the other
    overrides, ``indexes``, ``datasource``, ``extrapolation`` and 1.1's ``typeversion`` are
    accepted and not used.
    """
    container_id = _omf_id(kw, "id", i, errors)
    type_id = _omf_id(kw, "typeid", i, errors)
    if container_id is None or type_id is None:
        return None
    omf_type = book.types.get(type_id)
    if omf_type is None:
        reason = f"{type_id!r} is not a type of the company (send its type message first)"
        errors.append(ItemError(i, f"[{i}].typeid", reason, 404))
        return None
    if omf_type.classification != "dynamic":
        reason = f"{type_id!r} is {omf_type.classification}: containers are for dynamic types"
        errors.append(ItemError(i, f"[{i}].typeid", reason))
        return None
    uom = _overrides(kw.get("propertyoverrides"), omf_type, i, errors)
    if uom is None:
        return None
    fingerprint = _fingerprint(kw, i, errors)
    if fingerprint is None:
        return None
    record = OmfContainer(
        company=book.company, id=container_id, typeid=type_id, fingerprint=fingerprint, uom=uom
    )
    return record if _maps(record, omf_type, book, i, errors) else None


def _maps(
    container: OmfContainer, omf_type: OmfType, book: Book, i: int, errors: list[ItemError]
) -> bool:
    """Whether a container maps to at least one meter, in units that convert."""
    mapping = book.mapping(container, omf_type)
    if not mapping:
        ids = (
            [container.id]
            if len(omf_type.values) == 1
            else [f"{container.id}.{p.id}" for p in omf_type.values[:3]]
        )
        names = " or ".join(map(repr, ids)) or "(the type has no number property)"
        reason = (
            f"maps to no meter of the company: {names} is neither one of its meter ids "
            "nor a tag of its sites' tag_map"
        )
        errors.append(ItemError(i, f"[{i}].id", reason))
        return False
    for prop_id, (ref, unit) in mapping.items():
        where = (
            f"[{i}].propertyoverrides.{prop_id}.uom"
            if prop_id in container.uom
            else (f"[{i}].typeid")
        )
        try:
            factor(
                unit,
                ref.stream.unit,
                field=f"property {prop_id!r} -> meter {ref.meter!r}",
                kind=ref.stream.kind,
                gas_species=ref.stream.gas_species,
                density_kg_per_m3=ref.stream.density_kg_per_m3,
            )
        except (UnitError, ValueError) as e:
            errors.append(ItemError(i, where, str(e)))
            return False
    return True


def _overrides(
    raw: object, omf_type: OmfType, i: int, errors: list[ItemError]
) -> dict[str, str] | None:
    if raw is None:
        return {}
    where = f"[{i}].propertyoverrides"
    if not isinstance(raw, dict):
        errors.append(ItemError(i, where, "must be an object of property overrides"))
        return None
    by_name = {p.id.lower(): p.id for p in omf_type.values}
    uom: dict[str, str] = {}
    for name, spec in raw.items():
        kw = keywords(spec, f"{where}.{name}", errors, i)
        if kw is None:
            return None
        unit = kw.get("uom")
        if unit is None:
            continue
        prop = by_name.get(name.lower())
        if prop is None:
            errors.append(
                ItemError(i, f"{where}.{name}", "not a number property of the container's type")
            )
            return None
        if not isinstance(unit, str) or not 0 < len(unit) <= UNIT_MAX_CHARS:
            errors.append(
                ItemError(
                    i, f"{where}.{name}.uom", f"must be a unit of 1 to {UNIT_MAX_CHARS} characters"
                )
            )
            return None
        uom[prop] = unit
    return uom


def plan_containers(items: Sequence[object], action: Action, book: Book) -> Plan:
    """Check a container message against the company's book; the writes it makes.

    ``create`` adds containers (identical: unchanged; different: 409), ``update`` adds or
    replaces, ``delete`` needs ``id`` and ``typeid`` (an absent container is unchanged). Each
    item is kept or refused on its own (:attr:`Plan.refused`).

    Raises:
        OmfError: every item refused (nothing is written): 400, 501, 404, 409.
    """
    errors: list[ItemError] = []
    plan = Plan()
    seen: dict[str, tuple[str, int]] = {}
    for i, item in enumerate(items):
        kw = keywords(item, f"[{i}]", errors, i)
        if kw is None:
            continue
        if action == "delete":
            container_id = _omf_id(kw, "id", i, errors)
            type_id = _omf_id(kw, "typeid", i, errors)
            old = book.containers.get(container_id or "")
            if container_id is None or type_id is None:
                continue
            if old is None:
                plan.unchanged += 1
            elif old.typeid != type_id:
                errors.append(
                    ItemError(i, f"[{i}].typeid", f"the container's type is {old.typeid!r}")
                )
            else:
                plan.write(i, omf_key(book.company, "container", container_id), None)
            continue
        record = _guarded(parse_container, kw, i, book, errors)
        if record is None:
            continue
        old = book.containers.get(record.id)
        if _redefinition(i, record, old, "container", action, seen, plan, errors):
            key = omf_key(book.company, "container", record.id)
            plan.write(i, key, OmfRecord(container=record))
    _quota(book.containers, plan, MAX_CONTAINERS_PER_COMPANY, "containers", errors)
    return _settled(plan, errors, "the container message is refused")


def _redefinition(
    i: int,
    record: OmfType | OmfContainer,
    old: OmfType | OmfContainer | None,
    what: str,
    action: str,
    seen: dict[str, tuple[str, int]],
    plan: Plan,
    errors: list[ItemError],
) -> bool:
    """Whether a type or container definition is to be written (the rules they share).

    Defined twice differently in one message: the later one is an error (the earlier one
    stands). The same as stored: unchanged (adapters resend their definitions at every start).
    Different under ``create``: 409. Otherwise: write.
    """
    fingerprint, first = seen.setdefault(record.id, (record.fingerprint, i))
    if fingerprint != record.fingerprint:
        reason = f"defined differently by item [{first}] of this message"
        errors.append(ItemError(i, f"[{i}].id", reason))
        return False
    if old is not None and old.fingerprint == record.fingerprint:
        plan.unchanged += 1
        return False
    if old is not None and action == "create":
        reason = f"{what} {record.id!r} is already defined differently"
        errors.append(
            ItemError(i, f"[{i}].id", f"{reason} (send action update to replace it)", 409)
        )
        return False
    return True


def quality_of(value: object) -> ReadingQuality | None:
    """A reading's quality from an ``isquality`` property's value; ``None``: not a quality.

    Absent (``null``) or ``true`` or ``0`` or ``"good"``: good. An integer is read as an OPC
    UA status code (``0`` good, severity bits ``01`` uncertain, anything else bad: an enum's
    non-zero states are not good); strings ``good``, ``uncertain``, ``bad`` (any case), other
    strings bad; ``false`` bad.
    """
    if value is None:
        return ReadingQuality.GOOD
    if isinstance(value, bool):
        return ReadingQuality.GOOD if value else ReadingQuality.BAD
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value == 0:
            return ReadingQuality.GOOD
        if 0 < value <= 0xFFFFFFFF and value & 0xC0000000 == 0x40000000:
            return ReadingQuality.UNCERTAIN
        return ReadingQuality.BAD
    if isinstance(value, str):
        try:
            return ReadingQuality(value.strip().lower())
        except ValueError:
            return ReadingQuality.BAD
    return None


@dataclass(frozen=True, slots=True)
class _Place:
    item: int
    value: int | None = None
    prop: str = ""
    index: str = ""
    quality: str = ""


@dataclass
class DataRows:
    """A data message as reading rows for the gateway, with where each row came from.

    Attributes:
        rows: One reading row per (value, mapped number property); :data:`UNMAPPED` for an
            item or value refused while mapping (its error is in ``errors``).
        errors: Mapping errors, fields named as the client sent them.
        sources: Per row, where it came from (``POST /omf [2].values[5]``), for rejections.
        ignored: Values not read: static and link data, ``null`` of nullable properties,
            properties mapped to no meter.
        missing: Rows refused because they name a container or type the company has not
            defined (the specification's "referenced resource was not found").
    """

    source: str
    rows: list[object] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    ignored: int = 0
    places: list[_Place] = field(default_factory=list)
    missing: set[int] = field(default_factory=set)
    instants: dict[tuple[str, datetime], _Place] = field(default_factory=dict)
    """(meter, instant) -> the first value read at it, to refuse a second one."""

    def locate(self, row: int, name: str) -> str:
        """A row's field as the client named it (:data:`domain.intake.Locate`)."""
        p = self.places[row]
        value = f"[{p.item}].values[{p.value}]"
        by_field = {
            "meter": f"[{p.item}].containerid",
            "ts": f"{value}.{p.index}",
            "value": f"{value}.{p.prop}",
            "unit": f"{value}.{p.prop}",
            "quality": f"{value}.{p.quality or p.prop}",
            "": value,
        }
        return by_field.get(name, f"{value}.{name}")

    def item_of(self, row: int) -> int:
        """The message item a row came from."""
        return self.places[row].item

    def _refuse(
        self, place: _Place, field_name: str, reason: str, payload: object, *, missing: bool = False
    ) -> None:
        if missing:
            self.missing.add(len(self.rows))
        self.errors.append(RowError(len(self.rows), field_name, reason, payload=payload))
        self._add(UNMAPPED, place)

    def _add(self, row: object, place: _Place) -> None:
        where = (
            f"[{place.item}]" if place.value is None else f"[{place.item}].values[{place.value}]"
        )
        self.rows.append(row)
        self.places.append(place)
        self.sources.append(f"{self.source} {where}")


def data_rows(items: Sequence[object], book: Book, *, source: str = "POST /omf") -> DataRows:
    """Map a data message (action create) onto reading rows.

    Items with a ``containerid`` give one row per value and mapped number property: ``ts`` the
    index property, ``value`` the property's value, ``unit`` as :meth:`Book.mapping`,
    ``quality`` from the ``isquality`` property (:func:`quality_of`). A property absent from
    a value gives no reading (symbiosis never invents the specification's default 0). Items
    of static types, ``__Link`` items and type-less ``properties`` items are ignored.
    """
    out = DataRows(source)
    for i, item in enumerate(items):
        errors: list[ItemError] = []
        kw = keywords(item, f"[{i}]", errors, i)
        where = _Place(i)
        if kw is None:
            out._refuse(where, errors[0].field, errors[0].reason, item)
            continue
        values = kw.get("values")
        if not isinstance(values, list):
            out._refuse(where, f"[{i}].values", "must be an array of values", item)
            continue
        container_id, type_id = kw.get("containerid"), kw.get("typeid")
        if container_id is None:
            reason = _not_dynamic(type_id, kw, book)
            if reason is None:
                out.ignored += len(values)
            else:
                missing = isinstance(type_id, str) and type_id not in book.types
                name = f"[{i}].{'typeid' if type_id else 'containerid'}"
                out._refuse(where, name, reason, item, missing=missing)
            continue
        container = book.containers.get(container_id) if isinstance(container_id, str) else None
        omf_type = book.types.get(container.typeid) if container is not None else None
        if container is None or omf_type is None:
            reason = (
                f"{container_id!r} is not a container of the company "
                "(send its container message first)"
            )
            out._refuse(where, f"[{i}].containerid", reason, item, missing=True)
            continue
        if type_id is not None and type_id != container.typeid:
            out._refuse(
                where, f"[{i}].typeid", f"the container's type is {container.typeid!r}", item
            )
            continue
        _values(out, i, values, book.mapping(container, omf_type), omf_type)
    return out


def _not_dynamic(type_id: object, kw: Mapping[str, Any], book: Book) -> str | None:
    """Why an item without ``containerid`` is refused; ``None``: static data, ignored."""
    if isinstance(type_id, str) and type_id.lower() == LINK_TYPE:
        return None
    if type_id is None:
        return None if "properties" in kw else "give a containerid (or typeid, or properties)"
    omf_type = book.types.get(type_id) if isinstance(type_id, str) else None
    if omf_type is None:
        return f"{type_id!r} is not a type of the company (send its type message first)"
    if omf_type.classification == "dynamic":
        return f"{type_id!r} is dynamic: its data goes to a container (give containerid)"
    return None


def _values(
    out: DataRows,
    i: int,
    values: Sequence[object],
    mapping: Mapping[str, tuple[MeterRef, str]],
    omf_type: OmfType,
) -> None:
    assert omf_type.index is not None
    index, quality = omf_type.index, omf_type.quality or ""
    for j, value in enumerate(values):
        errors: list[ItemError] = []
        place = _Place(i, j, index=index, quality=quality)
        kw = keywords(value, f"[{i}].values[{j}]", errors, i)
        if kw is None:
            out._refuse(place, errors[0].field, errors[0].reason, value)
            continue
        ts = kw.get(index.lower())
        if ts is None:
            out._refuse(
                place, f"[{i}].values[{j}].{index}", "the index (timestamp) is missing", value
            )
            continue
        q = quality_of(kw.get(quality.lower())) if quality else ReadingQuality.GOOD
        if q is None:
            out._refuse(
                place,
                f"[{i}].values[{j}].{quality}",
                "a quality is a number, a string or a boolean",
                value,
            )
            continue
        for prop in omf_type.values:
            key = prop.id.lower()
            if key not in kw:
                continue
            found = mapping.get(prop.id)
            v = kw[key]
            if v is None and not prop.nullable:
                out._refuse(
                    _Place(i, j, prop.id, index, quality),
                    f"[{i}].values[{j}].{prop.id}",
                    "null, but the type does not declare it nullable",
                    value,
                )
            elif v is None or found is None:
                out.ignored += 1
            else:
                ref, unit = found
                here = _Place(i, j, prop.id, index, quality)
                earlier = _same_instant(out, ref.meter, ts, here)
                if earlier is not None:
                    out._refuse(here, f"[{i}].values[{j}].{index}", earlier, value)
                    continue
                row = {"meter": ref.meter, "ts": ts, "value": v, "unit": unit, "quality": q.value}
                out._add(row, here)


def _same_instant(out: DataRows, meter: str, ts: object, here: _Place) -> str | None:
    """Why a value is refused as a second one of ``meter`` at an instant; ``None``: the first.

    Readings are kept to the microsecond, one per (meter, instant): two index values apart by
    less (.NET writes 100 ns ticks), or equal, would be one reading, a value silently lost.
    A timestamp that is not a reading's (no zone, out of range) is left to the gateway's
    checks, which refuse it.
    """
    try:
        instant = _INSTANT.validate_python(ts)
    except ValidationError:
        return None
    first = out.instants.setdefault((meter, instant), here)
    if first is here:
        return None
    return (
        f"the same instant as [{first.item}].values[{first.value}].{first.index} "
        f"for meter {meter!r}: readings are kept to the microsecond, one per meter and instant"
    )
