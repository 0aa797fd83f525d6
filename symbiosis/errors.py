"""The project's one error hierarchy. Every module raises a subclass, chaining the cause."""

from __future__ import annotations


class SymbiosisError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigurationError(SymbiosisError):
    """Settings or input files are wrong; the message says which field and why."""


class ParkFileError(ConfigurationError):
    """A park file cannot be read or does not validate; names the file, line and field."""


class UnknownReferenceError(ConfigurationError):
    """A record names a site, stream or need that is not (yet) registered."""


class AccessDeniedError(SymbiosisError):
    """A tenant asked for something outside its scope (answered 403, never with details)."""


class ErpImportError(ConfigurationError):
    """An ERP export or its column mapping cannot be read; names the file and field or column."""


class UnitError(SymbiosisError):
    """A quantity cannot be parsed or converted; names the field and both units."""


class ClassificationError(SymbiosisError):
    """An EWC code is unknown or malformed."""


class StackError(SymbiosisError):
    """A local service (Kafka, PostgreSQL) could not be installed, started or stopped."""


class PipelineError(SymbiosisError):
    """A pipeline stage failed in a way it cannot recover from by retrying."""
