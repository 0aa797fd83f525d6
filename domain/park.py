"""Park files: YAML in, a validated :class:`~schemas.registry.Park` out, or errors with lines.

A park file describes sites, the surplus streams they give and the needs they have (the format is
documented in the README and by :func:`park_json_schema`). Reading one is strict: every problem is
reported at once, each naming the file, the line and the field, e.g.::

    x.yaml:14: sites[0].streams[1].unit: 'MWW' is not a unit pint understands; did you mean 'MW'?

Besides what the models check, this module checks what needs the domain: units are rates of the
right dimension for their kind, EWC codes are on the European List of Waste, and cross-references
(a need's site, an exchange's stream and need, unique ids) point at the offending entry.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

import pint
import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from domain import ewc
from domain.errors import ParkFileError, UnitError
from domain.files import read_text
from domain.units import basis_unit, convert, factor
from schemas.common import SLUG_PATTERN, ResourceKind
from schemas.registry import Park
from schemas.units import UREG, parse_unit

Loc = tuple[str | int, ...]
"""Where a value sits in the park file: mapping keys and sequence indexes from the top."""

DEMO_PARK: Final = "kalundborg"
"""Name of the bundled demo park (``domain/data/parks/kalundborg.yaml``)."""

# Scalars of these fields are read as the text written, whatever YAML would make of them:
# ``ewc: 020704`` would otherwise be the octal integer 8644, ``id: 2024`` an int.
_TEXT_FIELDS: Final = frozenset(
    {
        "park",
        "id",
        "name",
        "company",
        "site",
        "stream",
        "need",
        "meters",
        "ewc",
        "accepts_ewc",
        "gas_species",
        "description",
    }
)
_TEXT_TAGS: Final = frozenset(
    {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}
)
_PATTERNS: Final = {
    SLUG_PATTERN: "must be a slug: lowercase letters and digits, single '-' or '_' between them",
    r"^\d{6}$": "must be a six-digit EWC code, e.g. '100105'",
    r"^(\d{2}|\d{4}|\d{6})$": "must be an EWC chapter (2 digits), sub-chapter (4) or code (6)",
}
"""Friendlier words for the patterns of the models' string fields."""

_POWER: Final = UREG.Unit("W")
_MASS_FLOW: Final = UREG.Unit("kg/s")
_VOLUME_FLOW: Final = UREG.Unit("m^3/s")
_RATES: Final[dict[ResourceKind, tuple[tuple[pint.Unit, str], ...]]] = {
    ResourceKind.HEAT: ((_POWER, "power (MW, kW)"),),
    ResourceKind.STEAM: ((_POWER, "power (MW, kW)"), (_MASS_FLOW, "mass flow (t/h)")),
    ResourceKind.WATER: ((_VOLUME_FLOW, "volume flow (m^3/h)"), (_MASS_FLOW, "mass flow (t/h)")),
    ResourceKind.MATERIAL: ((_MASS_FLOW, "mass flow (t/d, t/yr)"),),
    ResourceKind.GAS: ((_VOLUME_FLOW, "volume flow (m^3/h)"), (_MASS_FLOW, "mass flow (t/yr)")),
}
"""Dimensions a stream's or need's unit may have, per kind (what :mod:`domain.units` converts)."""


@dataclass(frozen=True, slots=True)
class ParkIssue:
    """One problem in a park file.

    Attributes:
        source: the file (or other source) name as given to the loader.
        line: 1-based line of the offending entry, or None when no line applies.
        field: dotted path of the field, e.g. ``sites[0].streams[1].unit``; empty for the file.
        message: what is wrong, in words.
    """

    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ParkValidationError(ParkFileError):
    """A park file parsed as YAML but does not describe a valid park.

    ``str(error)`` is one line per issue, sorted by line; :attr:`issues` has them as data.
    """

    def __init__(self, issues: Sequence[ParkIssue]) -> None:
        self.issues: tuple[ParkIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def load_park(path: Path) -> Park:
    """Read and validate a park file.

    Args:
        path: the YAML file; its name as given is used in messages.

    Returns:
        The validated park: every model check passed, units are rates of their kind, EWC codes
        exist, every reference resolves and ids are unique.

    Raises:
        ParkFileError: the file is missing, unreadable or not UTF-8, or anything that
            :func:`parse_park` rejects (then a :class:`ParkValidationError` listing every issue,
            or a YAML syntax error with its line).
    """
    source = str(path)
    text = read_text(path, what="a park file", error=ParkFileError)
    return parse_park(text, source)


def parse_park(text: str, source: str) -> Park:
    """Parse and validate the text of a park file.

    Args:
        text: YAML text (one document).
        source: name used in messages, normally the file's path.

    Returns:
        The validated park (see :func:`load_park` for what is guaranteed).

    Raises:
        ParkFileError: YAML syntax error (``source:line: YAML syntax error: ...``), an empty
            document, or a top level that is not a mapping.
        ParkValidationError: the document does not describe a valid park; lists every issue.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ParkFileError(f"{source}: the file is empty (expected 'park:', 'sites:', ...)")
        if not isinstance(root, MappingNode):
            what = "a list" if isinstance(root, SequenceNode) else "a single value"
            raise ParkFileError(
                f"{source}:{root.start_mark.line + 1}: the top level must be a mapping "
                f"with 'park', 'sites', 'needs' and 'exchanges', not {what}"
            )
        reader = _Reader(loader, source)
        data = reader.build(root, ())
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = e.problem or e.context or "invalid YAML"
        what = (
            "YAML error"
            if isinstance(e, yaml.constructor.ConstructorError)
            else "YAML syntax error"
        )
        raise ParkFileError(f"{where}: {what}: {problem}") from e
    except yaml.YAMLError as e:
        raise ParkFileError(f"{source}: YAML syntax error: {e}") from e
    finally:
        loader.dispose()
    return reader.validate(data)


def park_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a park file, with title and description.

    Returns:
        A new dict on every call, safe to modify. It describes the structure the models check;
        the domain checks of :func:`parse_park` (unit dimensions, EWC list, references) are
        stated in the descriptions but cannot be expressed in JSON Schema.
    """
    schema = Park.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Symbiosis park file"
    schema["description"] = (
        "An industrial park for symbiosis: its sites (each of one company, with its surplus "
        "streams), the needs of its sites and the exchanges already committed. Ids are lowercase "
        "slugs, unique per kind; units are any unit pint parses, and must be a rate of the "
        "kind (heat: power; steam: power or mass flow; water: volume or mass flow; material: "
        "mass flow; gas: mass flow, or volume flow in normal m^3 such as m^3/h, Nm3/h, scf/d; "
        "comparing a gas mass flow with a volume flow needs a gas_species of known density or "
        "density_kg_per_m3); plant spellings such as m3/h, m³/h and t/y are read as m^3/h and "
        "t/yr; EWC codes must be on the European List of Waste; a need's site and an "
        "exchange's stream and need must exist in the file. EWC codes may be written unquoted: "
        "they are read as written, leading zeros kept."
    )
    return schema


def bundled_park_path(name: str = DEMO_PARK) -> Path:
    """Path of a park file shipped with the package (``domain/data/parks/<name>.yaml``).

    Raises:
        ParkFileError: there is no bundled park of that name.
    """
    path = Path(str(resources.files("domain") / "data" / "parks" / f"{name}.yaml"))
    if not path.is_file():
        raise ParkFileError(f"no bundled park named {name!r}")
    return path


def nominal_available(park: Park, now: datetime) -> dict[str, float]:
    """Each stream's available surplus at nominal: ``max(nominal - committed, 0)``.

    ``committed`` sums the exchanges from the stream active at ``now`` (``start <= now < end``,
    open ends allowed), converted to the stream's unit; this is what the ledger reports when
    the meters read exactly ``nominal``.

    Args:
        park: A validated park.
        now: Timezone-aware moment deciding which exchanges are active.

    Returns:
        Stream id -> available surplus in the stream's unit, for every stream of the park.

    Raises:
        UnitError: an exchange's unit cannot be converted to its stream's unit (never for a
            park returned by :func:`load_park`, which checks it).
    """
    streams = {stream.id: stream for _, stream in park.streams()}
    available = {stream_id: stream.nominal for stream_id, stream in streams.items()}
    for x in park.exchanges:
        if (x.start is not None and now < x.start) or (x.end is not None and now >= x.end):
            continue
        stream = streams[x.stream]
        available[x.stream] -= convert(
            x.quantity,
            x.unit,
            stream.unit,
            field=f"exchange {x.id!r} quantity",
            kind=stream.kind,
            gas_species=stream.gas_species,
            density_kg_per_m3=stream.density_kg_per_m3,
        )
    return {stream_id: max(value, 0.0) for stream_id, value in available.items()}


# --- YAML with line numbers ---------------------------------------------------------------


class _Reader:
    """Builds plain data from a YAML node tree, keeping the line of every key and item."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self._loader = loader
        self._source = source
        self._lines: dict[Loc, int] = {}
        self._issues: list[ParkIssue] = []
        self._active: set[int] = set()

    def build(self, node: Node, loc: Loc) -> Any:
        """Plain Python data for ``node`` (dicts, lists, scalars), recording lines by location.

        Raises:
            yaml.MarkedYAMLError: a tag or scalar cannot be constructed.
        """
        self._lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self._active:
            self._issue(loc, "an alias refers to itself (recursive structure)")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, ScalarNode)
            if node.tag in _TEXT_TAGS and _text_field(loc):
                return node.value
            return self._loader.construct_object(node, deep=True)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any]:
        own = {id(key) for key, _ in node.value}
        self._loader.flatten_mapping(node)  # resolves '<<' merge keys: merged pairs come first
        out: dict[str, Any] = {}
        seen: set[str] = set()  # keys written in this mapping itself, not merged in
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                self._issue(loc, "a mapping key must be a plain name", line=line)
                continue
            key = str(key_node.value)
            if id(key_node) in own:
                if key in seen:
                    first = self._lines.get((*loc, key))
                    self._issue((*loc, key), f"duplicate key (first at line {first})", line=line)
                    continue
                seen.add(key)
            if key in out:  # a key written here overrides a merged one
                self._forget_below((*loc, key))
            self._lines[(*loc, key)] = line
            out[key] = self.build(value_node, (*loc, key))
        return out

    def _forget_below(self, loc: Loc) -> None:
        for known in [k for k in self._lines if len(k) > len(loc) and k[: len(loc)] == loc]:
            del self._lines[known]

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest recorded location on ``loc`` (the parent's, for a missing key)."""
        for end in range(len(loc), -1, -1):
            line = self._lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def _issue(self, loc: Loc, message: str, *, line: int | None = None) -> None:
        line = self.line_of(loc) if line is None else line
        self._issues.append(ParkIssue(self._source, line, _dotted(loc), message))

    def validate(self, data: Any) -> Park:
        """Validate built data as a park, raising every issue found at once.

        Raises:
            ParkValidationError: at least one issue.
        """
        model_issues: list[tuple[Loc, str]] = []
        park: Park | None = None
        try:
            park = Park.model_validate(data)
        except ValidationError as e:
            model_issues = [(tuple(err["loc"]), _describe(err)) for err in e.errors()]
        reference_issues = _reference_issues(data, self.line_of)
        if reference_issues:
            # The model's own cross-reference check stops at the first problem, at the top level;
            # ours lists all of them, each at its entry.
            model_issues = [(loc, msg) for loc, msg in model_issues if loc != ()]
        for loc, message in [*model_issues, *reference_issues, *_domain_issues(data)]:
            self._issue(loc, message)
        if self._issues:
            issues = sorted(self._issues, key=lambda i: (i.line or 0, i.field))
            raise ParkValidationError(list(dict.fromkeys(issues)))
        assert park is not None
        return park


def _text_field(loc: Loc) -> bool:
    names = [part for part in loc[-2:] if isinstance(part, str)]
    return bool(names) and names[-1] in _TEXT_FIELDS


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# --- turning pydantic errors into sentences -------------------------------------------------


def _describe(err: Mapping[str, Any]) -> str:
    kind, msg, loc = err["type"], str(err["msg"]), tuple(err["loc"])
    if kind in ("value_error", "assertion_error"):
        return msg.split(", ", 1)[1] if ", " in msg else msg
    if kind == "missing":
        return "required field is missing"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if kind == "string_pattern_mismatch":
        msg = _PATTERNS.get(str(err.get("ctx", {}).get("pattern")), msg)
    elif kind == "timezone_aware":
        msg += "; write it with a zone, e.g. 2024-01-01T00:00:00Z"
    got = _show(err.get("input"), containers=kind.endswith("_type"))
    return f"{msg} (got {got})" if got is not None else msg


def _unknown_field(loc: Loc) -> str:
    name = loc[-1] if loc else ""
    model = _model_at(loc[:-1])
    if model is None or not isinstance(name, str):
        return "unknown field"
    close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.7)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown field (not part of a {model.__name__.lower()}){hint}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] = Park
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return None
        model = inner
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _show(value: Any, *, containers: bool) -> str | None:
    if isinstance(value, str | bool | int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None:
        return "null"
    if containers and isinstance(value, Mapping):
        return "a mapping"
    if containers and isinstance(value, list):
        return "a list"
    return None


# --- checks across entries and against the domain ---------------------------------------------

Found = list[tuple[Loc, str]]
"""Issues found by a check: where, and what is wrong."""


def _entries(data: Any, key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    items = data.get(key) if isinstance(data, Mapping) else None
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                yield i, item


def _streams(data: Any) -> Iterator[tuple[Loc, Mapping[str, Any]]]:
    for i, site in _entries(data, "sites"):
        for j, stream in _entries(site, "streams"):
            yield ("sites", i, "streams", j), stream


def _reference_issues(data: Any, line_of: Callable[[Loc], int | None]) -> Found:
    found: Found = []

    def unique(what: str, ids: Sequence[tuple[Loc, Any]]) -> set[str]:
        seen: dict[str, Loc] = {}
        for loc, value in ids:
            if not isinstance(value, str):
                continue  # the model reports it
            first = seen.setdefault(value, loc)
            if first != loc:
                also = f"also at {_dotted(first)}, line {line_of(first)}"
                found.append((loc, f"{what} id {value!r} is used more than once ({also})"))
        return set(seen)

    sites = unique("site", [(("sites", i, "id"), s.get("id")) for i, s in _entries(data, "sites")])
    streams = unique("stream", [((*loc, "id"), st.get("id")) for loc, st in _streams(data)])
    meters: list[tuple[Loc, Any]] = []
    for loc, st in _streams(data):
        listed = st.get("meters")
        if isinstance(listed, list) and listed:
            meters += [((*loc, "meters", k), m) for k, m in enumerate(listed)]
        else:
            meters.append(((*loc, "id"), st.get("id")))
    reported = {loc for loc, _ in found}
    unique("meter", [(loc, m) for loc, m in meters if loc not in reported])
    needs = unique("need", [(("needs", i, "id"), n.get("id")) for i, n in _entries(data, "needs")])
    exchanges = [(("exchanges", i, "id"), x.get("id")) for i, x in _entries(data, "exchanges")]
    unique("exchange", exchanges)

    for i, need in _entries(data, "needs"):
        site = need.get("site")
        if isinstance(site, str) and site not in sites:
            message = f"need {need.get('id')!r} names unknown site {site!r}"
            found.append((("needs", i, "site"), message + _suggest(site, sites)))
    for i, x in _entries(data, "exchanges"):
        for field, known in (("stream", streams), ("need", needs)):
            ref = x.get(field)
            if isinstance(ref, str) and ref not in known:
                message = f"exchange {x.get('id')!r} names unknown {field} {ref!r}"
                found.append((("exchanges", i, field), message + _suggest(ref, known)))
    return found


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def _domain_issues(data: Any) -> Found:
    found: Found = []
    supplies: dict[str, tuple[ResourceKind, str, str | None, float | None]] = {}
    for loc, stream in _streams(data):
        rate_issues = _rate_issues(loc, stream, "stream")
        found += rate_issues
        code = stream.get("ewc")
        if _is_code(code, 6) and code not in ewc.catalogue().entries:
            found.append(((*loc, "ewc"), f"EWC code {code!r} is not on the European List of Waste"))
        kind, unit, stream_id = _kind(stream), _unit(stream), stream.get("id")
        if kind is not None and isinstance(code, str) and (why := ewc_issue(kind, code, "stream")):
            found.append(((*loc, "ewc"), why))
        if isinstance(stream_id, str) and kind is not None and unit is not None and not rate_issues:
            species, density = stream.get("gas_species"), stream.get("density_kg_per_m3")
            supplies.setdefault(
                stream_id,
                (
                    kind,
                    str(stream["unit"]).strip(),
                    species if isinstance(species, str) else None,
                    _positive(density),
                ),
            )

    need_kinds: dict[str, ResourceKind] = {}
    for i, need in _entries(data, "needs"):
        loc = ("needs", i)
        found += _rate_issues(loc, need, "need")
        found += _prefix_issues(loc, need.get("accepts_ewc"))
        kind, need_id = _kind(need), need.get("id")
        if isinstance(need_id, str) and kind is not None:
            need_kinds.setdefault(need_id, kind)

    for i, x in _entries(data, "exchanges"):
        loc = ("exchanges", i)
        stream_ref, need_ref = x.get("stream"), x.get("need")
        supply = supplies.get(stream_ref) if isinstance(stream_ref, str) else None
        if supply is None:
            continue  # unknown stream: reported by the reference check
        stream_kind, stream_unit, stream_species, stream_density = supply
        unit = _unit(x)
        if unit is not None:
            try:
                convert(
                    1.0,
                    str(x["unit"]).strip(),
                    stream_unit,
                    field=f"exchange {x.get('id')!r} unit",
                    kind=stream_kind,
                    gas_species=stream_species,
                    density_kg_per_m3=stream_density,
                )
            except UnitError as e:
                found.append(((*loc, "unit"), f"{e}, the unit of stream {stream_ref!r}"))
        need_kind = need_kinds.get(need_ref) if isinstance(need_ref, str) else None
        if need_kind is not None and not _serves(stream_kind, need_kind):
            message = f"a {stream_kind} stream cannot serve a {need_kind} need"
            found.append(((*loc, "need"), f"{message} ({stream_ref!r} -> {need_ref!r})"))
    return found


def _is_code(value: Any, *lengths: int) -> bool:
    return isinstance(value, str) and value.isdigit() and len(value) in lengths


def _prefix_issues(loc: Loc, accepted: Any) -> Found:
    found: Found = []
    catalogue = ewc.catalogue()
    for k, prefix in enumerate(accepted if isinstance(accepted, list) else []):
        if not _is_code(prefix, 2, 4, 6):
            continue  # the model reports malformed prefixes
        if len(prefix) == 6:
            known, level = prefix in catalogue.entries, "code"
        else:
            known, level = (
                prefix in catalogue.titles,
                "chapter" if len(prefix) == 2 else "sub-chapter",
            )
        if not known:
            found.append(((*loc, "accepts_ewc", k), f"{prefix!r} is not an EWC {level}"))
    return found


def _serves(stream: ResourceKind, need: ResourceKind) -> bool:
    return stream == need or (stream is ResourceKind.STEAM and need is ResourceKind.HEAT)


def _kind(entry: Mapping[str, Any]) -> ResourceKind | None:
    value = entry.get("kind")
    if not isinstance(value, str):
        return None
    try:
        return ResourceKind(value.strip())
    except ValueError:
        return None  # the model reports it


def _unit(entry: Mapping[str, Any]) -> pint.Unit | None:
    text = entry.get("unit")
    if not isinstance(text, str):
        return None
    try:
        return parse_unit(text.strip())
    except ValueError:
        return None  # the model reports it


def unit_issue(kind: ResourceKind, unit: str, what: str) -> str | None:
    """Why ``unit`` cannot measure a ``what`` (stream, need, offer) of ``kind``; None: it can.

    The rule ``park check`` applies to every stream and need (e.g. ``'MW' is not a rate a
    material offer can be given in: use mass flow (t/d, t/yr)``). A unit that does not parse
    is the caller's to report: None.
    """
    found = _rate_issues((), {"kind": kind.value, "unit": unit}, what)
    return found[0][1] if found else None


def ewc_issue(kind: ResourceKind, code: str | None, what: str) -> str | None:
    """Why a ``what`` of ``kind`` cannot carry the EWC code ``code``; None: it can.

    An EWC code names a waste material: heat, steam, water or gas with a code is a mistake of
    the kind or of the code.
    """
    if code is None or kind is ResourceKind.MATERIAL:
        return None
    shown = f"{code[:2]} {code[2:4]} {code[4:]}" if len(code) == 6 else code
    return (
        f"a {kind} {what} has no EWC code (got {shown}): a code names a waste material; "
        "clear the code, or correct the kind"
    )


def _rate_issues(loc: Loc, entry: Mapping[str, Any], what: str) -> Found:
    kind, unit = _kind(entry), _unit(entry)
    if kind is None or unit is None:
        return []
    text = str(entry["unit"]).strip()
    if not any(unit.is_compatible_with(ref) for ref, _ in _RATES[kind]):
        wanted = " or ".join(label for _, label in _RATES[kind])
        message = f"{text!r} is not a rate a {kind} {what} can be given in: use {wanted}"
        return [((*loc, "unit"), message)]
    field = f"{what} {entry.get('id')!r} unit"
    try:  # in the dimension it is given in: a gas by volume needs no species to be valid
        factor(text, basis_unit(text, kind, field=field), field=field, kind=kind)
    except UnitError as e:
        return [((*loc, "unit"), str(e))]
    return []


def _positive(value: Any) -> float | None:
    """A density as written, when it is a usable one (the model reports the others)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if ok and math.isfinite(value) else None
