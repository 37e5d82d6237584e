"""What the service hands the report: plain, frozen records of the register and the consents.

The service (`audit.access.report`) reads the database and fills these in: the registered
verstrekkingen (art. 8), the toestemmingsverklaringen (art. 6) and the officer's decision on what
to withhold (art. 10 lid 6). Everything after (status, labels, the report, its JSON) is computed
from these alone. Every moment in them must be timezone-aware; `_require_aware` is the one check of
that, shared by the status and report modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PartnerName:
    """A Meerpuntpartner as the subject should see it: OIN and display name."""

    oin: str
    name: str


@dataclass(frozen=True)
class DisclosureRecord:
    """One registered verstrekking concerning the subject (register, art. 8 lid 1-2).

    ``legal_basis_type`` is ``consent`` (art. 6), ``override`` (art. 7 lid 3/5, ``ground`` names
    which) or ``statutory`` (``ground`` names the law). ``kind`` is ``disclosure`` or
    ``correction`` (a correction passed on to an earlier recipient, art. 11 lid 4).
    """

    entry_id: str
    occurred_at: datetime
    sender: PartnerName
    recipient: PartnerName
    categories: tuple[str, ...]
    reason: str
    description: str | None
    legal_basis_type: str
    consent_given_at: datetime | None
    ground: str | None
    acknowledged: bool
    acknowledged_at: datetime | None
    kind: str = "disclosure"
    #: Withdrawn before it was acknowledged because the subject's data was erased (art. 12).
    erased_at: datetime | None = None
    #: Whether the recipient had fetched it before the erasure (then it did arrive, unconfirmed).
    delivered_before_erasure: bool = False


@dataclass(frozen=True)
class ConsentGrantRecord:
    """One yes/no line of a toestemmingsverklaring: recipient, data, purpose (Bijlage VIII).

    ``withdrawn_at``: when a withdrawal of this line (or of the whole statement) was received.
    """

    recipient: PartnerName
    categories: tuple[str, ...]
    purpose: str
    granted: bool
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class ConsentRecord:
    """A toestemmingsverklaring (art. 6 lid 1-4), valid from ``given_at`` until ``valid_until``.

    ``withdrawn_at`` is when the withdrawal was received; it applies from then on (Bijlage VIII).
    """

    consent_id: str
    obtained_by: PartnerName
    form: str
    given_at: datetime
    valid_until: datetime
    withdrawn_at: datetime | None
    grants: tuple[ConsentGrantRecord, ...]


@dataclass(frozen=True)
class AccessReportInput:
    """Everything one kennisnemingsverzoek (art. 10) is answered from.

    ``subject_label`` is a masked identifier (``*****1234``), never the full BSN.
    ``withheld_entry_ids`` are register entries the officer left out on ``withheld_ground``
    (``art10_6_a`` … ``art10_6_e``, art. 10 lid 6). ``restricted``: a beperking (art. 14) is active.
    """

    request_id: str
    subject_label: str
    requested_by: str
    received_at: datetime
    decided_at: datetime
    disclosures: tuple[DisclosureRecord, ...]
    consents: tuple[ConsentRecord, ...]
    withheld_entry_ids: frozenset[str]
    withheld_ground: str | None
    category_labels: Mapping[str, str]
    restricted: bool


def _require_aware(**moments: datetime) -> None:
    # A naive datetime would be read as server-local time and shift every date on the report.
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
