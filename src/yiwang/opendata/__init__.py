"""公共数据开放: the open data portal, open API, CKAN Action API and DCAT."""
