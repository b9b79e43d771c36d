"""Download names never break out of the Content-Disposition header, and Chinese names survive."""

from urllib.parse import unquote

from yiwang.core.downloads import attachment, content_disposition


def test_a_plain_name_is_sent_as_is():
    assert content_disposition("catalog.xlsx") == 'attachment; filename="catalog.xlsx"'


def test_quotes_separators_and_line_breaks_stay_inside_the_header():
    value = content_disposition('a"b;c\r\nSet-Cookie: x=1/../d.csv')
    assert "\r" not in value and "\n" not in value
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert set(fallback) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    encoded = value.split("filename*=UTF-8''", 1)[1]
    assert all(ch not in encoded for ch in ' ";\\/')
    assert unquote(encoded) == 'a"b;c__Set-Cookie: x=1_.._d.csv'


def test_a_chinese_name_has_an_ascii_fallback_and_the_exact_utf8_name():
    value = content_disposition("城市智脑-2026年.pdf")
    assert value.startswith('attachment; filename="')
    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == "城市智脑-2026年.pdf"
    assert content_disposition("") == 'attachment; filename="download"'


def test_the_response_carries_the_content_and_its_type():
    response = attachment(b"a,b\n", filename="q.csv", media_type="text/csv; charset=utf-8")
    assert response.body == b"a,b\n"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="q.csv"'
