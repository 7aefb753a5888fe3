"""What an alert means for the answers, one definition each."""

import re
from datetime import datetime

from app.alerts import cap

# Events that send people to shelters: the three Chinese signals' first two (预先警报,
# 空袭警报) and their English names. The all-clear (解除警报) never does.
AIR_RAID = re.compile(r"air[\s-]*raid|missile|空袭|防空|预先警报|紧急警报", re.IGNORECASE)
ALL_CLEAR = re.compile(r"all[\s-]*clear|解除警报", re.IGNORECASE)
# An info parameter by which the sender opens the restricted works in its area (command
# posts ...) to the public for the time of the alert.
OPEN_RESTRICTED = "rf:openRestrictedWorks"
# Whether an alert is in force at :now, as SQL over `alert a`: from when it takes effect
# (`effective_at`, takes_effect) until it expires or is ended. An Update or a Cancel ends
# what it references when it takes effect itself (`ended_at`, which may lie ahead: until
# then the referenced alert stays in force); a Cancel is never in force.
IN_FORCE = (
    "a.msg_type <> 'Cancel' AND a.effective_at <= :now "
    "AND (a.ended_at IS NULL OR a.ended_at > :now) "
    "AND (a.expires_at IS NULL OR a.expires_at > :now)"
)
# Drills never switch real answers (DOMAIN.md: annual drill days use status Exercise).
REAL = "Actual"


def air_raid(info: cap.Info) -> bool:
    text = " ".join([info.event, *info.event_codes.get("rf:signal", [])])
    return (
        bool(AIR_RAID.search(text))
        and not ALL_CLEAR.search(text)
        and "AllClear" not in info.response_types
    )


def opens_restricted(info: cap.Info) -> bool:
    return any(v.strip().lower() == "true" for v in info.parameters.get(OPEN_RESTRICTED, []))


def takes_effect(info: cap.Info, *, sent: datetime) -> datetime:
    """When an info block starts to count (in force, alert mode, streamed as `effective`):
    its `effective` (CAP: the message's `sent` when absent), or its `onset` when later, the
    moment the event itself is expected. A drill announced days ahead with the hour of the
    sirens as onset switches answers at that hour; a sender who wants people in shelters
    now gives no later onset."""
    start = info.effective or sent
    return max(start, info.onset) if info.onset is not None else start
