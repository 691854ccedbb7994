"""IAB TCF v2 TC strings (TCF 2.2 rules): decode, validate, encode, and read as decisions.

Written here rather than taken from PyPI because no maintained Python package decodes *and*
encodes TCF 2.2 strings with validation (see ``docs/tcf.md``). Other domains import it as a
module::

    from confiance.consent import tcf

    model = tcf.decode(tc_string)                 # InvalidTCString if unreadable or non-compliant
    for decision in tcf.decisions(model, tcf.load_mapping(manifest_section)):
        ...                                       # the caller records them in the ledger

The package is a leaf: it imports nothing of Confiance but :mod:`confiance.errors`, so the
manifest or the ledger can build on it without import cycles. The CLI sub-application is in
:mod:`confiance.consent.tcf.cli` (not imported here, so that library users do not pull in Typer
and Rich).
"""

from confiance.consent.tcf.codec import decode, encode
from confiance.consent.tcf.errors import (
    InvalidTcfMapping,
    InvalidTCModel,
    InvalidTCString,
    TcfError,
)
from confiance.consent.tcf.jsonview import from_json, to_json
from confiance.consent.tcf.mapping import Basis, TcfDecision, TcfMapping, decisions, load_mapping
from confiance.consent.tcf.model import (
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCModel,
)
from confiance.consent.tcf.validate import Violation, violations

__all__ = [
    "Basis",
    "InvalidTCModel",
    "InvalidTCString",
    "InvalidTcfMapping",
    "PublisherRestriction",
    "PublisherTC",
    "RestrictionType",
    "TCModel",
    "TcfDecision",
    "TcfError",
    "TcfMapping",
    "Violation",
    "decisions",
    "decode",
    "encode",
    "from_json",
    "load_mapping",
    "to_json",
    "violations",
]
