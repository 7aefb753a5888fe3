"""What webhooks cost, in one run (scripts/bench_webhooks): a problem report's write with
its outbox row beside the same write without one, the worker's deliveries to a loopback
receiver beside plain POSTs of the same bodies to it, and an idle pass of the worker."""

import base64
import secrets
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import service as accounts
from app.accounts.principal import ANONYMOUS
from app.accounts.schemas import ApiKeyCreate
from app.config import Settings
from app.reports import service as reports
from app.reports.schemas import ReportCreate
from app.webhooks import delivery, outbox, worker
from app.webhooks.models import WebhookSubscription


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


ENQUEUED: list[float] = []
_enqueue = outbox.enqueue


def timed_enqueue(*args, **kwargs) -> None:
    start = time.perf_counter()
    _enqueue(*args, **kwargs)
    ENQUEUED.append(time.perf_counter() - start)


def report_writes(sessions: sessionmaker[Session], facility_id: int, rounds: int) -> list[float]:
    """Each report's transaction rolled back: the statements' cost, the same commit aside."""
    times = []
    for _ in range(rounds):
        with sessions() as session:
            start = time.perf_counter()
            reports.create_report(
                session, facility_id, ReportCreate(kind="locked"), principal=ANONYMOUS
            )
            session.flush()
            times.append(time.perf_counter() - start)
            session.rollback()
    return times


def main(rounds: int) -> None:
    settings = Settings(webhook_allow_private=True)
    engine = create_engine(settings.sqlalchemy_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with sessions() as session:
        facility_id = session.scalar(
            text("SELECT min(id) FROM facility WHERE deleted_at IS NULL AND visibility = 'public'")
        )
        key = accounts.create_key(
            session, ApiKeyCreate(name="bench webhooks", role="admin"), actor="bench"
        ).key
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        subscription = WebhookSubscription(
            key_id=key.id, url=url, events=["report.created"], secret=secret
        )
        session.add(subscription)
        session.commit()
    try:
        report_writes(sessions, facility_id, 20)  # warm
        with_outbox, without = [], []
        for _ in range(5):  # interleaved, so that the machine's pace falls on both alike
            with mock.patch.object(outbox, "enqueue", timed_enqueue):
                with_outbox += report_writes(sessions, facility_id, rounds // 5)
            with mock.patch.object(outbox, "enqueue", lambda *a, **k: None):
                without += report_writes(sessions, facility_id, rounds // 5)
        print(
            f"report write: {median_ms(with_outbox):.2f} ms with its outbox row, "
            f"{median_ms(without):.2f} ms without "
            f"({median_ms(with_outbox) / median_ms(without):.2f}x); the outbox row itself "
            f"{median_ms(ENQUEUED):.2f} ms ({median_ms(ENQUEUED) / median_ms(with_outbox):.1%})"
        )

        with sessions() as session:
            for _ in range(rounds):
                reports.create_report(
                    session, facility_id, ReportCreate(kind="closed"), principal=ANONYMOUS
                )
            session.commit()
        with delivery.client(5) as http:
            start = time.perf_counter()
            worker.dispatch(sessions, now=datetime.now(UTC))
            while worker.deliver_due(sessions, http, settings):
                pass
            worker_s = time.perf_counter() - start
            with sessions() as session:
                bodies = list(
                    session.scalars(
                        text("SELECT body FROM webhook_delivery WHERE subscription_id = :s"),
                        {"s": subscription.id},
                    )
                )
            start = time.perf_counter()
            for body in bodies:
                http.post(url, content=body, headers={"Content-Type": "application/json"})
            plain_s = time.perf_counter() - start
        print(
            f"delivery: {len(bodies) / worker_s:.0f}/s by the worker (signed, logged), "
            f"{len(bodies) / plain_s:.0f}/s plain POSTs ({plain_s / worker_s:.2f}x)"
        )

        idle = []
        with delivery.client(5) as http:
            for _ in range(50):
                start = time.perf_counter()
                worker.run_once(sessions, http, settings, (), swept=False)
                idle.append(time.perf_counter() - start)
        print(f"idle worker pass: {median_ms(idle):.2f} ms (every RF_WEBHOOK_POLL_S per process)")
    finally:
        with sessions() as session:
            session.execute(
                text("DELETE FROM webhook_subscription WHERE id = :s"), {"s": subscription.id}
            )
            session.execute(
                text(
                    "DELETE FROM problem_report WHERE facility_id = :f AND kind = 'closed'"
                    " AND reported_by IS NULL AND created_at > now() - interval '1 hour'"
                ),
                {"f": facility_id},
            )
            session.execute(
                text("UPDATE api_key SET revoked_at = now() WHERE id = :k"), {"k": key.id}
            )
            session.commit()
        server.shutdown()
        engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
