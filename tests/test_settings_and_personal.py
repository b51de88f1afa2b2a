"""Settings invariants and the handling of identity numbers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from beatbook.personal import hash_identity, last4, mask_identity
from beatbook.settings import Settings


def test_production_refuses_the_development_hash_key():
    with pytest.raises(ValidationError, match="BEATBOOK_ID_HASH_KEY"):
        Settings(environment="production")
    assert Settings(environment="production", id_hash_key="a real secret").environment == "production"


def test_only_postgresql_urls_are_taken():
    with pytest.raises(ValidationError, match="PostgreSQL URL"):
        Settings(database_url="sqlite:///beatbook.db")
    url = Settings(database_url="postgresql://u:p@db:5432/bb").sqlalchemy_url
    assert url == "postgresql+psycopg://u:p@db:5432/bb"


def test_the_embedded_url_points_at_the_socket_in_the_cluster_folder():
    settings = Settings(database_url=None)
    assert settings.uses_embedded_db
    assert f"host={settings.pg_socket_dir}" in settings.libpq_url


identity = st.text(alphabet="0123456789X", min_size=15, max_size=18)


@given(identity)
def test_a_hash_matches_the_same_number_however_it_is_typed(number):
    spaced = " ".join(number[i:i + 6] for i in range(0, len(number), 6)).lower()
    assert hash_identity(spaced, "k") == hash_identity(number, "k")
    assert hash_identity(number, "k") != hash_identity(number, "another key")
    assert number.encode() not in hash_identity(number, "k")


@given(identity)
def test_the_mask_shows_the_last_four_only(number):
    masked = mask_identity(last4(number))
    assert masked.endswith(number[-4:]) and set(masked[:-4]) == {"*"}
    assert mask_identity(None) is None
