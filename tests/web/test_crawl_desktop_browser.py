"""Every page linked from the navigation, for every demo role, at desktop width (1440 px), with one
level of pages below them, in a real browser: no 4xx/5xx, console error, code value, English outside
the allowed terms, unpaged long table or serious/critical axe-core violation (tests/web/crawl.py)."""

import pytest

from tests.web.crawl import ROLES, assert_no_new, crawl


# Serial: the crawl runs first on its worker, on the demo as loaded, before other tests add records
# named in English or in code.
@pytest.mark.serial
@pytest.mark.browser
@pytest.mark.crawl
@pytest.mark.parametrize("role", list(ROLES))
def test_every_navigation_page_reads_and_works_desktop(live_url, browser, role):
    assert_no_new(crawl(live_url, browser, role, "desktop", deep=True))
