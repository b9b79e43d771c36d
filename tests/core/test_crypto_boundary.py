"""Every hash, cipher, MAC and signature goes through yiwang.core.crypto, so the installation's profile
(intl or gm) decides them all: no other module imports an algorithm library."""

import ast
from pathlib import Path

import yiwang

PACKAGE = Path(yiwang.__file__).parent
CRYPTO = PACKAGE / "core" / "crypto"
ALGORITHM_MODULES = ("hashlib", "hmac", "cryptography", "tongsuopy", "nacl", "Crypto", "Cryptodome", "gmssl")
# The transparency log's verifier is written from the RFC and C2SP texts alone and shares no code with
# the platform on purpose (docs/certs.md): whoever checks the log must not have to trust our crypto layer.
INDEPENDENT = {PACKAGE / "certs" / "verifier.py"}


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def algorithm_imports(root: Path) -> list[str]:
    breaches = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(CRYPTO) or path in INDEPENDENT:
            continue
        for line, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.split(".")[0] in ALGORITHM_MODULES:
                breaches.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return breaches


def test_only_the_crypto_service_imports_algorithms() -> None:
    assert algorithm_imports(PACKAGE) == []


def test_the_check_finds_a_direct_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("import hashlib\nfrom cryptography.hazmat.primitives import hashes\n")
    (package / "b.py").write_text("import secrets\nfrom . import a\n")
    assert algorithm_imports(package) == [
        "pkg/a.py:1 imports hashlib",
        "pkg/a.py:2 imports cryptography.hazmat.primitives",
    ]
