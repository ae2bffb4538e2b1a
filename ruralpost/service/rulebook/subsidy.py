"""The programme's subsidy configuration (`subsidy:` in rules/programmes/<id>.yaml), checked at load.

Only what the programme document fixes: the claim period, the limits of a claim, the fee a
recipient may be charged and the office that keeps each kind's operator roster (附件1 二). The
roster itself, the products, platforms and rates are reference data (service/refdata/).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruralpost.service.rulebook.schema import SubsidyModel, validated

UPBOUND = "UPBOUND_AGRICULTURAL"
DOWNBOUND = "DOWNBOUND_PARCEL"


class SubsidyConfig:
    """The `subsidy:` section of the programme data."""

    def __init__(self, raw: Mapping[str, Any] | SubsidyModel) -> None:
        m = raw if isinstance(raw, SubsidyModel) else validated(SubsidyModel, raw, "subsidy")
        self.roster_keepers: dict[str, str] = {str(kind): office for kind, office in m.roster_keepers.items()}
        self.max_recipient_fee_fen = m.downbound.max_recipient_fee_fen
        self.period_from = m.period_from
        self.period_to = m.period_to
        self.max_parcels = m.max_parcels
