"""``riskdesk events ingest|publish|dead-letters|replay`` and ``riskdesk monitor rules|alerts|worker|watch-list|
watch-reviews|rule-new|rule-version|rule-edit|rule-activate|rule-retire|backtest``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from riskdesk.cli.common import cli_actor, container, echo_json, err, fail, handles_errors, session_scope

events_app = typer.Typer(help="Monitoring events: send them from a file, list and replay dead letters.")
monitor_app = typer.Typer(
    help="Monitoring: the rules (write, activate, backtest), the alert queue, the watch list, the stream worker.",
    no_args_is_help=True,
)


@events_app.callback()
def events() -> None:
    """Monitoring events."""


@monitor_app.callback()
def monitor() -> None:
    """Monitoring."""


def _read(path: Path) -> list[tuple[int, Any]]:
    """(line number, the event as read) — a bad JSON line is kept as its text, to be dead-lettered with a reason."""
    from riskdesk import jsonlines
    from riskdesk.errors import ErrorDetail

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return [
            (line, {"unreadable_line": line, "error": record.reason} if isinstance(record, ErrorDetail) else record)
            for line, record in jsonlines.objects(text)
        ]
    if suffix != ".csv":
        raise fail(f"{path.name}: give a .jsonl or .csv file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return [(n, {k: v for k, v in row.items() if k and v not in ("", None)}) for n, row in enumerate(reader, 2)]


@events_app.command("ingest")
@handles_errors
def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines or CSV, one event a line"),
) -> None:
    """Send events in batches of 1,000 (each batch one transaction); refused events are dead-lettered, not lost."""
    from rich.progress import Progress

    from riskdesk.monitoring import intake

    rows = _read(file)
    totals = {"accepted": 0, "duplicates": 0, "dead_lettered": 0, "alerts": 0}
    policy = container().credit_policy
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("events", total=len(rows))
        for start in range(0, len(rows), intake.MAX_BATCH):
            batch = rows[start : start + intake.MAX_BATCH]
            with session_scope() as session:
                result = intake.ingest(
                    session,
                    events=[r for _, r in batch],
                    actor=cli_actor(),
                    policy=policy,
                    cache=container().monitoring_states,
                )
            for key, value in result.counts().items():
                totals[key] += value
            for rejection in result.rejections:
                line = batch[rejection.index][0]
                err.print(
                    f"line {line}: {rejection.reason} (dead letter {rejection.dead_letter_id})",
                    highlight=False,
                    soft_wrap=True,
                )
            progress.advance(task, len(batch))
    typer.echo(", ".join(f"{value} {key.replace('_', ' ')}" for key, value in totals.items()))


@events_app.command("dead-letters")
@handles_errors
def dead_letters(replayed: bool = typer.Option(False, "--replayed", help="those already replayed")) -> None:
    """The events that could not be processed, with their reason."""
    from riskdesk.monitoring import service

    with session_scope() as session:
        letters, total = service.list_dead_letters(session, replayed=replayed, limit=500)
        for letter in letters:
            typer.echo(f"{letter.id}\t{letter.event_id or '-'}\t{letter.code}\t{letter.reason}")
    err.print(f"{total} dead letters", highlight=False)


@events_app.command("replay")
@handles_errors
def replay(dead_letter_id: int = typer.Argument(..., help="the dead letter's id")) -> None:
    """Process a dead letter's event again (after loading the missing rate, creating the customer…)."""
    from riskdesk.monitoring import intake

    with session_scope() as session:
        letter, result = intake.replay(
            session, dead_letter_id=dead_letter_id, actor=cli_actor(), policy=container().credit_policy
        )
        outcome = "replayed" if letter.replayed_at else f"still refused: {letter.reason}"
    typer.echo(f"dead letter {dead_letter_id}: {outcome} ({result.accepted} accepted, {result.alerts} alerts)")
    if letter.replayed_at is None:
        raise typer.Exit(1)


@monitor_app.command("rules")
@handles_errors
def rules() -> None:
    """Every rule version with its status, severity, tier and suppression window."""
    from riskdesk.monitoring import service

    with session_scope() as session:
        for row in service.list_rules(session):
            typer.echo(
                f"{row.rule_id} v{row.version}\t{row.status}\t{row.severity}\t{row.tier}\t"
                f"{row.suppression_seconds}s\t{row.expression}"
            )


@monitor_app.command("alerts")
@handles_errors
def alerts(
    status: str = typer.Option("open", "--status", help="open, new, investigating, escalated or closed"),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
) -> None:
    """The alert queue as JSON."""
    from riskdesk.monitoring import api, service

    with session_scope() as session:
        page = service.list_alerts(session, status=status, limit=limit)
        echo_json({"total": page.total, "items": [api.alert_out(a) for a in page.alerts]})


def _redis() -> Any:
    from riskdesk.monitoring import stream

    url = container().settings.redis_url
    if not url:
        raise fail("RISKDESK_REDIS_URL is not set: the stream lives in Redis (e.g. redis://127.0.0.1:6379/0)")
    redis = stream.connect(url)
    try:
        redis.ping()
    except Exception as exc:  # any connection error: say where it tried
        raise fail(f"cannot reach Redis at {url}: {exc}") from None
    return redis


@events_app.command("publish")
@handles_errors
def publish(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines or CSV, one event a line"),
) -> None:
    """Append events to the Redis Stream for the workers (RISKDESK_REDIS_URL, RISKDESK_EVENTS_STREAM)."""
    from riskdesk.monitoring import stream

    rows = _read(file)
    redis = _redis()
    name = container().settings.events_stream
    ids = stream.publish(redis, name, [row for _, row in rows], partitions=container().settings.events_partitions)
    typer.echo(f"{len(ids)} events appended to {name}")


@monitor_app.command("worker")
@handles_errors
def worker(
    consumer: str = typer.Option("", "--consumer", help="this worker's name in the group (default: host-pid)"),
    batch: int = typer.Option(0, "--batch", min=0, max=1000, help="entries per batch (default RISKDESK_WORKER_BATCH)"),
    max_entries: int = typer.Option(0, "--max-entries", min=0, help="stop after this many entries (0: never)"),
    idle_exit: float = typer.Option(0, "--idle-exit", min=0, help="stop after this many idle seconds (0: never)"),
    stats_file: Path | None = typer.Option(
        None, "--stats-file", help="write what it did as JSON when it stops, with each event's latency"
    ),
) -> None:
    """Process the events of the Redis Stream as one worker of the consumer group, until SIGTERM or Ctrl-C (the
    batch in hand is finished first). Run several for more throughput; a crashed worker's events are claimed by
    the others after RISKDESK_WORKER_CLAIM_IDLE_SECONDS."""
    import json

    from riskdesk.monitoring import stream

    settings = container().settings
    redis = _redis()
    runner = stream.Worker(
        container=container(),
        redis=redis,
        stream=settings.events_stream,
        group=settings.events_group,
        consumer=consumer or stream.default_consumer(),
        batch=batch or settings.worker_batch,
        block_ms=settings.worker_block_ms,
        claim_idle_ms=int(settings.worker_claim_idle_seconds * 1000),
        partitions=settings.events_partitions,
    )
    runner.stop_on_signals()
    from riskdesk.bootstrap import freeze_start_up_objects

    freeze_start_up_objects()
    err.print(f"worker {runner.consumer} reading {runner.stream} as group {runner.group}", highlight=False)
    stats = runner.run(max_entries=max_entries or None, idle_exit_seconds=idle_exit or None)
    summary = stats.summary()
    if stats_file is not None:  # with each event's latency, for benchmarks
        samples = [[at, round(ms, 2)] for at, ms in zip(stats.appended_ms, stats.latencies_ms, strict=True)]
        stats_file.write_text(json.dumps(summary | {"latency_samples": samples}), encoding="utf-8")
    echo_json(summary)


@monitor_app.command("watch-list")
@handles_errors
def watch_list_entries(
    status: str = typer.Option(
        "current", "--status", help="current (on or removal requested), on, removal_requested, removed or all"
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
) -> None:
    """The watch list as JSON, newest first."""
    from riskdesk.errors import ValidationFailed
    from riskdesk.monitoring import api, watch_list

    if status not in ("current", "all", *watch_list.STATUSES):
        raise ValidationFailed(f"--status: {status!r} is not one of current, on, removal_requested, removed, all")
    with session_scope() as session:
        page = watch_list.list_entries(session, status=None if status == "all" else status, limit=limit)
        echo_json({"total": page.total, "items": [api.watch_entry_out(e) for e in page.entries]})


@monitor_app.command("watch-reviews")
@handles_errors
def watch_reviews() -> None:
    """A review task for each watch-listed customer whose review is due (run daily); the next review moves
    RISKDESK_WATCH_REVIEW_DAYS on."""
    from datetime import date

    from riskdesk.monitoring import watch_list

    days = container().settings.watch_review_days
    with session_scope() as session:
        opened = watch_list.open_reviews(session, today=date.today(), interval_days=days, actor=cli_actor())
    typer.echo(f"{opened} new watch-list review tasks (every {days} days)")


def _rule_fields(
    name: str | None,
    name_zh: str | None,
    expression: str | None,
    severity: str | None,
    tier: str | None,
    suppression_hours: int | None,
    description: str | None,
) -> dict[str, Any]:
    given = {
        "name": name,
        "name_zh": name_zh,
        "expression": expression,
        "severity": severity,
        "tier": tier,
        "suppression_seconds": suppression_hours * 3600 if suppression_hours is not None else None,
        "description": description,
    }
    return {key: value for key, value in given.items() if value is not None}


@contextmanager
def _caret() -> Iterator[None]:
    """A refused rule's caret excerpt on standard error, before ``handles_errors`` prints the error."""
    from riskdesk.monitoring.rules import RuleError

    try:
        yield
    except RuleError as error:
        if error.excerpt:
            err.print(error.excerpt, highlight=False, markup=False)
        raise


_NAME = typer.Option(None, "--name", help="English name")
_NAME_ZH = typer.Option(None, "--name-zh", help="Chinese name")
_EXPRESSION = typer.Option(None, "--expression", "-e", help="the CEL expression")
_SEVERITY = typer.Option(None, "--severity", help="low, medium, high or critical")
_TIER = typer.Option(None, "--tier", help="watch, early_warning or default_candidate")
_SUPPRESSION = typer.Option(None, "--suppression-hours", min=0, help="suppression window in hours (0: none)")
_DESCRIPTION = typer.Option(None, "--description")


@monitor_app.command("rule-new")
@handles_errors
def rule_new(
    rule_id: str = typer.Argument(..., help="a new rule id: lower-case letters, digits and _"),
    name: str = typer.Option(..., "--name", help="English name"),
    name_zh: str = typer.Option(..., "--name-zh", help="Chinese name"),
    expression: str = typer.Option(..., "--expression", "-e", help="the CEL expression"),
    severity: str = typer.Option("medium", "--severity", help="low, medium, high or critical"),
    tier: str = typer.Option("watch", "--tier", help="watch, early_warning or default_candidate"),
    suppression_hours: int = typer.Option(0, "--suppression-hours", min=0, help="suppression window in hours"),
    description: str = typer.Option("", "--description"),
) -> None:
    """Write a new rule: version 1, a draft (another person activates it)."""
    from riskdesk.monitoring import api, rulebook

    fields = _rule_fields(name, name_zh, expression, severity, tier, suppression_hours, description)
    with _caret(), session_scope() as session:
        row = rulebook.create_rule(session, rule_id=rule_id, fields=fields, actor=cli_actor())
        out = api.rule_out(row)
    echo_json(out)


@monitor_app.command("rule-version")
@handles_errors
def rule_version(
    rule_id: str = typer.Argument(...),
    from_version: int | None = typer.Option(None, "--from", min=1, help="copy this version (default: the newest)"),
    name: str | None = _NAME,
    name_zh: str | None = _NAME_ZH,
    expression: str | None = _EXPRESSION,
    severity: str | None = _SEVERITY,
    tier: str | None = _TIER,
    suppression_hours: int | None = _SUPPRESSION,
    description: str | None = _DESCRIPTION,
) -> None:
    """A new draft version of a rule, with the fields given changed."""
    from riskdesk.monitoring import api, rulebook

    changes = _rule_fields(name, name_zh, expression, severity, tier, suppression_hours, description)
    with _caret(), session_scope() as session:
        row = rulebook.new_version(
            session, rule_id=rule_id, changes=changes, from_version=from_version, actor=cli_actor()
        )
        out = api.rule_out(row)
    echo_json(out)


@monitor_app.command("rule-edit")
@handles_errors
def rule_edit(
    rule_id: str = typer.Argument(...),
    version: int = typer.Argument(..., min=1),
    name: str | None = _NAME,
    name_zh: str | None = _NAME_ZH,
    expression: str | None = _EXPRESSION,
    severity: str | None = _SEVERITY,
    tier: str | None = _TIER,
    suppression_hours: int | None = _SUPPRESSION,
    description: str | None = _DESCRIPTION,
) -> None:
    """Change a draft (an active or retired version never changes)."""
    from riskdesk.monitoring import api, rulebook

    changes = _rule_fields(name, name_zh, expression, severity, tier, suppression_hours, description)
    with _caret(), session_scope() as session:
        row = rulebook.edit_draft(session, rule_id=rule_id, version=version, changes=changes, actor=cli_actor())
        out = api.rule_out(row)
    echo_json(out)


@monitor_app.command("rule-activate")
@handles_errors
def rule_activate(
    rule_id: str = typer.Argument(...),
    version: int = typer.Argument(..., min=1),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Switch a draft on, retiring the rule's active version; never a version the same person wrote (the CLI acts
    as cli:<OS user>)."""
    from riskdesk.monitoring import api, rulebook

    with session_scope() as session:
        row = rulebook.activate(session, rule_id=rule_id, version=version, reason=reason, actor=cli_actor())
        out = api.rule_out(row)
    echo_json(out)


@monitor_app.command("rule-retire")
@handles_errors
def rule_retire(
    rule_id: str = typer.Argument(...),
    version: int = typer.Argument(..., min=1),
    reason: str = typer.Option(..., "--reason", help="why it is switched off (3 characters or more)"),
) -> None:
    """Switch an active version off, or set a draft aside."""
    from riskdesk.monitoring import api, rulebook

    with session_scope() as session:
        row = rulebook.retire(session, rule_id=rule_id, version=version, reason=reason, actor=cli_actor())
        out = api.rule_out(row)
    echo_json(out)


@monitor_app.command("backtest")
@handles_errors
def backtest(
    rule_id: str | None = typer.Argument(None, help="the rule (omit with --expression for an unsaved rule)"),
    version: int | None = typer.Argument(None, min=1, help="the version to backtest"),
    first: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD (UTC)"),
    last: str = typer.Option(..., "--to", help="last day, YYYY-MM-DD (UTC), included"),
    expression: str | None = typer.Option(None, "--expression", "-e", help="an unsaved expression instead"),
    suppression_hours: int = typer.Option(0, "--suppression-hours", min=0, help="for --expression"),
    customer: list[int] = typer.Option([], "--customer", help="only this customer (repeatable)"),
) -> None:
    """Which customers a rule version (or an unsaved expression) would have flagged over the stored events, and
    when, compared with the rule's active version; as JSON."""
    from datetime import date

    from riskdesk.monitoring import backtests

    try:
        scope = backtests.Scope(date.fromisoformat(first), date.fromisoformat(last), tuple(sorted(set(customer))))
    except ValueError:
        raise fail("--from and --to are dates: YYYY-MM-DD") from None
    if (expression is None) == (version is None) or (version is not None and rule_id is None):
        raise fail("give RULE_ID VERSION, or --expression (optionally with RULE_ID to compare with its active version)")
    with _caret(), session_scope() as session:
        if expression is None and rule_id is not None and version is not None:
            result = backtests.run_version(session, rule_id=rule_id, version=version, scope=scope)
        else:
            rule = backtests.unsaved_rule(
                expression or "", suppression_seconds=suppression_hours * 3600, rule_id=rule_id
            )
            result = backtests.run(session, rule=rule, scope=scope, unsaved=True)
        out = backtests.as_json(result)
    echo_json(out)
