"""A fresh platform without demo data (only the organisation and demo accounts), so that an
indicator computed from fixture records can be checked by hand against exact counts."""

import io
from collections.abc import Iterator

import pytest
from openpyxl import Workbook

from tests.conftest import make_settings
from tests.databases import Templates
from yiwang import bootstrap
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.demo import loader


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Runtime]:
    data_dir = templates.migrated_data_dir(tmp_path_factory.mktemp("brain-fresh"))
    settings = make_settings(data_dir, demo_on_first_start=False)
    runtime = Runtime.build(settings)
    bootstrap.prepare(runtime)
    loader.load(runtime)  # organisation and accounts only
    yield runtime
    runtime.db.dispose()


SYSTEM = Principal(
    user_id=None,
    username="system:test",
    display_name="测试",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS}),
)


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
