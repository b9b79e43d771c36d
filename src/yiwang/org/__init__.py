"""Organisation and identity (统一身份认证): divisions, departments, accounts, roles, login, tokens."""
