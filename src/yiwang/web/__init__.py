"""Web shell: base layout, shared page components, static assets, home and workbench pages."""
