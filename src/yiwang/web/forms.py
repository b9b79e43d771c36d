"""Page forms: read once, validated into a Pydantic model, refused with Chinese messages beside the fields.

Reading a request is asynchronous and belongs on the event loop; what is done with it (database,
files, spreadsheets) is blocking and belongs in the thread pool. So the form is read and validated by a
small async dependency and handed to the handler, which is a plain `def` that FastAPI runs in the thread
pool.

A page form is a `FormModel`: each field's `title` is its Chinese label. `Model.submitted` is the
dependency; it gives the handler a `Submission` holding what the person typed, the validated model (or
None) and one Chinese message per field. On a refusal the handler renders its page again with the
submission; the `fields.html` macros put each message beside its field and keep what was typed.
Input is never shortened to fit: too long is an error like any other.
"""

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Annotated, Any, ClassVar, Generic, Literal, NoReturn, Self, TypeVar, Union, get_args, get_origin

from fastapi import Depends, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as ReceivedFile

from yiwang.core.errors import ValidationFailed
from yiwang.web.csrf import FORM_FIELD
from yiwang.web.form_messages import TEMPLATES, messages_by_field

M = TypeVar("M", bound=BaseModel)
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")
Location = tuple[int | str, ...]


async def read_form(request: Request) -> FormData:
    """The submitted form (cached on the request, so the CSRF check and the handler share one parse)."""
    return await request.form()


PageForm = Annotated[FormData, Depends(read_form)]

# Text taken exactly as typed (a password may begin or end with a space).
Password = Annotated[str, StringConstraints(strip_whitespace=False)]


class Choice:
    """Marks a text field the person picks from a list, so a missing one reads 请选择, not 请填写."""


CHOICE = Choice()


def upload_bytes(upload: ReceivedFile, *, limit: int | None = None) -> bytes:
    """An uploaded file's content, read from its spooled temporary file (blocking: call from a def).

    With a limit, at most limit + 1 bytes are read, enough for the caller to tell the file is too big."""
    upload.file.seek(0)
    return upload.file.read() if limit is None else upload.file.read(limit + 1)


# ---- what a field is ----------------------------------------------------------------------------------------


def _types_in(annotation: Any) -> list[Any]:
    """The types an annotation allows, through Optional, unions and Annotated."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _types_in(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [t for arg in get_args(annotation) for t in _types_in(arg)]
    return [annotation]


def _is_list(field_info: FieldInfo) -> bool:
    return any(get_origin(t) in (list, set, tuple) for t in _types_in(field_info.annotation))


def _is_upload(field_info: FieldInfo) -> bool:
    return any(isinstance(t, type) and issubclass(t, ReceivedFile) for t in _types_in(field_info.annotation))


def _chooses(model: type[BaseModel], name: str) -> bool:
    """Whether the person picks the field's value (a select, checkboxes, a file) rather than types it."""
    info = model.model_fields.get(name)
    if info is None:
        return False
    if CHOICE in info.metadata or _is_list(info) or _is_upload(info):
        return True
    return any(
        get_origin(t) is Literal or t is bool or (isinstance(t, type) and issubclass(t, Enum))
        for t in _types_in(info.annotation)
    )


def _filled(value: object) -> bool:
    if isinstance(value, ReceivedFile):
        return bool(value.filename)
    return isinstance(value, str) and bool(value.strip())


def submitted_values(model: type[BaseModel], form: FormData) -> dict[str, Any]:
    """Each of the model's fields as submitted: lists for list fields, uploads for file fields.

    Blank text and a file input left empty count as not filled in, so a field's default applies and a
    required field is reported missing."""
    found: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if _is_list(info):
            if key in form:
                found[name] = form.getlist(key)
            continue
        value = form.get(key)
        if _is_upload(info) != isinstance(value, ReceivedFile) or not _filled(value):
            continue
        found[name] = value
    return found


def _has_control_characters(value: object) -> bool:
    if isinstance(value, str):
        return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)
    if isinstance(value, list | tuple):
        return any(_has_control_characters(v) for v in value)
    if isinstance(value, dict):
        return any(_has_control_characters(k) or _has_control_characters(v) for k, v in value.items())
    return False


# ---- the form model ------------------------------------------------------------------------------------------


class FormModel(BaseModel):
    """A page form. Give every field a Chinese `title`: it names the field in messages."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # Messages that replace the generic ones for a field, whatever is wrong with it.
    field_messages: ClassVar[dict[str, str]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        # NUL cannot be stored by PostgreSQL, and no person types the others into a form.
        if _has_control_characters(value):
            raise PydanticCustomError("control_characters", "不能包含控制字符")
        return value

    @classmethod
    def form_input(cls, form: FormData) -> dict[str, Any]:
        """What the model validates, taken from the submitted form (override for rows or dynamic fields)."""
        return submitted_values(cls, form)

    @classmethod
    def field_of(cls, loc: Location) -> str:
        """The form field an error location points at (override when names differ from the model's)."""
        return str(loc[0]) if loc else ""

    @classmethod
    def label_of(cls, name: str) -> str:
        info = cls.model_fields.get(name)
        return info.title if info is not None and info.title else name

    @classmethod
    def read(cls, form: FormData) -> "Submission[Self]":
        """The submission of this form: validated, or with a Chinese message for each wrong field."""
        submission = Submission(cls, _typed(form), given=cls.form_input(form))
        try:
            submission.data = cls.model_validate(submission.given)
        except ValidationError as exc:
            submission.add_errors(exc, field_of=cls.field_of)
        return submission

    @classmethod
    async def submitted(cls, form: PageForm) -> "Submission[Self]":
        """Dependency: the submitted form validated into this model."""
        return cls.read(form)


def _typed(form: FormData) -> dict[str, list[str]]:
    """What the person typed, field by field, to show again (files cannot be shown again)."""
    return {
        key: [v for v in form.getlist(key) if isinstance(v, str)]
        for key in dict.fromkeys(form.keys())
        if key != FORM_FIELD
    }


# ---- the submission ------------------------------------------------------------------------------------------


@dataclass
class Submission(Generic[M]):
    """A submitted page form: what was typed, the validated model (None if refused), messages by field.

    `labels` names fields the model does not title (a registry's columns, a service-defined form)."""

    model: type[M]
    values: dict[str, list[str]]
    data: M | None = None
    errors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    given: dict[str, Any] = field(default_factory=dict)  # what the model was given to validate

    def value(self, name: str, default: Any = "") -> Any:
        """The text typed into a field, or `default` when the form had no such field."""
        typed = self.values.get(name)
        return typed[0] if typed else default

    def chosen(self, name: str, option: object) -> bool:
        """Whether a checkbox or option with this value was ticked."""
        return str(option) in self.values.get(name, [])

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def label(self, name: str) -> str:
        model = self.model
        if name in self.labels:
            return self.labels[name]
        return model.label_of(name) if issubclass(model, FormModel) else name

    def add_error(self, name: str, message: str, *, label: str | None = None) -> None:
        """A message for a field found wrong after validation (a service's refusal about one field)."""
        self.errors.setdefault(name, message)
        if label is not None:
            self.labels[name] = label

    def add_errors(
        self,
        exc: ValidationError,
        *,
        field_of: Callable[[Location], str] | None = None,
        label_of: Callable[[Location], str] | None = None,
    ) -> None:
        """Messages for the errors of this form's model or of the input built from it.

        Locations name the form's fields unless `field_of` maps them, and the field's label names it in
        the message unless `label_of` names the part of it at fault (a row, a line)."""
        self._adopt(exc.errors(include_url=False), field_of=field_of, label_of=label_of)

    def _adopt(
        self,
        errors: list[ErrorDetails],
        *,
        field_of: Callable[[Location], str] | None = None,
        label_of: Callable[[Location], str] | None = None,
    ) -> None:
        model = self.model
        messages = messages_by_field(
            errors,
            field_of=field_of or FormModel.field_of,
            label_of=(lambda name, loc: label_of(loc)) if label_of else (lambda name, loc: self.label(name)),
            chosen=partial(_chooses, model),
            overrides=model.field_messages if issubclass(model, FormModel) else {},
        )
        for name, message in messages.items():
            self.add_error(name, message)

    def build(
        self,
        make: Callable[[M], T],
        *,
        field_of: Callable[[Location], str] | None = None,
        label_of: Callable[[Location], str] | None = None,
    ) -> T | None:
        """The input `make` builds from the valid form; its validation errors become the form's messages."""
        if self.data is None or self.errors:
            return None
        try:
            return make(self.data)
        except ValidationError as exc:
            self.add_errors(exc, field_of=field_of, label_of=label_of)
            return None

    def to(self, schema: type[S], **changes: Any) -> S | None:
        """The domain's input model made from the valid form, or None with messages.

        The form's fields are the model's fields of the same name; `changes` sets others. When the form
        itself was refused, the model's rules still check the fields the form accepted, so a single
        refusal names every wrong field."""
        if self.data is None:
            self._check_accepted_fields(schema, changes)
            return None
        values = {k: v for k, v in self.data.model_dump().items() if k in schema.model_fields}
        return self.build(lambda data: schema.model_validate(values | changes))

    def _check_accepted_fields(self, schema: type[BaseModel], changes: dict[str, Any]) -> None:
        refused = set(self.errors)
        try:
            schema.model_validate({k: v for k, v in self.given.items() if k in schema.model_fields} | changes)
        except ValidationError as exc:
            rest = [e for e in exc.errors(include_url=False) if e["loc"] and str(e["loc"][0]) not in refused]
            self._adopt(rest)

    @property
    def notice(self) -> str:
        """The line at the top of the page: what is wrong with the form as a whole, and which fields to fix."""
        parts = [self.errors[""]] if "" in self.errors else []
        named = [self.label(name) for name in self.errors if name]
        if named:
            parts.append("请按提示修改：" + "、".join(named))
        return "；".join(parts)

    def refuse(self) -> NoReturn:
        """Refuse a form with no field to show a message beside (hidden inputs and buttons only): its
        messages become the error page, as for any other refused request."""
        raise ValidationFailed("；".join(self.errors.values()) or None)


def read_submission(model: type[M], form: FormData, *, labels: Mapping[str, str]) -> Submission[M]:
    """A form validated straight into a domain's input model, naming its fields with `labels`."""
    submission = Submission(model, _typed(form), labels=dict(labels))
    values = submitted_values(model, form)
    for name, value in values.items():
        if _has_control_characters(value):
            submission.add_error(name, TEMPLATES["control_characters"].format(label=submission.label(name)))
    if submission.errors:
        return submission
    try:
        submission.data = model.model_validate(values)
    except ValidationError as exc:
        submission.add_errors(exc)
    return submission


# ---- forms shared by several domains' pages ---------------------------------------------------------------


class UploadForm(FormModel):
    """A form that sends one file."""

    file: UploadFile = Field(title="文件")


class RevealForm(FormModel):
    """The stated reason for reading personal data in clear; it is written to the audit chain."""

    reason: str = Field(min_length=2, max_length=200, title="查看事由")
