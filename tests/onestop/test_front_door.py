"""城市服务总入口: a citizen's or enterprise's home page, finding a service by what a person types
(typos forgiven), and marking messages read."""

from tests.conftest import csrf_from, page_login
from yiwang.onestop.finder import similarity

HTML = {"accept": "text/html"}


def test_similarity_forgives_a_typo_and_prefers_whole_names():
    assert similarity("营业执照", "营业执照核发") == 1.0
    assert similarity("营业执造", "营业执照核发") >= 0.6  # 营业、业执 match, 执造 does not
    assert similarity("出生一件事", "新生儿出生") < similarity("新生儿出生", "新生儿出生")
    assert similarity("社保", "城乡居民医保参保登记") < 0.45 < similarity("医保参保", "城乡居民医保参保登记")
    assert similarity("", "任何") == 0.0


def test_a_citizen_gets_the_front_door_not_the_staff_home(client):
    page_login(client, "zhangsan")
    home = client.get("/", headers=HTML)
    assert home.status_code == 200
    text = home.text
    for heading in ("找服务", "我的办件", "未读消息", "“一件事”与热门服务", "按人生大事", "按部门"):
        assert heading in text, heading
    for staff_word in ("系统管理", "工作台", "城市智脑", "一网通用", "RFC", "API 密钥"):
        assert staff_word not in text, staff_word
    assert 'href="/onestop/bundles/' in text  # the bundles lead the popular services


def test_an_enterprise_sees_enterprise_topics(client):
    page_login(client, "yushan_tech")
    text = client.get("/", headers=HTML).text
    assert "按企业经营" in text and "开办企业" in text and "新生儿出生" not in text


def test_staff_keep_the_areas_home(client):
    page_login(client, "cgj_handler")
    text = client.get("/", headers=HTML).text
    assert "一网统管" in text and "找服务" not in text


def test_finding_services_with_a_typo_lists_items_and_bundles(anon):
    found = anon.get("/onestop/find", params={"q": "新生儿出声"}, headers=HTML)
    assert found.status_code == 200
    assert "新生儿出生" in found.text and "一件事" in found.text
    licence = anon.get("/onestop/find", params={"q": "营业执造"}, headers=HTML).text
    assert "营业执照" in licence
    nothing = anon.get("/onestop/find", params={"q": "火星移民"}, headers=HTML).text
    assert "没有找到与“火星移民”相关的服务" in nothing
    assert anon.get("/onestop/find", params={"q": "x" * 51}, headers=HTML).status_code == 422


def test_a_message_is_marked_read_from_the_home_page(client):
    csrf = page_login(client, "zhangsan")
    notes = client.get("/api/onestop/notifications").json()
    unread = [n for n in notes if not n["read_at"]]
    if not unread:
        return  # the demo gave this citizen no unread message on this database
    first = unread[0]
    done = client.post(
        f"/onestop/notifications/{first['id']}/read", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert done.status_code == 303
    after = {n["id"]: n for n in client.get("/api/onestop/notifications").json()}
    assert after[first["id"]]["read_at"] is not None
    forged = client.post(f"/onestop/notifications/{first['id']}/read", data={"csrf_token": "x"}, headers=HTML)
    assert forged.status_code == 403
    home = client.get("/", headers=HTML)
    assert csrf_from(home.text)
