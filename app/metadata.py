"""The one SQLAlchemy `MetaData` every table is in, with the naming convention of its
constraints and indexes (set before any table is defined, as names are given when a
constraint joins its table)."""

from sqlalchemy import MetaData, Table
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def core_table(model: type[SQLModel]) -> Table:
    """The Core table behind a table model. Statements on the hot paths select its columns
    rather than the model's attributes: the rows are the same, without the ORM's
    bookkeeping for each statement."""
    return metadata.tables[str(model.__tablename__)]
