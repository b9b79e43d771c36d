"""Work that cannot get stuck: an event waiting on a department with nobody to handle it shows on the
supervision page, and the dispatcher can move it to a department that can."""

from tests.cityops.conftest import act, report
from tests.conftest import page_login

HTML = {"accept": "text/html"}


def test_an_event_with_no_handler_shows_on_supervision_and_can_be_reassigned(client):
    number = report(client, "zhangsan", category_code="CG03", description="有人在楼顶私自搭建彩钢房")["number"]
    act(client, "cgj_handler", number, "send_back", note="属于住建局职责")
    moved = act(client, "ldz_dispatcher", number, "dispatch", department_code="ZJJ", note="改派住建局").json()
    assert moved["status"] == "dispatched" and moved["department_code"] == "ZJJ"  # the demo has no ZJJ handler
    page_login(client, "ldz_dispatcher")
    page = client.get("/cityops/supervision", headers=HTML).text
    unattended = page.split("无人可办")[1].split("临期预警")[0]
    assert number in unattended and "住建局" in unattended
    again = act(client, "ldz_dispatcher", number, "dispatch", department_code="CGJ", note="住建局无人签收，改派城管局")
    assert again.status_code == 200, again.text
    assert again.json()["department_code"] == "CGJ"
    page = client.get("/cityops/supervision", headers=HTML).text
    assert number not in page.split("无人可办")[1].split("临期预警")[0]
    assert act(client, "cgj_handler", number, "sign").status_code == 200


def test_supervision_is_linked_only_for_those_who_may_open_it(client):
    for username, linked in (("ldz_dispatcher", True), ("cgj_handler", False), ("leader", False)):
        page_login(client, username)
        listing = client.get("/cityops", headers=HTML)
        if listing.status_code == 200:
            assert ('href="/cityops/supervision"' in listing.text) is linked, username
        assert ('href="/cityops/supervision"' in client.get("/", headers=HTML).text) is linked, username
