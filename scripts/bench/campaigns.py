"""What evaluating a maintenance or conversion drill campaign costs beside the signage
campaign on the same works, and readiness as of a past day beside today's, in one run
(interleaved rounds, so the machine's changing pace hits all alike). Prints milliseconds
per answer (median of the rounds) and the ratio to the first of each group.

Adds, once, a conversion plan to each shelter work (one to three steps, drilled or not)
and a province-wide conversion drill campaign: the demo set has neither."""

import statistics
import sys
import time
from datetime import date, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.campaigns import repository as campaigns
from app.campaigns import service
from app.campaigns.models import Campaign, CampaignKind
from app.config import Settings
from app.demo import campaigns as demo_campaigns
from app.shelters import readiness

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
ADMIN = Principal(key_id=0, name="bench", role=Role.admin)
DRILL = "全省人防工程平战转换演练（基准）"
PLANS = """
INSERT INTO conversion_task (facility_id, kind, hours, drilled_on)
SELECT f.id, k.kind, 2 + (f.id % 7) * k.n,
    CASE WHEN (f.id + k.n) % 4 <> 0 THEN current_date - CAST((f.id * 37 + k.n) % 600 AS integer) END
FROM facility f
CROSS JOIN (VALUES (1, 'clear_vehicles'), (2, 'install_doors'), (3, 'switch_power')) AS k(n, kind)
WHERE (f.wartime_function = 'personnel_shelter' OR f.wartime_subtype = 'evacuation_trunk')
    AND f.deleted_at IS NULL AND k.n <= 1 + f.id % 3
    AND NOT EXISTS (SELECT FROM conversion_task t WHERE t.facility_id = f.id)
"""


def prepare(session: Session) -> dict[str, int]:
    session.execute(text(PLANS))
    if campaigns.named(session, DRILL) is None:
        session.add(
            Campaign(
                name=DRILL,
                kind=CampaignKind.conversion_drill,
                admin_codes=["340000"],
                parking_only=False,
                rules={"steps": ["install_doors"], "within_days": 365},
                starts_on=date.today() - timedelta(days=730),
                target_on=date.today() - timedelta(days=365),
                created_by="bench",
            )
        )
    session.commit()
    return {
        name: campaigns.named(session, name).id
        for name in (demo_campaigns.NAME, demo_campaigns.MAINTENANCE_NAME, DRILL)
    }


def measure(cases: dict) -> None:
    times = {name: [] for name in cases}
    for run in cases.values():
        run()  # warm
    for _ in range(ROUNDS):
        for name, run in cases.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    base = statistics.median(next(iter(times.values())))
    for name, t in times.items():
        print(f"  {name}: {statistics.median(t) * 1000:.1f} ms ({statistics.median(t) / base:.2f})")


def main() -> None:
    engine = create_engine(Settings().sqlalchemy_url)
    with Session(engine) as session:
        ids = prepare(session)
        works = session.scalar(text("SELECT count(*) FROM facility WHERE deleted_at IS NULL"))
        plans = session.scalar(text("SELECT count(DISTINCT facility_id) FROM conversion_task"))
        print(f"{works} facilities, {plans} with a plan, {ROUNDS} rounds")

        def evaluate(campaign_id):
            return lambda: service.evaluate(session, campaign_id, principal=ADMIN)

        print("campaign evaluation (province-wide, admin):")
        measure(
            {
                "signage (demo)": evaluate(ids[demo_campaigns.NAME]),
                "maintenance (demo, Hefei)": evaluate(ids[demo_campaigns.MAINTENANCE_NAME]),
                "conversion drill": evaluate(ids[DRILL]),
            }
        )

        def ready(as_of):
            return lambda: readiness.readiness(
                session,
                principal=ADMIN,
                admin_code=None,
                level=None,
                within_hours=48,
                today=date.today(),
                as_of=as_of,
            )

        print("readiness, all provinces:")
        measure(
            {
                "today": ready(None),
                "as of yesterday": ready(date.today() - timedelta(days=1)),
                "as of a year ago": ready(date.today() - timedelta(days=365)),
            }
        )


main()
