"""The project's one error hierarchy, grouped by what the caller does with an error.

Every error the project raises on purpose is a :class:`SymbiosisError` of one of three
families; catch the family, not the library exception (those are wrapped at the boundary with
``raise ... from e``):

=====================  ===============================================================
family                 what the caller does
=====================  ===============================================================
:class:`InvalidInputError`  reject the input: 4xx, the rejected topic, a report line, exit 2;
                       never retry it as it is (a record, a file, a request, a setting)
:class:`TransientError`     retry with backoff, commit nothing past it (503 with Retry-After
                       at the API): Kafka, PostgreSQL or the MQTT broker is unavailable
:class:`FatalError`         stop loudly: the process cannot go on (the local stack does not
                       start, a migration fails, a stage's own invariant is broken)
=====================  ===============================================================

Lives in :mod:`domain`, the lowest layer that raises errors, so every layer above can use it.
"""

from __future__ import annotations


class SymbiosisError(Exception):
    """Root of every error this project raises on purpose."""


# --- the three families: what the caller does -----------------------------------------------


class InvalidInputError(SymbiosisError):
    """The input is wrong: reject it with the message (it names the field), never retry it."""


class TransientError(SymbiosisError):
    """A service is unavailable for now: retry with backoff; commit nothing past it."""


class FatalError(SymbiosisError):
    """The process cannot go on: stop loudly (the message says what to fix)."""


# --- invalid input -----------------------------------------------------------------------------


class ConfigurationError(InvalidInputError):
    """Settings, input files or a registry record are wrong; says which field and why."""


class ParkFileError(ConfigurationError):
    """A park file cannot be read or does not validate; names the file, line and field."""


class UnknownReferenceError(ConfigurationError):
    """A record names a site, stream or need that is not (yet) registered."""


class ErpImportError(ConfigurationError):
    """An ERP export or its column mapping cannot be read; names the file and field or column."""


class UnitError(InvalidInputError):
    """A quantity cannot be parsed or converted; names the field and both units."""


class ClassificationError(InvalidInputError):
    """An EWC code is unknown or malformed."""


class InvalidRecordError(InvalidInputError):
    """A pipeline record no stage can use (unknown stream, a meter's clock in the future...)."""


# --- transient -----------------------------------------------------------------------------


class UnavailableError(TransientError):
    """Kafka, PostgreSQL or the MQTT broker did not answer or acknowledge in time."""


# --- fatal ---------------------------------------------------------------------------------


class StackError(FatalError):
    """A local service (Kafka, PostgreSQL) could not be installed, started or stopped."""


class PipelineError(FatalError):
    """A stage or the local pipeline cannot go on (a migration failed, a child process died)."""
