"""A source's credential is one of the platform's sealed columns: after the field key is rotated,
`yiwang keys reencrypt` moves it to the new key under the same per-source context, and it still opens."""

from collections.abc import Iterator

import pytest
from cryptography.exceptions import InvalidTag

from tests.conftest import make_settings
from tests.databases import Templates
from yiwang import bootstrap
from yiwang.collect.models import CollectSource
from yiwang.collect.service import secret_context
from yiwang.core import keyadmin
from yiwang.core.crypto import FIELD, parse_envelope
from yiwang.core.crypto.reencrypt import stale_rows
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow

OPERATOR = Principal(user_id=None, username="system:test", display_name="测试", kind="system", ip="cli")


@pytest.fixture
def platform(tmp_path, templates: Templates) -> Iterator[Runtime]:
    """A platform of its own: its keys are rotated here."""
    runtime = Runtime.build(make_settings(templates.migrated_data_dir(tmp_path / "data"), demo_on_first_start=False))
    bootstrap.prepare(runtime)
    yield runtime
    runtime.db.dispose()


def _source(code: str, secret_enc: str | None) -> CollectSource:
    now = utcnow()
    return CollectSource(
        code=code,
        name=code,
        entry_code="E",
        department_id=1,
        kind="api",
        location="http://127.0.0.1:9/x",
        options={},
        mapping={},
        secret_enc=secret_enc,
        created_by="t",
        created_at=now,
        updated_at=now,
    )


def test_reencrypt_moves_source_credentials_to_the_new_key(platform):
    sealed = [t for t in bootstrap.sealed_tables() if t.table == "collect_source"]
    assert len(sealed) == 1
    with platform.db.unit_of_work() as db:
        db.add(_source("ROT-1", platform.cipher.encrypt("token-one", context=secret_context("ROT-1"))))
        db.add(_source("ROT-2", None))  # no credential: nothing to re-encrypt, nothing to fail on
    with platform.db.unit_of_work() as db:
        keyadmin.rotate(db, keyring=platform.keyring, actor=OPERATOR, purpose=FIELD)
    with platform.db.unit_of_work() as db:
        assert stale_rows(db, cipher=platform.cipher, sealed=sealed[0]) == 1
    keyadmin.reencrypt(platform.db, keyring=platform.keyring, tables=sealed, actor=OPERATOR, batch_size=1)
    with platform.db.unit_of_work() as db:
        assert stale_rows(db, cipher=platform.cipher, sealed=sealed[0]) == 0
        moved = db.query(CollectSource).filter_by(code="ROT-1").one()
        assert parse_envelope(moved.secret_enc)[1] == 2
        assert platform.cipher.decrypt(moved.secret_enc, context=secret_context("ROT-1")) == "token-one"
        with pytest.raises(InvalidTag):  # an envelope copied to another source does not open there
            platform.cipher.decrypt(moved.secret_enc, context=secret_context("ROT-2"))
