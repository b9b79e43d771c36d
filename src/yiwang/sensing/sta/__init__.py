"""The SensorThings API 1.1 engine: entity sets, navigation, query options and writes over the models.

Kept free of HTTP: `sta_api.py` turns requests into calls here. The entity sets are declared in
`entities`, `$filter` is compiled in `filters`, resource paths are resolved in `paths`, and `reader` and
`writer` read and change them; `links` writes association links (`$ref`) and `scope` holds the
department scope of every write.
"""

from yiwang.sensing.sta.entities import ENTITY_TYPES, EntityType, Nav
from yiwang.sensing.sta.filters import Compiler
from yiwang.sensing.sta.paths import Resolved, parse_path, resolve
from yiwang.sensing.sta.reader import QueryOptions, Reader
from yiwang.sensing.sta.writer import Writer

__all__ = [
    "ENTITY_TYPES",
    "Compiler",
    "EntityType",
    "Nav",
    "QueryOptions",
    "Reader",
    "Resolved",
    "Writer",
    "parse_path",
    "resolve",
]
