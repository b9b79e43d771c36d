"""yiwang (一网): an open-source digital-government platform for a county-level city."""

__version__ = "0.1.0"
