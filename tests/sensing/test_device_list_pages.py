"""The device list pages and searches on the server (30 a page); the map keeps every device."""

import re

from tests.conftest import page_login

HTML = {"accept": "text/html"}


def test_the_device_list_pages_and_searches(client):
    page_login(client, "hbj_steward")
    first = client.get("/sensing", headers=HTML)
    assert first.status_code == 200
    rows = re.findall(r'<tr><td><a href="/sensing/things/\d+">', first.text)
    total = int(re.search(r"设备列表（(\d+)", first.text)[1])
    assert len(rows) == min(total, 30)
    if total > 30:
        assert 'aria-label="分页"' in first.text
        second = client.get("/sensing", params={"page": 2}, headers=HTML).text
        assert (
            re.findall(r'href="/sensing/things/(\d+)"', second)[:1]
            != re.findall(r'href="/sensing/things/(\d+)"', first.text)[:1]
        )
    name = re.search(r'<a href="/sensing/things/\d+">([^<]+)</a>', first.text)[1]
    found = client.get("/sensing", params={"q": name}, headers=HTML).text
    assert name in found
    none = client.get("/sensing", params={"q": "不存在的设备名"}, headers=HTML).text
    assert "没有名称含“不存在的设备名”的设备" in none
    assert client.get("/sensing", params={"page": 0}, headers=HTML).status_code == 422
