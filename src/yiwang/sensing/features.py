"""FeaturesOfInterest generated from a Thing's Location (SensorThings 1.1, 10.2.1.1).

An Observation created without a FeatureOfInterest gets the one made from its Thing's current Location:
made once, remembered on the Location, and reused until that Location changes (a new Location, or an
edit of this one, makes a new FeatureOfInterest for later observations). A Thing without a Location
leaves such observations without a FeatureOfInterest: the specification makes the generation depend on
the Location, and refusing the data would lose readings of devices registered before their position.
"""

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from yiwang.core.db import changed_rows
from yiwang.sensing import models as m

FROM_LOCATION = {"name", "description", "encoding_type", "location"}  # what a generated feature copies


def current_location_id() -> object:
    """SQL for a Datastream's Thing's current Location: the most recently created one linked to the Thing."""
    return (
        select(func.max(m.ThingLocation.location_id))
        .where(m.ThingLocation.thing_id == m.Datastream.thing_id)
        .correlate(m.Datastream)
        .scalar_subquery()
    )


def with_location_feature(stmt: Select) -> Select:
    """Add the current Location's id and its generated FeatureOfInterest to a select over Datastreams."""
    return stmt.add_columns(m.Location.id.label("location_id"), m.Location.feature_of_interest_id).outerjoin(
        m.Location, m.Location.id == current_location_id()
    )


def generate(db: Session, location_ids: set[int]) -> dict[int, int]:
    """Make the FeatureOfInterest of each Location that has none yet; returns location id → feature id.

    The Location is claimed with a conditional UPDATE, so two transactions generating for the same
    Location at once end with one feature: the later one drops its own and takes the winner's.
    """
    made: dict[int, int] = {}
    rows = db.execute(
        select(m.Location.id, m.Location.name, m.Location.description, m.Location.encoding_type, m.Location.location)
        .where(m.Location.id.in_(location_ids))
        .order_by(m.Location.id)
    ).all()
    for row in rows:
        feature = m.FeatureOfInterest(
            name=row.name,
            description=row.description or "",
            encoding_type=row.encoding_type,
            feature=row.location,
        )
        db.add(feature)
        db.flush()
        claimed = changed_rows(
            db,
            update(m.Location)
            .where(m.Location.id == row.id, m.Location.feature_of_interest_id.is_(None))
            .values(feature_of_interest_id=feature.id)
            .execution_options(synchronize_session=False),
        )
        if claimed:
            made[row.id] = feature.id
            continue
        db.delete(feature)
        winner = db.scalar(select(m.Location.feature_of_interest_id).where(m.Location.id == row.id))
        if winner is not None:
            made[row.id] = winner
    db.flush()
    return made


def forget(db: Session, *, feature_id: int) -> None:
    """Stop reusing a generated feature that was deleted: its Location generates a new one when next needed."""
    db.execute(
        update(m.Location)
        .where(m.Location.feature_of_interest_id == feature_id)
        .values(feature_of_interest_id=None)
        .execution_options(synchronize_session="fetch")
    )
