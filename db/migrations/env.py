"""Alembic environment: metadata from the models, URL from the settings."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from beatbook.settings import get_settings
from db.models import metadata
from db.partitions import include_object

config = context.config


def run_migrations() -> None:
    url = config.attributes.get("url") or get_settings().sqlalchemy_url
    connectable = config.attributes.get("connection") or create_engine(url, poolclass=pool.NullPool)
    options = dict(
        target_metadata=metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
    else:
        context.configure(connection=connectable, **options)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
