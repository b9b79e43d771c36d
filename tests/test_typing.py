"""mypy is strict for what other domains use: each domain's service, schemas and permissions, and the
modules a public face re-exports from (a service split by responsibility keeps `service.py` as its
face). This test keeps pyproject.toml's list of strict modules complete when a face is split again."""

import importlib
import importlib.util
import pkgutil
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

import yiwang
from tests.boundaries import PUBLIC_FACE

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _strict_patterns() -> list[str]:
    overrides = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["mypy"]["overrides"]
    return [pattern for o in overrides if o.get("disallow_untyped_defs") for pattern in o["module"]]


def _faces() -> list[str]:
    packages = [p.name for p in pkgutil.iter_modules(yiwang.__path__, "yiwang.") if p.ispkg]
    return [f"{p}.{face}" for p in packages for face in sorted(PUBLIC_FACE) if importlib.util.find_spec(f"{p}.{face}")]


def test_the_names_public_faces_export_are_defined_in_strictly_typed_modules():
    patterns = _strict_patterns()
    loose = []
    for face_name in _faces():
        face = importlib.import_module(face_name)
        exported = getattr(face, "__all__", None) or [
            name for name, value in vars(face).items() if getattr(value, "__module__", None) == face_name
        ]
        for name in exported:
            home = getattr(getattr(face, name), "__module__", None) or face_name
            if home.startswith("yiwang.") and not any(fnmatchcase(home, p) for p in patterns):
                loose.append(f"{face_name}.{name} (defined in {home})")
    assert not loose, "add these modules to the strict list in pyproject.toml:\n" + "\n".join(loose)
