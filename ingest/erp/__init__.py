"""Reading ERP exports (CSV, JSON, JSON Lines, XLSX) into :class:`~schemas.offers.Offer` s.

A *column mapping* (YAML or JSON, :func:`load_mapping`) says which source column feeds which
offer field, which constants fill the rest, and how the export writes numbers and dates. An
export is read as a stream (:class:`ErpExport`): CSV and JSON Lines line by line, XLSX through
openpyxl's read-only mode (a JSON document is parsed whole). Each data row becomes an
:class:`Offer` or a :class:`RowError` naming the row's line and the source column at fault; a
bad row never stops the import; it lists every problem of the row, each with its field
(:class:`RowProblem`). Problems with the file itself (missing, unreadable, a mapped column not
in the header) raise :class:`~domain.errors.ErpImportError` when the export is opened, before
any row is read.

The encoding of a CSV or JSON export and the delimiter of a CSV one are given (command line,
then mapping) or detected from the file's first bytes (:mod:`.dialect`: by the evidence of the
whole sample, and :class:`csv.Sniffer`); :attr:`ErpExport.dialect` says which was used and why.

Exports are untrusted, so :class:`ImportLimits` caps what one can make the import hold: a
``.json`` document over 64 MiB is refused (JSON Lines has no cap), an XLSX workbook whose zip
members would inflate past 256 MiB in all or more than 200:1 each is refused as a zip bomb, and
a CSV or JSON Lines line over 1 MiB is a bad row. Bytes that are not valid in the encoding make
their row a bad row naming the column (``not valid utf-8: ...``); nothing is replaced.

Besides each field's own checks, a row must make an offer that can be true: kind, unit and EWC
code fit together by the rules ``park check`` applies to streams (:mod:`.consistency`: a
material is a mass or mass flow, heat a power or energy, only a material has an EWC code), and
when :meth:`ErpExport.check_sites` names the importing company's sites, the row's site is one
of them (:mod:`.sites`).

Normalisation, per offer field:

* every cell: text is stripped; an empty cell is no value, which a ``defaults`` entry fills;
* ``id``, ``site``, ``stream``: lower-case slugs (``"Board Plant"`` -> ``board-plant``); without
  an id column, ``id_template`` (default ``{stem}-{line}``) names the offer;
* ``kind``: lower case;
* ``ewc``: ``10 01 05``, ``10.01.05``, ``100105*`` or a number that lost its leading zero
  (``20101``) -> ``"100105"``/``"020101"``; the code must be on the List of Waste;
* ``quantity``: a number; ``1,234.5`` (thousands commas) or, with ``decimal_comma``,
  ``1.234,5``; a separator never follows a leading 0 (``0,750`` is never 750); SAP's
  ``1.234,500-`` is negative. A file whose quantities show the decimal notation the mapping
  does not read stops before any row is converted, or has its ambiguous quantities
  (``1.500``, ``12,500``) refused (:mod:`.notation`);
* ``unit``: the mapping's ``units`` codes, then SAP/ISO codes (``TO`` -> ``t``);
* dates: ISO 8601, Excel date cells (or serial numbers in an XLSX), or ``date_format``
  (``strptime``); a time without a timezone is taken in the mapping's ``timezone``, a date
  alone as midnight at its start; an ERP's "no date" (``00.00.0000``,
  ``1900-01-01T00:00:00Z``) is an empty cell.

A totals row (a cell holding only ``Summe``, ``Total``, ... and nothing identifying) is a bad
row, never an offer made of the mapping's defaults. The header is the first line holding every
mapped column (title lines skipped) or the mapping's ``header_row``; column names match with
whitespace normalised.

A row without an EWC code whose kind is empty or ``material`` is classified from its
description (:func:`domain.classify.classify`); ``Offer.classification`` records how each offer
was decided. A row without a kind whose description does not say it surely (the classifier's
kind confidence under :data:`~domain.classify.KIND_REVIEW_BELOW`) is a bad row, never a
material by default; a material whose EWC code is unsure is published without one, marked
``needs_review``.

Modules: :mod:`.mapping` (the column mapping), :mod:`.values` (cell normalisers),
:mod:`.notation` (the decimal notation a file's quantities show),
:mod:`.dialect` (encoding and delimiter), :mod:`.sources` (file readers), :mod:`.consistency`
(kind, unit and EWC code), :mod:`.sites` (the company's sites, from the registry or a park
file), :mod:`.convert` (rows -> offers or row errors), :mod:`.connect` (Kafka within seconds),
:mod:`.limits` (the caps).
"""

from ingest.erp.consistency import kind_problems
from ingest.erp.convert import ROW_FIELD, ErpExport, RowError, RowProblem, read_offers
from ingest.erp.dialect import TextDialect, detect_encoding
from ingest.erp.limits import DEFAULT_LIMITS, ImportLimits
from ingest.erp.mapping import (
    EXTENSIONS,
    REQUIRED_TARGETS,
    TARGETS,
    TEMPLATE_FIELDS,
    ColumnMapping,
    ColumnName,
    ExportFormat,
    Scalar,
    TargetField,
    load_mapping,
)
from ingest.erp.sites import site_problem, sites_in_park, sites_in_registry
from ingest.erp.sources import KEY_SCAN_RECORDS, RawRow
from ingest.erp.values import (
    normalise_ewc,
    normalised_defaults,
    parse_datetime,
    parse_quantity,
    slugify,
)

__all__ = [
    "DEFAULT_LIMITS",
    "EXTENSIONS",
    "KEY_SCAN_RECORDS",
    "REQUIRED_TARGETS",
    "ROW_FIELD",
    "TARGETS",
    "TEMPLATE_FIELDS",
    "ColumnMapping",
    "ColumnName",
    "ErpExport",
    "ExportFormat",
    "ImportLimits",
    "RawRow",
    "RowError",
    "RowProblem",
    "Scalar",
    "TargetField",
    "TextDialect",
    "detect_encoding",
    "kind_problems",
    "load_mapping",
    "normalise_ewc",
    "normalised_defaults",
    "parse_datetime",
    "parse_quantity",
    "read_offers",
    "site_problem",
    "sites_in_park",
    "sites_in_registry",
    "slugify",
]
