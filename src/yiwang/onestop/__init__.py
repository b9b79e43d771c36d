"""一网通办: service items, 一件事 bundles, applications with parallel approval, ratings and figures."""
