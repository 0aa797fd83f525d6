"""Whether an offer's kind, unit and EWC code can be true together: the rules of ``park check``.

The rules are the park file's own (:func:`domain.park.unit_issue`, :func:`domain.park.ewc_issue`): a
heat offer is a power, a material a mass flow, and so on for each kind. An offer may also be a
stock, an amount at hand (``240 t``, ``5 MWh``): a stock passes when the rate it makes per hour
passes the same rule. An EWC code names a waste material, so only a material offer has one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from domain.park import ewc_issue, unit_issue
from schemas.common import ResourceKind

STOCK_HINT: Final = ", or an amount in stock (such a rate times a time: t for t/d, MWh for MW)"


@lru_cache(maxsize=1024)
def unit_problem(kind: ResourceKind, unit: str) -> str | None:
    """Why ``unit`` cannot measure an offer of ``kind``, or None when it can.

    The words are ``park check``'s for a stream (``'MW' is not a rate a material offer can be
    given in: use mass flow (t/d, t/yr)``), plus the stock that is allowed too. A unit that
    does not parse is the model's to report: None. Cached: an export repeats its units.
    """
    rate = unit_issue(kind, unit, "offer")
    if rate is None:
        return None
    if unit_issue(kind, f"({unit})/h", "offer") is None:
        return None  # a stock: an amount of what the kind's rates are rates of
    return rate + STOCK_HINT


def ewc_problem(kind: ResourceKind, ewc: str | None) -> str | None:
    """Why an offer of ``kind`` cannot have the EWC code ``ewc``, or None when it can."""
    return ewc_issue(kind, ewc, "offer")


def kind_problems(kind: ResourceKind, unit: str, ewc: str | None) -> dict[str, str]:
    """The offer fields (``ewc``, ``unit``) at odds with ``kind``, each with why; empty: none."""
    found = {"ewc": ewc_problem(kind, ewc), "unit": unit_problem(kind, unit)}
    return {field: problem for field, problem in found.items() if problem is not None}
