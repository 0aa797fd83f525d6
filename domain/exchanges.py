"""What makes exchange terms acceptable, and who must consent: pure rules, no I/O.

An exchange takes surplus off a supplier's ledger and capacity off a receiver's need, so it
must (1) be agreed by both companies: one proposes, the other accepts (the operator may
commit directly); (2) name a quantity both sides can read: its unit converts to the stream's
unit and to the need's unit; (3) be possible: the quantity is at most the stream's nominal
rate; (4) join two different companies.

The API calls :func:`check_terms` before it publishes a proposal or an acceptance, so a record
that would fail the ledger or the matcher later never reaches the registry topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from domain.errors import ConfigurationError, UnitError
from domain.match_index import compatible_need_kinds
from domain.units import convert, gas_density
from schemas.common import ResourceKind
from schemas.registry import Exchange, ExchangeStatus, ExchangeTerms, Need, Site, Stream

NOMINAL_TOLERANCE: Final = 1e-9
"""Relative slack on "quantity <= nominal", for float rounding of unit conversions."""


class InvalidTermsError(ConfigurationError):
    """Exchange terms that cannot hold; ``field`` names the bad field (reject, do not retry)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Parties:
    """The two sides of an exchange."""

    supplier: tuple[Site, Stream]
    receiver: tuple[Site, Need]

    @property
    def supplier_company(self) -> str:
        """Company giving the stream."""
        return self.supplier[0].company

    @property
    def receiver_company(self) -> str:
        """Company having the need."""
        return self.receiver[0].company

    def includes(self, company: str) -> bool:
        """Whether ``company`` is one of the two sides."""
        return company in (self.supplier_company, self.receiver_company)


def check_terms(terms: ExchangeTerms, parties: Parties) -> None:
    """Check that ``terms`` can hold between these parties (both sides).

    For the operator's writes and for an acceptance, whose caller may learn both sides' units
    and kinds (the acceptor sees the proposal and owns its own side).

    Raises:
        InvalidTermsError: same company on both sides; kinds the need cannot take (steam may
            serve heat); a unit that does not convert to the stream's or the need's unit; a
            quantity above the stream's nominal rate.
    """
    (_, stream), (_, need) = parties.supplier, parties.receiver
    if parties.supplier_company == parties.receiver_company:
        raise InvalidTermsError("need", "a company does not exchange with itself")
    if need.kind not in compatible_need_kinds(stream.kind):
        raise InvalidTermsError("need", f"a {need.kind} need cannot take a {stream.kind} stream")
    density = gas_density(stream, need)
    check_supplier_side(terms, stream, gas_species=need.gas_species, density=density)
    _convert(terms, need.unit, stream.kind, stream.gas_species or need.gas_species, density)


def check_supplier_side(
    terms: ExchangeTerms,
    stream: Stream,
    *,
    gas_species: str | None = None,
    density: float | None = None,
) -> None:
    """Check a supplier's own side: the unit reads in the stream's unit, quantity <= nominal.

    Names nothing of the other side.

    Raises:
        InvalidTermsError: the unit does not convert, or the quantity is above nominal.
    """
    in_stream_unit = _convert(
        terms, stream.unit, stream.kind, stream.gas_species or gas_species,
        density if density is not None else gas_density(stream),
    )  # fmt: skip
    if in_stream_unit > stream.nominal * (1 + NOMINAL_TOLERANCE):
        raise InvalidTermsError(
            "quantity", "is more than the stream's nominal rate (it cannot give more than that)"
        )


def check_receiver_side(terms: ExchangeTerms, need: Need) -> None:
    """Check a receiver's own side: the unit reads in the need's unit.

    As the need's kind, or as steam for a heat need. Names nothing of the other side.

    Raises:
        InvalidTermsError: the unit does not convert.
    """
    kinds = [need.kind, *([ResourceKind.STEAM] if need.kind is ResourceKind.HEAT else [])]
    for i, kind in enumerate(kinds):
        try:
            _convert(terms, need.unit, kind, need.gas_species, gas_density(need))
        except InvalidTermsError:
            if i == len(kinds) - 1:
                raise
        else:
            return


def _convert(
    terms: ExchangeTerms,
    unit: str,
    kind: ResourceKind,
    species: str | None,
    density: float | None = None,
) -> float:
    try:
        return convert(terms.quantity, terms.unit, unit, field="unit", kind=kind,
                       gas_species=species, density_kg_per_m3=density)  # fmt: skip
    except UnitError as e:
        raise InvalidTermsError("unit", str(e).removeprefix("unit: ")) from e


def proposal(terms: ExchangeTerms, by: str | None) -> Exchange:
    """The registry record of ``terms`` written by ``by`` (``None``: the operator).

    A company's write is a proposal; the operator's is active at once.
    """
    status = ExchangeStatus.ACTIVE if by is None else ExchangeStatus.PROPOSED
    return Exchange(**terms.model_dump(), status=status, proposed_by=by)


def acceptance(exchange: Exchange, by: str | None, parties: Parties) -> Exchange:
    """The record once ``by`` (``None``: the operator) accepts ``exchange``.

    Raises:
        InvalidTermsError: ``by`` proposed it (the other party must accept), or is no party.
    """
    if by is not None:
        if not parties.includes(by):
            raise InvalidTermsError("id", "is not an exchange of the caller's company")
        if exchange.proposed_by == by:
            raise InvalidTermsError("id", "was proposed by the caller: the other party accepts it")
    return exchange.model_copy(update={"status": ExchangeStatus.ACTIVE, "accepted_by": by})
