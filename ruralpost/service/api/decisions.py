"""Every evaluation's trace: a decision-log row (what, when, who, input digest, verdict, the rules' and the
reference data's versions)
and the verdict metrics, whichever method and door decided."""

from __future__ import annotations

import datetime as dt

from ruralpost.service.api.metrics import observe_verdict
from ruralpost.service.runtime import Runtime
from ruralpost.service.store import DecisionRow


def record(
    runtime: Runtime,
    *,
    subject: str,
    method: str,
    subject_id: str,
    who: str,
    input_digest: str,
    outcome: str,
    rule_ids: list[str],
    ruleset_version: str,
    as_of: str,
    reference_version: str = "",
) -> None:
    """Logs one decision (keywords only: ten values of the same few types are easy to swap)."""
    runtime.store.log_decision(
        DecisionRow(
            method=method,
            subject_id=subject_id[:256],
            caller=who[:256],
            input_digest=input_digest,
            outcome=outcome,
            rule_ids=",".join(rule_ids),
            ruleset_version=ruleset_version,
            as_of=as_of,
            at=dt.datetime.now(dt.UTC),
            reference_version=reference_version,
        )
    )
    observe_verdict(subject, outcome, rule_ids)
