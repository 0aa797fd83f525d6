"""Which sites an import may publish offers for: the importing company's registered sites.

A row whose site is not one of them is a bad row (:func:`site_problem`). The company's sites
come from the registry on Kafka (:func:`sites_in_registry`, what every other door checks
against) or from a park file (:func:`sites_in_park`, for a dry run without Kafka, or a park
not published yet).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Final

from domain.errors import ErpImportError, UnavailableError
from domain.park import load_park
from ingest.erp.connect import kafka_options, quiet_kafka, unreachable
from runtime.settings import Settings
from schemas.registry import Site
from topics.registry_follower import RegistryFollower

REGISTRY_TIMEOUT_S: Final = 60.0
"""Longest wait for the registry on Kafka to be read, once a broker answered."""
SHOWN_SITES: Final = 10
"""Sites named in a bad row's reason."""


def site_problem(site: str, company: str, sites: Collection[str]) -> str | None:
    """Why an offer of ``company`` cannot be for ``site``, or None when it can.

    Args:
        site: the offer's site id.
        company: the importing company.
        sites: the ids of ``company``'s registered sites.

    Returns:
        None when ``site`` is among ``sites``; else the reason, with the closest of them
        (``did you mean 'kiln-2'?``) and the first :data:`SHOWN_SITES` of them.
    """
    if site in sites:
        return None
    known = sorted(sites)
    close = difflib.get_close_matches(site, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(known[:SHOWN_SITES]) + (", ..." if len(known) > SHOWN_SITES else "")
    return f"{site!r} is not a site of company {company!r}{hint}; its sites: {shown or 'none'}"


def company_sites(sites: Iterable[Site], company: str) -> frozenset[str]:
    """The ids of the sites ``company`` owns."""
    return frozenset(site.id for site in sites if site.company == company)


def sites_in_park(path: Path, company: str) -> frozenset[str]:
    """The ids of ``company``'s sites in a park file.

    Raises:
        ParkFileError: the park file cannot be read or is not valid (as ``park check``).
        ErpImportError: the company has no site in it (the companies there are named).
    """
    park = load_park(path)
    found = company_sites(park.sites, company)
    if not found:
        companies = sorted({site.company for site in park.sites})
        close = difflib.get_close_matches(company, companies, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ErpImportError(
            f"company {company!r} has no site in {path}{hint}; its companies: "
            f"{', '.join(companies)}"
        )
    return found


def sites_in_registry(settings: Settings, company: str) -> frozenset[str]:
    """The ids of ``company``'s sites in the registry on Kafka (read whole, then left).

    Raises:
        UnavailableError: no broker answered within
            :data:`~ingest.erp.connect.CONNECT_TIMEOUT_S`, or the registry was not read within
            :data:`REGISTRY_TIMEOUT_S` (one line naming the address and its setting).
        ErpImportError: the company has no site in the registry.
        ConfigurationError: the Kafka security settings are wrong.
    """
    bootstrap = settings.kafka_bootstrap
    follower = RegistryFollower(bootstrap, settings.topics, options=kafka_options(settings))
    try:
        with quiet_kafka():
            follower.start()
            follower.wait_ready(timeout_s=REGISTRY_TIMEOUT_S)
        with follower.locked() as directory:
            found = company_sites(directory.sites.values(), company)
    except UnavailableError as e:
        if e.__cause__ is None:  # a broker answered, the registry was not read in time
            raise UnavailableError(f"the registry on Kafka at {bootstrap}: {e}") from e
        raise unreachable(bootstrap, e) from e
    finally:
        follower.stop()
    if not found:
        raise ErpImportError(
            f"company {company!r} has no site in the registry (Kafka at {bootstrap}); "
            "register its sites first, or name a park file with --park"
        )
    return found
