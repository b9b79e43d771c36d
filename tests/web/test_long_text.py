"""A long text is never cut: the browser is told the limit but does not enforce it (a pasted text
would be cut without a word), the server refuses an over-long one beside its field and the page
gives back every character typed."""

import html
import re

from tests.conftest import page_login

HTML = {"accept": "text/html"}


def test_an_over_long_report_is_refused_and_kept_whole(client):
    csrf = page_login(client, "zhangsan")
    form = client.get("/cityops/report", headers=HTML).text
    area = re.search(r'<textarea name="description"[^>]*>', form)
    assert area and 'data-limit="4000"' in area[0] and "maxlength" not in area[0]
    assert "最多 4000 字" in form
    text = "井盖松动，" * 900  # 4,500 characters
    refused = client.post(
        "/cityops/report", data={"csrf_token": csrf, "description": text, "address": "虞山街道"}, headers=HTML
    )
    assert refused.status_code == 422
    kept = re.search(r'<textarea name="description"[^>]*>(.*?)</textarea>', refused.text, re.S)
    assert kept and html.unescape(kept[1]) == text
    assert 'aria-invalid="true"' in kept[0] and "field-error" in refused.text
