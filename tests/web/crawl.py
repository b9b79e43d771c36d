"""The crawl behind test_crawl_*_browser.py: every page a person reaches from the navigation, for
every demo role, at desktop (1440 px) and phone (375 px) width, in a real browser (Debian's
Chromium via Playwright).

A page fails when it answers 4xx/5xx, logs a console error, shows a code value from one of the
platform's vocabularies or English words outside the allowed terms, lists more than 50 table rows
without paging, or has an axe-core (WCAG 2.1 A/AA) violation of serious or critical impact.

The crawl follows the navigation hubs (home, workbench, administration, account) and every page they
link to, at both widths; at desktop width also one level of links below them, one page per page
shape (paths differing only in ids or codes count as one) for the first role that meets it, so it
stays quick while covering the templates the roles reach.

crawl_known.txt lists the findings not fixed yet, one `page-shape kind value` a line: they are
reported but do not fail the test; anything else does. The list only shrinks.
"""

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from tests.conftest import page_login
from yiwang.catalog.schemas import STATUS_NAMES as CATALOG_STATUSES
from yiwang.cityops.lifecycle import ACTION_NAMES
from yiwang.cityops.lifecycle import STATUS_NAMES as EVENT_STATUSES
from yiwang.exchange.pages import STATUS_NAMES as EXCHANGE_STATUSES
from yiwang.onestop.schemas import STAGE_NAMES
from yiwang.org import permissions as org_perm
from yiwang.org.auth import SESSION_COOKIE

KNOWN_FILE = Path(__file__).with_name("crawl_known.txt")
KNOWN = {
    line.strip() for line in KNOWN_FILE.read_text(encoding="utf-8").splitlines() if line.strip() and line[0] != "#"
}
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# One account per demo role (README, "Demo logins").
ROLES = {
    "platform_admin": "admin",
    "security_admin": "secadmin",
    "audit_admin": "auditor",
    "leader": "leader",
    "data_steward": "dsj_steward",
    "dispatcher": "ldz_dispatcher",
    "dept_admin": "cgj_admin",
    "handler": "cgj_handler",
    "citizen": "zhangsan",
    "enterprise": "yushan_tech",
}
HUBS = ("/", "/workbench", "/admin", "/account")
WIDTHS = {"desktop": (1440, 900), "phone": (375, 812)}
# Pages a crawl must not follow: they act (log out, download) rather than show.
SKIP = re.compile(
    r"^/(logout|static/|api/|docs|redoc|openapi|sta/|open311/|ogc/|\.well-known|catalog\.(jsonld|ttl)|dataset/.+\.(jsonld|ttl))"
    r"|\.(pdf|xlsx|csv|json|zip|png|ttl|jsonld)(\?|$)|/(download|export)(\?|$|/)"
)

# Code values people must never read: the keys of the platform's vocabularies (their Chinese
# labels are what pages show). Words that are also plain terms (e.g. "close") are left out.
CODE_VALUES = (
    set(EVENT_STATUSES)
    | {k for k in ACTION_NAMES if "_" in k}
    | set(CATALOG_STATUSES)
    | set(EXCHANGE_STATUSES)
    | set(STAGE_NAMES)
    | set(org_perm.STAFF_ROLES)
    | set(org_perm.PUBLIC_ROLES)
    | {"hotline", "critical", "warning", "codmn", "nh3n", "system:cityops", "pending_bureau"}
) - {"done", "close", "decided"}

# Words in Latin letters a Chinese user is expected to read: standards, formats and product names.
ALLOWED_ENGLISH = {
    "API",
    "APIs",
    "PDF",
    "CSV",
    "JSON",
    "XLSX",
    "Excel",
    "XML",
    "HTML",
    "URL",
    "HTTP",
    "HTTPS",
    "REST",
    "AQI",
    "PM2.5",
    "PM10",
    "SO2",
    "NO2",
    "O3",
    "CO",
    "COD",
    "TOTP",
    "OpenID",
    "Connect",
    "OIDC",
    "OAuth",
    "DCAT",
    "CKAN",
    "MQTT",
    "OGC",
    "SensorThings",
    "Open311",
    "GeoReport",
    "SM2",
    "SM3",
    "SM4",
    "Ed25519",
    "AES",
    "GCM",
    "SHA-256",
    "WCAG",
    "App",
    "APP",
    "IoT",
    "GB/T",
    "GB",
    "ID",
    "IP",
    "KPI",
    "Parquet",
    "DuckDB",
    "SQL",
    "PostgreSQL",
    "SQLite",
    "MariaDB",
    "MySQL",
    "Turtle",
    "JSON-LD",
    "RDF",
    "PNG",
    "JPG",
    "JPEG",
    "OK",
    "Google",
    "Microsoft",
    "Authenticator",
    "FreeOTP",
    "yiwang",
    "OpenAPI",
    "UTC",
    "III",
    "JWKS",
    "mg/L",
    "g/m",
    "mg/m",
    # Login names are what their owners type, shown as data.
    "admin",
    "secadmin",
    "auditor",
    "leader",
    "dsj_steward",
    "hbj_steward",
    "ldz_dispatcher",
    "cgj_admin",
    "hbj_admin",
    "cgj_handler",
    "cgj_zfdd_handler",
    "spj_handler",
    "zhangsan",
    "lisi",
    "yushan_tech",
    "demo-exchange-client",
}

# Pages for technical staff (system integration, data collection, the data exchange's API) may name
# protocols, drivers and parameters as their readers know them; nowhere else.
TECHNICAL_PAGES = ("/admin/oidc", "/collect", "/exchange/services", "/exchange/calls", "/governance", "/account/apps")
TECHNICAL_TERMS = {
    "PKCE",
    "RFC",
    "back-channel",
    "front-channel",
    "kid",
    "openid",
    "profile",
    "offline_access",
    "sub",
    "phone",
    "department",
    "Oracle",
    "PyMySQL",
    "SELECT",
    "Server",
    "cron",
    "dmPython",
    "mysqlclient",
    "psycopg",
    "pyodbc",
    "python-oracledb",
    "MySQL/MariaDB",
    "data.items",
    "GET",
    "POST",
    "YAML",
    "GBK",
    "python-httpx",
    "api/exchange/message-keys",
    "getPerson",
    "persons",
    "enterprise",
    "docs/identity.md",
}

# Visible text, by text node, skipping code samples and hidden elements.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const skip = 'SCRIPT,STYLE,CODE,PRE,KBD,SAMP,NOSCRIPT,TEMPLATE';
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest(skip) || el.closest('[translate="no"]')) continue;
    if (!el.checkVisibility || !el.checkVisibility()) continue;
    out.push(node.textContent.trim());
  }
  return out;
}"""

TABLES = """() => Array.from(document.querySelectorAll('table')).map((t) => ({
  rows: t.querySelectorAll('tbody tr').length,
  paged: !!document.querySelector('.pager') || !!t.closest('[data-paged]'),
  caption: (t.caption ? t.caption.innerText : '') || (t.id || ''),
}))"""

LINKS = """() => Array.from(document.querySelectorAll('header nav a[href], main a[href]'))
  .map((a) => a.getAttribute('href'))"""

WORD = re.compile(r"[A-Za-z][A-Za-z0-9_:./+-]*[A-Za-z0-9]|[A-Za-z]")


def english_words(text: str) -> set[str]:
    words = set()
    for token in WORD.findall(text):
        token = token.rstrip(".")
        if token.startswith(("http", "www.")):
            continue
        if any(ch.isdigit() for ch in token) and token not in ALLOWED_ENGLISH:
            continue  # identifiers and codes (SJ-20261128-000123, 320581…) are data, not words
        if len(token) < 3 or token in ALLOWED_ENGLISH or token.upper() in ALLOWED_ENGLISH:
            continue
        if "/" in token and all(part.upper() in ALLOWED_ENGLISH for part in token.split("/")):
            continue  # PDF/JPG/PNG
        words.add(token)
    return words


def code_values(text: str) -> set[str]:
    # A login name that is also a role code ("leader") is the account's name where it shows.
    return {
        code for code in CODE_VALUES - ALLOWED_ENGLISH if re.search(rf"(?<![\w:-]){re.escape(code)}(?![\w:-])", text)
    }


def shape(path: str) -> str:
    """The page shape: ids, codes and query values replaced, so a crawl visits one page of each."""
    parts = urlsplit(path)
    segments = [
        "{}" if re.search(r"\d", s) or (s.isupper() and len(s) > 1) or ("-" in s and s.upper() == s) else s
        for s in parts.path.split("/")
    ]
    return "/".join(segments)


def session_cookie(base: str, username: str) -> str:
    with httpx.Client(base_url=base) as client:
        page_login(client, username)  # type: ignore[arg-type]
        return client.cookies[SESSION_COOKIE]


def check_page(page, base: str, path: str, axe_source: str, run_axe: bool) -> list[tuple[str, str]]:
    """Findings as (key, detail): the key, `shape kind value`, is what crawl_known.txt lists."""
    where = shape(path)
    problems: list[tuple[str, str]] = []
    console: list[str] = []
    failed: list[str] = []
    on_console = lambda msg: console.append(msg.text) if msg.type == "error" else None  # noqa: E731
    on_error = lambda exc: console.append(str(exc))  # noqa: E731
    on_response = lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None  # noqa: E731
    page.on("console", on_console)
    page.on("pageerror", on_error)
    page.on("response", on_response)
    try:
        response = page.goto(base + path, wait_until="load")
        if response is None or response.status >= 400:
            status = response.status if response else "?"
            return [(f"{where} http {status}", f"{path}: HTTP {status}")]
        page.wait_for_timeout(150)
        problems += [(f"{where} console {c[:60]}", f"{path}: console error: {c}") for c in console]
        problems += [(f"{where} resource {f}", f"{path}: failed resource: {f}") for f in failed]
        texts = page.evaluate(VISIBLE_TEXT)
        allowed = TECHNICAL_TERMS if path.startswith(TECHNICAL_PAGES) else set()
        for text in texts:
            for code in code_values(text) - allowed:
                problems.append((f"{where} code {code}", f"{path}: code value {code!r} in {text[:80]!r}"))
            for word in english_words(text) - code_values(text) - allowed:
                problems.append((f"{where} english {word}", f"{path}: English {word!r} in {text[:80]!r}"))
        for table in page.evaluate(TABLES):
            if table["rows"] > 50 and not table["paged"]:
                detail = f"{path}: table {table['caption']!r} lists {table['rows']} rows without paging"
                problems.append((f"{where} unpaged {table['caption']}", detail))
        if run_axe:
            # Through the debugging protocol, so the page's own Content-Security-Policy (script-src
            # 'self') stays in force for everything else it loads.
            page.evaluate(axe_source + "\n;0")
            result = page.evaluate(
                "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
                "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})).violations"
                ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                ".map(v => [v.id, v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')])"
            )
            problems += [(f"{where} axe {rule}", f"{path}: axe {rule}: {nodes}") for rule, nodes in result]
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
        page.remove_listener("response", on_response)
    return problems


def internal(base: str, current: str, href: str | None) -> str | None:
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
        return None
    url = urlsplit(urljoin(base + current, href))
    if f"{url.scheme}://{url.netloc}" != base:
        return None
    path = url.path + (f"?{url.query}" if url.query else "")
    return None if SKIP.search(path) else path


def crawl(live_url: str, browser, role: str, width: str, *, deep: bool) -> list[tuple[str, str]]:
    """Log in as the role's account, open the hubs, every page they link to and (when `deep`) one page
    of each shape those link to that no earlier crawl of this process has checked; return the findings."""
    axe_source = AXE.read_text(encoding="utf-8")
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN", timezone_id="UTC")
    host = urlsplit(live_url).hostname
    cookie = {"name": SESSION_COOKIE, "value": session_cookie(live_url, ROLES[role]), "domain": host, "path": "/"}
    context.add_cookies([cookie])
    page = context.new_page()
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    level_one: list[str] = []
    hubs: list[str] = []
    for hub in HUBS:
        response = page.goto(live_url + hub)
        if response is None or response.status >= 400 or urlsplit(page.url).path != hub:
            continue  # a hub the role may not open (the staff workbench for a citizen)
        hubs.append(hub)
        for href in page.evaluate(LINKS):
            path = internal(live_url, hub, href)
            if path and path not in level_one:
                level_one.append(path)
    children: list[str] = []
    for path in [*hubs, *level_one]:
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        problems += check_page(page, live_url, path, axe_source, run_axe=(shape(path), width) not in _checked)
        _checked.add((shape(path), width))
        if deep:
            children += [c for href in page.evaluate(LINKS) if (c := internal(live_url, path, href))]
    for path in children:
        if shape(path) in seen or (shape(path), width) in _checked:
            continue  # a deeper page's shape is checked once per process, whichever role meets it first
        seen.add(shape(path))
        _checked.add((shape(path), width))
        problems += check_page(page, live_url, path, axe_source, run_axe=True)
    context.close()
    return problems


def assert_no_new(problems: list[tuple[str, str]]) -> None:
    new = sorted({detail for key, detail in problems if key not in KNOWN})
    keys = sorted({key for key, _ in problems if key not in KNOWN})
    assert not new, f"{len(new)} problems:\n" + "\n".join(new) + "\n\nkeys:\n" + "\n".join(keys)


# (page shape, width) pairs checked by this process: axe and deeper pages run once for each.
_checked: set[tuple[str, str]] = set()
