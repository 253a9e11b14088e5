"""The declarative base every feature's tables derive from, with a naming convention Alembic can diff."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def load_all_models() -> None:
    """Import every feature's models so ``Base.metadata`` knows every table (Alembic, tests)."""
    from riskdesk.audit import models as _audit
    from riskdesk.comms import models as _comms
    from riskdesk.credit import models as _credit
    from riskdesk.customers import models as _customers
    from riskdesk.financials import models as _financials
    from riskdesk.monitoring import models as _monitoring
    from riskdesk.scoring import models as _scoring
    from riskdesk.security import models as _security
    from riskdesk.verification import models as _verification

    del _audit, _comms, _credit, _customers, _financials, _monitoring, _scoring, _security, _verification
