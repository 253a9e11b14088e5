"""Composition root: the only place that turns settings into an engine, a session factory and key rings."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from riskdesk.config import Settings, get_settings
from riskdesk.db.session import build_engine, build_session_factory
from riskdesk.security.crypto import KeyRing
from riskdesk.security.passwords import Passwords

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from riskdesk import events
    from riskdesk.comms.deliverer import DeliveryReport
    from riskdesk.comms.delivery import Sender
    from riskdesk.credit.policy import Policy
    from riskdesk.monitoring.state_cache import StateCache
    from riskdesk.verification.registry import HttpRegistryProvider, RegistryProvider
    from riskdesk.verification.screening import IndexCache


YOUNG_COLLECTION_THRESHOLD = 20_000  # CPython's default is 700


def freeze_start_up_objects() -> tuple[int, int, int]:
    """Tune the garbage collector for a long-running process (a server process of the web app, a worker), once
    started; tests, which start and stop many apps in one process, do not.

    What start-up built — modules, mappers, settings, the app — lives as long as the process: it is taken out of the
    collector's sight, so a full collection walks only what requests and batches made since. A started riskdesk
    holds some 180,000 such objects; scanning them again and again cost the event intake a sixth of its time at
    batches of 500. And a young collection waits for 20,000 new objects instead of 700: a batch's own objects (its
    events, their inputs, its rows) die by reference count when it ends, so they are rarely scanned at all — at the
    default, 800 young and 75 middle collections took 0.55 s of a 20,000-event run, at 20,000 a tenth of that
    (measured; benchmarks/results/monitoring.md). Cyclic garbage is collected first, so nothing unreachable is
    frozen. Returns the thresholds it replaced, for ``thaw``."""
    import gc

    gc.collect()
    gc.freeze()
    previous = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, previous[1], previous[2])
    return previous


def thaw(previous: tuple[int, int, int]) -> None:
    """Undo ``freeze_start_up_objects`` (a benchmark that starts and stops many containers in one process)."""
    import gc

    gc.unfreeze()
    gc.set_threshold(*previous)


@dataclass
class Container:
    """Everything long-lived a request, command or job needs. Built once per process."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return build_engine(self.settings.resolved_database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        from riskdesk.monitoring import freshness

        factory = build_session_factory(self.engine)
        freshness.install(factory)  # changes of a customer's monitoring inputs invalidate the intake's caches
        return factory

    @cached_property
    def keyring(self) -> KeyRing:
        return KeyRing.from_settings(
            self.settings.encryption_keys,
            self.settings.encryption_active_key,
            self.settings.blind_index_key.get_secret_value(),
        )

    @cached_property
    def token_pepper(self) -> bytes:
        """Key of the HMAC under which API tokens and session ids are stored."""
        secret = self.settings.secret_key.get_secret_value().encode()
        return hashlib.sha256(b"riskdesk-token-pepper\x00" + secret).digest()

    @cached_property
    def passwords(self) -> Passwords:
        return Passwords(time_cost=self.settings.argon2_time_cost, memory_kib=self.settings.argon2_memory_kib)

    @cached_property
    def screening_index(self) -> IndexCache:
        """Watchlist entries in memory for fast screening; rebuilt when a list changes."""
        from riskdesk.verification.screening import IndexCache

        return IndexCache()

    @cached_property
    def http_registry(self) -> HttpRegistryProvider | None:
        """The configured registry API, kept for the life of the process so its cache and rate limit hold."""
        from riskdesk.verification.registry import HttpRegistryProvider

        s = self.settings
        if not s.registry_url:
            return None
        return HttpRegistryProvider(
            url=s.registry_url,
            fields=s.registry_fields,
            headers=s.registry_headers,
            found_path=s.registry_found_path or None,
            error_path=s.registry_error_path or None,
            not_found_codes=tuple(s.registry_not_found_codes),
            timeout_seconds=s.registry_timeout_seconds,
            retries=s.registry_retries,
            cache_seconds=s.registry_cache_seconds,
            max_per_second=s.registry_max_per_second,
        )

    def registry_provider(self, session: Session) -> RegistryProvider:
        from riskdesk.verification.service import SnapshotProvider

        return self.http_registry or SnapshotProvider(session)

    @cached_property
    def credit_policy(self) -> Policy:
        from riskdesk.credit.policy import load_policy

        return load_policy(self.settings.credit_policy_file)

    @cached_property
    def monitoring_states(self) -> StateCache:
        """Customers' behaviour states and inputs, and the active rules, this process keeps between batches of
        monitoring events."""
        from riskdesk.monitoring.state_cache import StateCache

        return StateCache()

    @cached_property
    def notification_senders(self) -> Mapping[str, Sender]:
        """The sender of each notification channel (webhook, e-mail), configured by the settings."""
        from riskdesk.comms.delivery import senders_from

        return senders_from(self.settings)

    def deliver_notifications(self, *, now: datetime | None = None, limit: int = 100) -> DeliveryReport:
        """One round of the notification deliverer (``riskdesk notifications deliver``, the web app's loop)."""
        from riskdesk.comms.deliverer import deliver_due

        return deliver_due(
            self.session_factory, keyring=self.keyring, senders=self.notification_senders, now=now, limit=limit
        )

    def dispatch_events(self, session: Session) -> None:
        """Hand the events services recorded to their handlers, in the caller's transaction (riskdesk.events)."""
        from riskdesk import events
        from riskdesk.audit.service import Actor
        from riskdesk.errors import NotFound
        from riskdesk.verification import screening

        handled: set[events.Event] = set()  # each event once: guarantees can run in circles
        while pending := events.take(session):
            downgrades: list[events.GradeDowngraded] = []  # sent to monitoring's intake together, below
            raised: list[events.AlertRaised] = []  # queued by comms together, below
            for event in pending:
                if event in handled:
                    continue
                handled.add(event)
                if isinstance(event, events.GradeDowngraded):
                    downgrades.append(event)
                elif isinstance(event, events.ModelReviewNeeded | events.ChampionChanged | events.OverlaysChanged):
                    self._on_model_event(session, event)
                if isinstance(event, events.CustomerChanged):
                    try:
                        for relying in screening.customers_relying_on(session, customer_id=event.customer_id):
                            events.record(session, events.CustomerChanged(relying))
                        screening.screen_customer(
                            session,
                            customer_id=event.customer_id,
                            keyring=self.keyring,
                            cache=self.screening_index,
                            actor=Actor("screening"),
                        )
                    except NotFound:  # created in a savepoint that was rolled back
                        continue
                elif isinstance(event, events.AlertRaised):
                    raised.append(event)
            if raised:
                from riskdesk.comms import service as comms  # only when monitoring raised alerts

                comms.enqueue_alerts(session, raised=raised)
            if downgrades:
                self._on_grade_drops(session, downgrades)

    # ── model events (monitoring's model-review alerts, due rescorings, grade drops) ───────────────────────────

    def _on_model_event(
        self, session: Session, event: events.ModelReviewNeeded | events.ChampionChanged | events.OverlaysChanged
    ) -> None:
        from datetime import date

        from riskdesk import events
        from riskdesk.audit.service import Actor
        from riskdesk.credit import portfolio
        from riskdesk.monitoring import model_alerts
        from riskdesk.scoring import registry

        if isinstance(event, events.ModelReviewNeeded):
            model_alerts.raise_model_review(session, event=event, actor=Actor("monitoring"))
        elif isinstance(event, events.ChampionChanged):
            version = registry.get_version(session, version_id=event.model_version_id).version
            portfolio.request_rescoring(
                session,
                reason="champion_changed",
                reference=version,
                due_on=date.today(),
                actor=Actor(event.by),
            )
        else:
            portfolio.request_rescoring(
                session,
                reason="overlay_changed",
                reference=f"#{event.overlay_id} {event.valid_from.isoformat()}",
                due_on=max(date.today(), event.valid_from),
                actor=Actor(event.by),
            )

    def _on_grade_drops(self, session: Session, downgrades: list[events.GradeDowngraded]) -> None:
        from riskdesk.audit.service import Actor
        from riskdesk.monitoring import model_alerts

        model_alerts.send_grade_drops(
            session, downgrades=downgrades, policy=self.credit_policy, actor=Actor("monitoring")
        )

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def build_container(settings: Settings | None = None) -> Container:
    settings = settings or get_settings()
    settings.check_production_safety()
    configure_logging(json_logs=settings.log_json)
    return Container(settings=settings)


def configure_logging(*, json_logs: bool) -> None:
    """Tracebacks are logged without local variables: locals hold personal data, keys and bearer tokens."""
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json_logs:
        processors += [
            structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(),
        ]
    else:
        processors.append(
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
        )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
