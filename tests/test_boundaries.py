"""The import rule (tests/boundaries.py) on a small package written to disk: kept when the package
follows it, broken by each kind of breach, and covering a new domain without being told of it."""

import importlib
from pathlib import Path

import grimp
import pytest

from tests.boundaries import DomainBoundaries

# A package shaped like yiwang that follows the rule: kernel, web, wiring and two domains.
LEGAL = {
    "__init__.py": "",
    "config.py": "",
    "core/__init__.py": "",
    "core/db.py": "from town import config\n",
    "web/__init__.py": "",
    "web/pages.py": "from town.core import db\n",
    "domains.py": "",
    "demo/__init__.py": "",
    "demo/people.py": "from town.core import db\n",
    "demo/loader.py": "from town.a import service\nfrom town.demo import people\n",
    "app.py": "from town.a import api, plugin\nfrom town.b import service\n",
    "a/__init__.py": "",
    "a/models.py": "from town.core import db\n",
    "a/service.py": "from town.a import models\nfrom town.b import schemas, service\nfrom town.core import db\n",
    "a/api.py": (
        "from town.a import service\nfrom town.b import permissions\nfrom town.web import pages\n"
        "service._rule()\nservice.__name__\n"
    ),
    "a/plugin.py": "from town import domains\nfrom town.a import api\n",
    "a/demo.py": "from town.a import service\nfrom town.demo import people\n",
    "b/__init__.py": "",
    "b/_cache.py": "",
    "b/models.py": "",
    "b/schemas.py": "",
    "b/permissions.py": "",
    "b/service.py": "from town.b import _cache, models\n",
    "b/api.py": "from town.b import service\n",
}


def check(root: Path, changes: dict[str, str]):
    """Write the legal package with `changes` appended to (or creating) its files, and check it."""
    files = dict(LEGAL)
    for name, text in changes.items():
        files[name] = files.get(name, "") + text + "\n"
    for name, text in files.items():
        path = root / "town" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    importlib.invalidate_caches()
    graph = grimp.build_graph("town", cache_dir=None)
    contract = DomainBoundaries(name="boundaries", session_options={"root_packages": ["town"]}, contract_options={})
    return contract.check(graph, verbose=False)


@pytest.fixture
def package_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_package_that_follows_the_rule_keeps_the_contract(package_dir):
    result = check(package_dir, {})
    assert result.kept, result.metadata["breaches"]


@pytest.mark.parametrize(
    ("file", "line", "importer", "imported", "reason"),
    [
        ("a/api.py", "from town.b.models import Row", "town.a.api", "town.b.models", "the tables of b are private"),
        ("app.py", "from town.b import models", "town.app", "town.b.models", "the tables of b are private"),
        ("a/api.py", "from town.b import api", "town.a.api", "town.b.api", "only through its"),
        ("a/service.py", "import town.b", "town.a.service", "town.b", "only through its"),
        ("core/db.py", "from town.a import service", "town.core.db", "town.a.service", "the kernel imports no"),
        ("config.py", "from town.web import pages", "town.config", "town.web.pages", "the kernel imports no"),
        ("web/pages.py", "from town.b import service", "town.web.pages", "town.b.service", "web imports only"),
        ("web/pages.py", "from town import app", "town.web.pages", "town.app", "web imports only"),
        ("a/plugin.py", "from town import app", "town.a.plugin", "town.app", "does not import the wiring"),
        ("a/service.py", "from town.demo import people", "town.a.service", "town.demo.people", "does not import"),
        ("a/api.py", "from town.b import _cache", "town.a.api", "town.b._cache", "private to b"),
        ("a/api.py", "from town.b.service import _helper", "town.a.api", "town.b.service._helper", "private to b"),
        ("a/api.py", "from town.b import service as b\nb._helper()", "town.a.api", "town.b.service._helper", ""),
        ("a/api.py", "import town.b.service as s\ns._helper", "town.a.api", "town.b.service._helper", ""),
        ("a/api.py", "import town.b.service\ntown.b.service._helper", "town.a.api", "town.b.service._helper", ""),
        ("a/api.py", "from ..b import service as b\nb._helper", "town.a.api", "town.b.service._helper", ""),
        ("app.py", "from town.core import db\ndb._engine", "town.app", "town.core.db._engine", "private to core"),
    ],
)
def test_each_breach_breaks_the_contract(package_dir, file, line, importer, imported, reason):
    result = check(package_dir, {file: line})
    assert not result.kept
    assert [(b.importer, b.imported) for b in result.metadata["breaches"]] == [(importer, imported)]
    assert reason in result.metadata["breaches"][0].reason


def test_a_new_domain_is_covered_without_editing_the_rule(package_dir):
    result = check(
        package_dir, {"c/__init__.py": "", "c/service.py": "", "c/pages.py": "", "a/api.py": "from town.c import pages"}
    )
    assert [(b.importer, b.imported) for b in result.metadata["breaches"]] == [("town.a.api", "town.c.pages")]


def test_a_package_without_a_place_breaks_the_contract(package_dir):
    result = check(package_dir, {"misc/__init__.py": ""})
    assert [(b.importer, b.reason) for b in result.metadata["breaches"]] == [
        ("town.misc", "has no place: kernel, web, wiring or a domain")
    ]
