"""One path for page forms: form models, Chinese messages for every validation error, and every page
handler on that path (none reads form fields by hand, none shows pydantic's English)."""

import inspect
import re
import typing
from datetime import date
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel, Field, field_validator
from pydantic_core import core_schema
from starlette.datastructures import FormData

from tests.conftest import page_login
from tests.web.test_route_guard import _api_routes
from yiwang.web import forms
from yiwang.web.form_messages import message_for
from yiwang.web.forms import FormModel, Password, Submission

HTML = {"accept": "text/html"}
ALLOWED_LATIN = {"JSON", "http", "https", "XLSX", "OpenAPI"}  # names of formats and protocols
# What pydantic's own English messages are made of, as a page would show them.
PYDANTIC_ENGLISH = re.compile(
    r"should|Field required|Value error|Assertion failed|Extra inputs|unable to|Expected UploadFile|"
    r"at least \d|at most \d|valid (integer|number|boolean|date|string)",
    re.IGNORECASE,
)


def _assert_chinese(message: str, where: object) -> None:
    assert re.search(r"[\u4e00-\u9fff]", message), (where, message)
    latin = set(re.findall(r"[A-Za-z]{3,}", message)) - ALLOWED_LATIN
    assert not latin, (where, message)


# ---- the mapper ----------------------------------------------------------------------------------------------

CONTEXT = {
    "min_length": 2,
    "max_length": 5,
    "ge": 1,
    "gt": 0,
    "le": 720,
    "lt": 9,
    "multiple_of": 2,
    "max_digits": 4,
    "decimal_places": 2,
    "whole_digits": 2,
    "expected_schemes": "'http', 'https'",
    "pattern": "^a$",
    "expected": "'a' or 'b'",
    "error": ValueError("bad input"),
    "reason": "There must be something after the @-sign.",
}


@pytest.mark.parametrize("error_type", get_args(core_schema.ErrorType))
def test_every_pydantic_error_type_reads_in_chinese(error_type):
    error = {"type": error_type, "loc": ("x",), "msg": "Some English message", "input": "?", "ctx": CONTEXT}
    message = message_for(error, "用途")  # type: ignore[arg-type]
    _assert_chinese(message, error_type)
    assert "用途" in message or "{" not in message


def test_messages_name_the_field_and_its_limit():
    class Sample(FormModel):
        purpose: str = Field(min_length=4, max_length=10, title="用途")
        hours: int | None = Field(None, ge=1, le=720, title="时限")
        end: date | None = Field(None, title="截止日期")
        kind: typing.Literal["a", "b"] = Field("a", title="类型")
        secret: Password = Field(max_length=8, title="密码")

    def errors(**values: str) -> dict[str, str]:
        return Sample.read(FormData(list(values.items()))).errors

    assert errors(secret="x")["purpose"] == "请填写用途"
    assert errors(purpose="短", secret="x")["purpose"] == "用途至少4个字"
    assert errors(purpose="一二三四五六七八九十一", secret="x")["purpose"] == "用途不能超过10个字"
    assert errors(purpose="用途用途", hours="两天", secret="x")["hours"] == "时限须为整数"
    assert errors(purpose="用途用途", hours="721", secret="x")["hours"] == "时限不能大于720"
    assert errors(purpose="用途用途", end="2026-02-30", secret="x")["end"].startswith("截止日期须为有效日期")
    assert errors(purpose="用途用途", kind="c", secret="x")["kind"] == "请从列表中选择类型"
    assert errors(purpose="用途\x00用途", secret="x")["purpose"] == "用途不能包含控制字符"
    assert errors(purpose="用途用途")["secret"] == "请填写密码"
    kept = Sample.read(FormData([("purpose", "  用途用途  "), ("secret", " 空格 ")])).data
    assert kept is not None and kept.purpose == "用途用途" and kept.secret == " 空格 "  # passwords as typed


def test_a_validators_own_chinese_message_is_kept_and_english_never_shown():
    class Sample(FormModel):
        code: str = Field(title="编号")

        @field_validator("code")
        @classmethod
        def _check(cls, value: str) -> str:
            if value == "cn":
                raise ValueError("编号已停用")
            if value == "en":
                raise ValueError("code is retired")
            return value

    assert Sample.read(FormData([("code", "cn")])).errors == {"code": "编号已停用"}
    assert Sample.read(FormData([("code", "en")])).errors == {"code": "编号的取值无效"}


def test_a_submission_keeps_what_was_typed_and_adopts_later_errors():
    class Sample(FormModel):
        name: str = Field(title="名称")
        tags: list[str] = Field(default_factory=list, title="标签")

    class Stored(BaseModel):
        name: str = Field(max_length=3)
        tags: list[str]

    submission = Sample.read(FormData([("name", "四个字呢"), ("tags", "a"), ("tags", "b"), ("csrf_token", "t")]))
    assert (
        submission.value("name") == "四个字呢"
        and submission.chosen("tags", "b")
        and "csrf_token" not in submission.values
    )
    assert submission.to(Stored) is None
    assert submission.errors == {"name": "名称不能超过3个字"}
    assert submission.notice == "请按提示修改：名称"


def test_a_refused_form_without_visible_fields_is_an_error_page_in_chinese():
    class Hidden(FormModel):
        version: int = Field(title="版本")

    with pytest.raises(Exception) as refused:
        Hidden.read(FormData([("version", "x")])).refuse()
    assert refused.value.status_code == 422 and refused.value.message == "版本须为整数"  # type: ignore[attr-defined]


# ---- every page form -----------------------------------------------------------------------------------------


def _all_form_models(app) -> list[type[FormModel]]:
    found, todo = [], list(FormModel.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo += model.__subclasses__()
    return [m for m in found if m.__module__.startswith("yiwang.")]


def _bad_value(info: Any, kind: str) -> Any:
    """A value the field refuses: wrong type, out of range or too long, or holding a control character."""
    types = forms._types_in(info.annotation)
    if kind == "control":
        return "正常\x00文字"
    if any(t is int for t in types):
        return "-99999999999999999999" if kind == "range" else "两天"
    if any(t is bool for t in types):
        return "也许"
    if any(t is date for t in types):
        return "2026-02-30"
    if any(get_origin(t) is typing.Literal for t in types):
        return "没有这一项"
    return "字" * 6000


def _bad_forms(model: type[BaseModel]) -> list[FormData]:
    shared = [("item-0-name", "ok"), ("item-0-length", "长"), ("f_x", "a\x01"), ("m_x", "不是文件")]
    bad = [FormData([])]
    for kind in ("type", "range", "control"):
        fields = []
        for name, info in model.model_fields.items():
            value = _bad_value(info, kind)
            fields += [(name, value), (name, value)] if forms._is_list(info) else [(name, value)]
        bad.append(FormData(fields + shared))
    return bad


def test_every_page_form_labels_its_fields_in_chinese(app):
    models = _all_form_models(app)
    assert len(models) >= 25
    for model in models:
        for name, info in model.model_fields.items():
            assert info.title and re.search(r"[\u4e00-\u9fff]", info.title), f"{model.__name__}.{name} has no label"


def test_every_page_form_refuses_bad_input_in_chinese(app):
    for model in _all_form_models(app):
        refused = 0
        for form in _bad_forms(model):
            submission = model.read(form)
            refused += bool(submission.errors)
            for field, message in submission.errors.items():
                _assert_chinese(message, f"{model.__name__}.{field}")
            if submission.errors:
                _assert_chinese(submission.notice, model.__name__)
        assert refused, f"{model.__name__} accepted every bad form"


# ---- every page handler --------------------------------------------------------------------------------------

MACHINE_PREFIXES = ("/api/", "/sta/", "/open311/")
HAND_PARSING = re.compile(r"request\.form\(|\.getlist\(|\.multi_items\(|form\.get\(|form\[")


def _page_writes(app) -> list:
    return [
        route for route in _api_routes(app) if "POST" in route.methods and not route.path.startswith(MACHINE_PREFIXES)
    ]


def _form_model_of(route) -> type[BaseModel] | None:
    def walk(dependant) -> type[BaseModel] | None:
        owner = getattr(dependant.call, "__self__", None)
        if inspect.isclass(owner) and issubclass(owner, FormModel) and dependant.call.__name__ == "submitted":
            return owner
        return next((m for sub in dependant.dependencies if (m := walk(sub)) is not None), None)

    return walk(route.dependant)


def test_no_page_handler_reads_form_fields_by_hand(app):
    offenders = []
    for route in _page_writes(app):
        if route.dependant.body_params:  # Form(...) or File(...) parameters
            offenders.append(f"{route.path}: Form/File parameters {[p.name for p in route.dependant.body_params]}")
        if HAND_PARSING.search(inspect.getsource(route.endpoint)):
            offenders.append(f"{route.path}: reads the form by hand")
    assert offenders == []


def _registry_model(path: str) -> type[BaseModel] | None:
    if path == "/brain/registries/{key}":
        from yiwang.brain import registries

        return registries.spec_for("systems").schema
    return None


def _url(path: str) -> str:
    values = {"key": "systems", "action": "supplement"}
    return re.sub(
        r"\{(\w+)\}",
        lambda m: values.get(m.group(1), "999999999" if m.group(1).endswith("id") else "ZZ-NOPE-0"),
        path,
    )


def _visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))


@pytest.mark.parametrize("username", ["admin", "zhangsan"])
def test_bad_input_to_any_page_form_never_shows_pydantic_english(client, app, username):
    csrf = page_login(client, username)
    checked = 0
    for route in _page_writes(app):
        model = _form_model_of(route) or _registry_model(route.path)
        if model is None:
            continue
        for form in _bad_forms(model):
            data: dict[str, list[str]] = {"csrf_token": [csrf]}
            for key, value in form.multi_items():
                data.setdefault(key, []).append(value)
            response = client.post(_url(route.path), data=data, headers=HTML, follow_redirects=False)
            assert response.status_code < 500, (route.path, response.text[:500])
            if response.status_code in (401, 403):
                continue
            checked += 1
            assert not PYDANTIC_ENGLISH.search(_visible_text(response.text)), (route.path, response.text)
    assert checked > 40


def test_every_page_write_with_fields_has_a_form_model(app):
    without = [
        route.path
        for route in _page_writes(app)
        if _form_model_of(route) is None
        and _registry_model(route.path) is None
        and [p for p in inspect.signature(route.endpoint).parameters.values() if p.annotation is forms.PageForm]
    ]
    assert without == []


def test_a_submission_of_a_domain_model_names_fields_by_its_labels():
    class Row(BaseModel):
        code: str = Field(min_length=2)
        on: date | None = None

    submission = forms.read_submission(
        Row, FormData([("code", "x"), ("on", "昨天")]), labels={"code": "编号", "on": "日期"}
    )
    assert submission.errors == {"code": "编号至少2个字", "on": "日期须为有效日期，如 2026-01-31"}
    assert isinstance(submission, Submission) and submission.value("on") == "昨天"
