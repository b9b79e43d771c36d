"""数据归集: collection from department databases, APIs and watched folders into governance versions."""
