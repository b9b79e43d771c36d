"""向上对接: peers, signed durable messages, catalog sync and cross-level applications."""
