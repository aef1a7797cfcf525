"""Every factor key the default heuristics use, in one place: the heuristics that find a
factor, the proposers that answer it and the scoring models that weigh it (``wsjf`` reads
``recurrence``) name it from here, so no plugin imports another to learn a key.

A key is part of the JSON document and of stored human input (``retroflow input factor
INCIDENT KEY``): never change one.
"""

from __future__ import annotations

# technical (conditions/technical.py)
DETECTION_GAP = "detection-gap"
NO_AUTOMATED_SIGNAL = "no-automated-signal"
BLAST_RADIUS = "blast-radius"
ALERT_NOISE = "alert-noise"

# technical, in its own plugin (conditions/change_before_incident.py)
CHANGE_BEFORE_INCIDENT = "change-before-incident"

# human: what responders believed (conditions/misleading_signal.py)
MISLEADING_SIGNAL = "misleading-signal"

# human (conditions/human.py)
SLOW_ACK = "slow-acknowledgement"
OWNERSHIP_CHURN = "ownership-churn"
OUT_OF_HOURS = "out-of-hours-page"
RESPONDER_LOAD = "responder-load"
NO_COORDINATOR = "no-coordinator"

# process (conditions/process.py)
SLOW_MITIGATION = "slow-mitigation"
MISSING_RUNBOOK = "missing-runbook"
LATE_ESCALATION = "late-escalation"
RECURRENCE = "recurrence"
