"""统一标准地图 and CIM: boundaries, grid cells (网格), buildings, basemaps and OGC API – Features."""
