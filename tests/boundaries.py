"""The rule for imports between the platform's packages, as one import-linter contract type.

`lint-imports` runs it (pyproject.toml names it once); `tests/test_boundaries.py` shows that it
fails on each kind of breach. Every top-level package of `yiwang` has one place:

- kernel (`core`, `config`, the root package): imports nothing else of yiwang;
- `web` (layout, shared page pieces, the home page): the kernel and itself;
- a domain: every subpackage with a `service.py` or a `models.py`, found in the import graph, so a
  new domain is covered without editing anything. It imports the kernel, `web`, `yiwang.domains`
  (the plugin type) and itself; of another domain only its public face: the `service`, `schemas`
  and `permissions` modules. Its `demo` module (demo data, run by the demo wiring) may also use the
  helpers of the `demo` package (demo people and companies);
- wiring (`app`, `bootstrap`, `cli`, `demo`, `domains`, `__main__`): assembles the platform, so it
  may import any module of a domain — plugins, routers, demo simulators, the account commands —
  except its tables (`models`).

A package that is none of these fails the contract until it is given a place here. For everyone,
a name starting with one underscore (a module, function, class or constant) is private to its
top-level package: another package neither imports it nor reads it as an attribute of an imported
module (`service._helper(...)`). The second half is read from the source with `ast`.
"""

import ast
import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grimp
from importlinter import Contract, ContractCheck, output

KERNEL = frozenset({"core", "config"})
WEB = frozenset({"web"})
WIRING = frozenset({"app", "bootstrap", "cli", "demo", "domains", "__main__"})
PUBLIC_FACE = frozenset({"service", "schemas", "permissions"})
DOMAIN_MARKERS = frozenset({"service", "models"})


@dataclass(frozen=True, order=True)
class Breach:
    importer: str
    line_number: int
    imported: str
    reason: str


def is_private(name: str) -> bool:
    """`_x` is private; dunder names (`__version__`, `__main__`) are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def domains_of(graph: grimp.ImportGraph, root: str) -> frozenset[str]:
    """The subpackages of `root` that have a service or models module."""
    return frozenset(
        module.split(".")[1]
        for module in graph.modules
        if module.count(".") == 2 and module.startswith(f"{root}.") and module.rsplit(".", 1)[1] in DOMAIN_MARKERS
    )


def _package(module: str) -> str:
    """The top-level package below the root ("" for the root itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _place(package: str, domains: frozenset[str]) -> str | None:
    if package in KERNEL or package == "":
        return "kernel"
    if package in WEB:
        return "web"
    if package in domains:
        return "domain"
    if package in WIRING:
        return "wiring"
    return None


def _import_breach(importer: str, imported: str, domains: frozenset[str]) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    source, target = _package(importer), _package(imported)
    if source == target:
        return None
    if any(is_private(part) for part in imported.split(".")[2:]):
        return f"{imported} is private to {target}"
    source_place, target_place = _place(source, domains), _place(target, domains)
    if target_place == "domain" and imported.split(".")[2:3] == ["models"]:
        return f"the tables of {target} are private to it"
    if source_place == "kernel":
        return None if target_place == "kernel" else "the kernel imports no other package"
    if source_place == "web":
        return None if target_place == "kernel" else "web imports only the kernel"
    if source_place == "domain":
        if target_place in ("kernel", "web") or target == "domains":
            return None
        if target == "demo" and importer.split(".")[2:3] == ["demo"]:
            return None
        if target_place == "domain":
            face = imported.split(".")[2:]
            if len(face) == 1 and face[0] in PUBLIC_FACE:
                return None
            return f"another domain is reached only through its {', '.join(sorted(PUBLIC_FACE))} modules"
        return "a domain does not import the wiring that assembles it"
    return None  # wiring: anything but tables and private names


def import_breaches(graph: grimp.ImportGraph, root: str) -> list[Breach]:
    """Every import in the graph that breaks the rule, and every package without a place."""
    domains = domains_of(graph, root)
    found = []
    for package in sorted({_package(m) for m in graph.modules}):
        if _place(package, domains) is None:
            found.append(Breach(f"{root}.{package}", 0, "", "has no place: kernel, web, wiring or a domain"))
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            reason = _import_breach(importer, imported, domains)
            if reason:
                for detail in graph.get_import_details(importer=importer, imported=imported) or [{"line_number": 0}]:
                    found.append(Breach(importer, detail["line_number"], imported, reason))
    return found


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def private_name_breaches(
    module: str, source: str, *, modules: frozenset[str], root: str, is_package: bool = False
) -> list[Breach]:
    """Private names of another top-level package that `module` imports or reads off a module."""
    home = _package(module)
    bound: dict[str, str] = {}  # local name -> module it stands for
    found = []

    def foreign(target: str) -> bool:
        return target.startswith(f"{root}.") and _package(target) != home

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(module, is_package, node)
            for alias in node.names:
                target = f"{origin}.{alias.name}"
                # A private module is found in the graph; here, private functions, classes and constants.
                if foreign(origin) and is_private(alias.name) and target not in modules:
                    found.append(Breach(module, node.lineno, target, f"{alias.name} is private to {_package(origin)}"))
                if target in modules:
                    bound[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = _dotted(node.value, bound)
            if owner in modules and foreign(owner):
                found.append(
                    Breach(module, node.lineno, f"{owner}.{node.attr}", f"{node.attr} is private to {_package(owner)}")
                )
    return found


def _dotted(node: ast.expr, bound: Mapping[str, str]) -> str | None:
    """The module an expression like `service` or `yiwang.org.service` names, if it names one."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, bound)
        return f"{base}.{node.attr}" if base else None
    return None


def find_breaches(graph: grimp.ImportGraph, root: str, sources: Mapping[str, tuple[str, bool]]) -> list[Breach]:
    """The whole rule: imports from the graph, private names from each module's (source, is_package)."""
    modules = frozenset(graph.modules)
    found = import_breaches(graph, root)
    for module, (source, is_package) in sorted(sources.items()):
        found.extend(private_name_breaches(module, source, modules=modules, root=root, is_package=is_package))
    return sorted(set(found))


def read_sources(root: str, modules: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """The source of each module of `root` on disk, without importing anything."""
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"package {root} not found")
    base = Path(next(iter(spec.submodule_search_locations)))
    sources = {}
    for module in modules:
        path = base.joinpath(*module.split(".")[1:])
        if path.is_dir():
            sources[module] = ((path / "__init__.py").read_text(encoding="utf-8"), True)
        else:
            sources[module] = (path.with_suffix(".py").read_text(encoding="utf-8"), False)
    return sources


class DomainBoundaries(Contract):
    """import-linter contract type: the rule of this module over the configured root package."""

    type_name = "domain_boundaries"

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        (root,) = self.session_options["root_packages"]
        breaches = find_breaches(graph, root, read_sources(root, graph.modules))
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for breach in check.metadata["breaches"]:
            where = f"{breach.importer}:{breach.line_number}" if breach.line_number else breach.importer
            target = f" -> {breach.imported}" if breach.imported else ""
            output.print_error(f"- {where}{target}: {breach.reason}", bold=False)
        output.new_line()
