"""SQL that the store's parts share: the dialect, filter conditions on ``papers``, and
id lists fetched straight from the driver."""

from __future__ import annotations

import numpy as np
from sqlalchemy import String, false, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from search.query.filter_keys import author_filter_key, venue_key
from search.query.filters import Filters
from search.store.schema import Paper

IN_CHUNK = 900  # ids per IN (...) list: SQLite allows 999 parameters a statement


def dialect_of(sessions: sessionmaker[Session]) -> str:
    """``sqlite`` or ``postgresql``: the few queries that differ look here."""
    return sessions.kw["bind"].dialect.name


def filter_conditions(filters: Filters, dialect: str, paper=Paper) -> list:
    """SQL conditions on ``paper`` (``papers``, or a build's view of them) for each active
    filter. Categories and authors match whole keys (``search.query.filter_keys``):
    PostgreSQL looks them up in a GIN index of the JSONB key arrays; SQLite walks each
    paper's keys with json_each."""
    conditions = []
    if filters.year_min is not None:
        conditions.append(paper.year >= filters.year_min)
    if filters.year_max is not None:
        conditions.append(paper.year <= filters.year_max)
    if filters.venues:  # keys, as the keyword index matches them
        conditions.append(paper.venue_key.in_([venue_key(v) for v in filters.venues]))
    authors = [k for k in map(author_filter_key, filters.authors) if k]
    for column, wanted, named in (
        (paper.category_keys, list(filters.categories), False),
        (paper.author_keys, authors, bool(filters.authors)),
    ):
        if not wanted and named:
            conditions.append(false())  # names without a letter match no one
        elif wanted:
            conditions.append(has_any_key(column, wanted, dialect))
    return conditions


def has_any_key(column, keys: list[str], dialect: str):
    """``column`` (a JSON key list) holds one of ``keys``: an index lookup on PostgreSQL."""
    if dialect == "postgresql":
        return column.op("?|")(postgresql.array(keys, type_=String))
    each = func.json_each(column).table_valued("value").alias("key")
    return select(1).select_from(each).where(each.c.value.in_(keys)).exists()


def fetch_ids(session: Session, query) -> np.ndarray:
    """The first column of ``query`` as int64, straight from the DB-API cursor: for the
    tens of thousands of ids a broad filter selects, SQLAlchemy's row objects cost more
    than the query itself."""
    connection = session.connection()
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    if compiled.positiontup is None:  # a named-parameter driver: the general path
        return np.asarray(session.scalars(query).all(), dtype=np.int64)
    params = compiled.construct_params()
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), [params[name] for name in compiled.positiontup])
        return np.fromiter((row[0] for row in cursor), dtype=np.int64)
    finally:
        cursor.close()
