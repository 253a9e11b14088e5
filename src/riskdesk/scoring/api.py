"""The model registry and the overlays over JSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from riskdesk.scoring import registry
from riskdesk.scoring.models import PdOverlay
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal
from riskdesk.web.deps import SessionDep, actor_of, require

router = APIRouter(prefix="/api/v1", tags=["models"])
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class PromotionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class PromotionDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    reason: Reason


def overlay_out(overlay: PdOverlay) -> dict[str, Any]:
    return {
        "id": overlay.id,
        "sector": overlay.sector,
        "factor": str(overlay.factor),
        "valid_from": overlay.valid_from,
        "reason": overlay.reason,
        "created_by": overlay.created_by,
        "created_at": overlay.created_at,
    }


@router.get("/models")
def list_models(
    session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> list[dict[str, Any]]:
    """Registered PD model versions with their role (candidate, champion, challenger, retired) and metrics."""
    return [registry.version_out(v) for v in registry.versions(session)]


@router.get("/models/{version_id}")
def get_model(
    version_id: int, session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> dict[str, Any]:
    record = registry.get_version(session, version_id=version_id)
    return registry.version_out(record) | {"manifest": record.manifest}


@router.post("/models/{version_id}/promotion")
def request_promotion(
    version_id: int,
    data: PromotionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.models_manage)],
) -> dict[str, Any]:
    """Ask for this version to become the champion; another person, an approver, decides."""
    record = registry.request_promotion(
        session, version_id=version_id, reason=data.reason, actor=actor_of(request, principal)
    )
    return registry.version_out(record)


@router.post("/models/{version_id}/promotion/decision")
def decide_promotion(
    version_id: int,
    data: PromotionDecisionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.credit_approve)],
) -> dict[str, Any]:
    record = registry.decide_promotion(
        session, version_id=version_id, decision=data.decision, reason=data.reason, actor=actor_of(request, principal)
    )
    return registry.version_out(record)


@router.get("/pd-overlays")
def list_overlays(
    session: SessionDep, principal: Annotated[Principal, require(Permission.customers_read)]
) -> list[dict[str, Any]]:
    """Every overlay ever set, newest first (earlier rows stay: past decisions keep the overlay they used)."""
    return [overlay_out(o) for o in registry.overlays(session)]


@router.post("/pd-overlays", status_code=201)
def add_overlay(
    data: registry.OverlayIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.models_manage)],
) -> dict[str, Any]:
    """A sector PD multiplier from a date (e.g. construction × 1.3); a factor of 1 ends an earlier one."""
    return overlay_out(registry.add_overlay(session, data=data, actor=actor_of(request, principal)))
