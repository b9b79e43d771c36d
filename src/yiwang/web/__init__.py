"""Web shell: base layout, shared page components, static assets, the home page."""
