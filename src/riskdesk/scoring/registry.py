"""The model registry: PD model directories registered as versions, promoted to champion with four eyes, the
previous champion kept as challenger (scored in shadow); and the sector and macro overlays applied on top."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from riskdesk import events
from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, PermissionDenied, ValidationFailed
from riskdesk.scoring import pd_model
from riskdesk.scoring.models import ModelVersion, PdOverlay

ENTITY = "model_version"


def register(session: Session, *, source: Path, models_dir: Path, actor: Actor) -> ModelVersion:
    """Check a model directory and copy it under ``models_dir/<version>``; it starts as a candidate."""
    model = pd_model.load(source)  # refuses a changed, incomplete or foreign-format directory
    version = model.version
    if session.scalar(select(ModelVersion.id).where(ModelVersion.version == version)) is not None:
        raise Conflict(f"model version {version} is already registered; a version is never replaced")
    target = models_dir / version
    if source.resolve() != target.resolve():

        def copy(folder: Path) -> None:
            shutil.copytree(source, folder, dirs_exist_ok=True)

        pd_model.write_directory(target, copy)
    manifest = model.manifest
    champion = manifest["models"][model.champion_kind]
    record = ModelVersion(
        version=version,
        kind=model.champion_kind,
        path=str(target),
        manifest=manifest,
        metrics=champion.get("metrics", manifest.get("metrics", {})),
        data_sha256=str(manifest.get("data", {}).get("sha256", manifest.get("data_sha256", ""))),
        parent_version=manifest.get("parent_version"),
        trained_by=str(manifest.get("trained_by", "")),
        registered_by=actor.name,
        role="candidate",
        promotion="",
        decision_reason="",
    )
    session.add(record)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="model.registered",
        entity_type=ENTITY,
        entity_id=record.id,
        changes={"version": version, "kind": record.kind, "data_sha256": record.data_sha256},
    )
    return record


def get_version(session: Session, *, version_id: int) -> ModelVersion:
    found = session.get(ModelVersion, version_id)
    if found is None:
        raise NotFound(f"model version {version_id} does not exist")
    return found


def versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def in_role(session: Session, role: Literal["champion", "challenger"]) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.role == role))


def request_promotion(session: Session, *, version_id: int, reason: str, actor: Actor) -> ModelVersion:
    """Ask for ``version_id`` to become the champion; an approver other than the requester decides."""
    record = get_version(session, version_id=version_id)
    if record.role == "champion":
        raise Conflict(f"model {record.version} is already the champion")
    if record.role == "retired":
        raise Conflict(f"model {record.version} is retired; register a new version instead")
    if record.promotion == "requested":
        raise Conflict(f"the promotion of model {record.version} already awaits a decision")
    record.promotion, record.requested_by, record.requested_at = "requested", actor.name, utcnow()
    record.decided_by, record.decided_at, record.decision_reason = None, None, ""
    audit.append(
        session,
        actor=actor,
        action="model.promotion_requested",
        entity_type=ENTITY,
        entity_id=record.id,
        changes={"version": record.version},
        reason=reason,
    )
    return record


def decide_promotion(
    session: Session, *, version_id: int, decision: Literal["approve", "reject"], reason: str, actor: Actor
) -> ModelVersion:
    """Approve: the version becomes champion, the champion before it challenger (scored in shadow), the challenger
    before that retired. Never by the one who asked or who registered it."""
    if len(reason.strip()) < 3:
        raise ValidationFailed("give the reason for the decision", details=[ErrorDetail("reason", "required")])
    record = get_version(session, version_id=version_id)
    if record.promotion != "requested":
        raise Conflict(f"no promotion of model {record.version} awaits a decision")
    if actor.name in (record.requested_by, record.registered_by):
        raise PermissionDenied("the promotion of a model needs a second person: not its requester, not its registrant")
    changed = session.execute(
        update(ModelVersion)
        .where(ModelVersion.id == version_id, ModelVersion.promotion == "requested")
        .values(
            promotion="approved" if decision == "approve" else "rejected",
            decided_by=actor.name,
            decided_at=utcnow(),
            decision_reason=reason.strip(),
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"the promotion of model {record.version} was decided by someone else meanwhile")
    if decision == "approve":
        session.execute(update(ModelVersion).where(ModelVersion.role == "challenger").values(role="retired"))
        session.execute(update(ModelVersion).where(ModelVersion.role == "champion").values(role="challenger"))
        session.execute(update(ModelVersion).where(ModelVersion.id == version_id).values(role="champion"))
    session.refresh(record)
    audit.append(
        session,
        actor=actor,
        action=f"model.promotion_{record.promotion}",
        entity_type=ENTITY,
        entity_id=record.id,
        changes={"version": record.version, "role": record.role},
        reason=reason.strip(),
    )
    if decision == "approve":  # the portfolio is due for rescoring by the new champion (credit, via bootstrap)
        events.record(session, events.ChampionChanged(record.id, actor.name))
    return record


def load_model(record: ModelVersion) -> pd_model.PdModel:
    return pd_model.load(Path(record.path))


class OverlayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sector: str = Field(pattern=r"^([A-T]|\*)$", description="GB/T 4754 section letter, or * for every sector")
    factor: Decimal = Field(gt=0, le=10, max_digits=8, decimal_places=4)
    valid_from: date
    reason: str = Field(min_length=3, max_length=2000)


def add_overlay(session: Session, *, data: OverlayIn, actor: Actor) -> PdOverlay:
    """A new overlay row; earlier rows stay, so every past decision keeps the overlay it used."""
    overlay = PdOverlay(**data.model_dump(), created_by=actor.name)
    session.add(overlay)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="model.overlay_added",
        entity_type="pd_overlay",
        entity_id=overlay.id,
        changes={"sector": data.sector, "factor": str(data.factor), "valid_from": data.valid_from.isoformat()},
        reason=data.reason,
    )
    events.record(session, events.OverlaysChanged(overlay.id, data.valid_from, actor.name))  # rescoring due
    return overlay


def overlays(session: Session) -> list[PdOverlay]:
    return list(session.scalars(select(PdOverlay).order_by(PdOverlay.valid_from.desc(), PdOverlay.id.desc())))


def overlays_in_force(session: Session, *, day: date) -> dict[str, PdOverlay]:
    """Per sector, the latest overlay valid on ``day`` (a factor of 1 ends an earlier one)."""
    found: dict[str, PdOverlay] = {}
    for overlay in session.scalars(
        select(PdOverlay).where(PdOverlay.valid_from <= day).order_by(PdOverlay.valid_from, PdOverlay.id)
    ):
        found[overlay.sector] = overlay
    return {sector: o for sector, o in found.items() if o.factor != 1}


def overlay_for(in_force: dict[str, PdOverlay], sector: str | None) -> PdOverlay | None:
    """The sector's own overlay wins over the all-sector one (``*``)."""
    return in_force.get(sector or "") or in_force.get("*")


def version_out(record: ModelVersion) -> dict[str, Any]:
    return {
        "id": record.id,
        "version": record.version,
        "kind": record.kind,
        "role": record.role,
        "promotion": record.promotion,
        "metrics": record.metrics,
        "data_sha256": record.data_sha256,
        "parent_version": record.parent_version,
        "features": [f.get("name") for f in record.manifest.get("features", [])],
        "trained_by": record.trained_by,
        "registered_by": record.registered_by,
        "registered_at": record.registered_at,
        "requested_by": record.requested_by,
        "decided_by": record.decided_by,
        "decision_reason": record.decision_reason,
    }


def recalibrate(
    session: Session,
    *,
    version_id: int,
    frame: Any,
    target: str,
    data_sha256: str,
    models_dir: Path,
    actor: Actor,
    new_version: str | None = None,
) -> ModelVersion:
    """A new version of ``version_id`` whose PD level is refitted on recent outcomes (Platt on the log-odds of its
    PD), registered as a candidate: like any version it scores customers only once its promotion is approved."""
    import copy
    import json
    import tempfile

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from riskdesk.scoring.scorecard import evaluate
    from riskdesk.scoring.tabular import target_labels

    record = get_version(session, version_id=version_id)
    model = load_model(record)
    labels, labelled = target_labels(frame, target)
    labels = labels[labelled] if len(labels) == len(frame) else labels
    if len(labels) < 100 or len(set(labels.tolist())) < 2:
        raise ValidationFailed(
            f"recalibration needs at least 100 rows with outcomes of both kinds; {target!r} gives {len(labels)}"
        )
    before = model.champion.score(frame.loc[labelled].reset_index(drop=True), reasons=False).probability_of_default
    clipped = np.clip(before, 1e-6, 1 - 1e-6)
    log_odds = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(log_odds, labels)
    slope, intercept = float(platt.coef_[0][0]), float(platt.intercept_[0])
    earlier = record.manifest.get("recalibration")
    if earlier:  # the PDs fitted on already carry the earlier recalibration: compose the two
        slope, intercept = slope * earlier["slope"], slope * earlier["intercept"] + intercept
    after = pd_model.recalibrate(np.clip(before, 1e-6, 1 - 1e-6), float(platt.coef_[0][0]), float(platt.intercept_[0]))
    manifest = copy.deepcopy(record.manifest)
    manifest["version"] = new_version or f"{record.version}-recal-{utcnow():%Y%m%d%H%M}"
    manifest["parent_version"] = record.version
    manifest["trained_by"] = actor.name
    manifest["recalibration"] = {
        "method": "platt on log-odds",
        "slope": round(slope, 8),
        "intercept": round(intercept, 8),
        "rows": len(labels),
        "data_sha256": data_sha256,
        "fitted_at": utcnow().isoformat(),
        "before": evaluate(labels.tolist(), before.tolist()),
        "after": evaluate(labels.tolist(), after.tolist()),
    }
    with tempfile.TemporaryDirectory() as folder:
        staged = Path(folder) / manifest["version"]
        shutil.copytree(record.path, staged)
        (staged / pd_model.MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        return register(session, source=staged, models_dir=models_dir, actor=actor)
