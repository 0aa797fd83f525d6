"""Figures at the precision they mean: no float noise in what the pipeline publishes.

A ledger's mean of meter readings, a quantity converted between units or a CO2e estimate are
not known to 17 digits: sums of floats print as ``2950.0000000000155``. Published figures are
rounded to :data:`SIGNIFICANT` significant figures (a meter is rarely better than 0.1 %, so six
keep every digit that means something and drop the noise).
"""

from __future__ import annotations

import math
from typing import Final

from schemas.alerts import Benefit

SIGNIFICANT: Final = 6


def significant(value: float, digits: int = SIGNIFICANT) -> float:
    """``value`` rounded to ``digits`` significant figures (0, inf and NaN unchanged).

    >>> significant(2950.0000000000155)
    2950.0
    >>> significant(0.000123456789)
    0.000123457
    """
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def rounded_benefit(benefit: Benefit) -> Benefit:
    """``benefit`` with its figures at :data:`SIGNIFICANT` significant figures."""
    return benefit.model_copy(
        update={
            "co2e_t_per_yr": significant(benefit.co2e_t_per_yr),
            "diverted_t_per_yr": significant(benefit.diverted_t_per_yr),
            "water_m3_per_yr": significant(benefit.water_m3_per_yr),
        }
    )
