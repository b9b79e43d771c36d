"""统一身份认证 for the city's other systems: the OpenID Connect provider, its clients, consent, keys,
and the applications signed in through each browser session (单点登录)."""
