"""The forms of the brain's registry pages; a registry's row form is its input model (see `registries`)."""

from pydantic import Field

from yiwang.web.forms import FormModel


class DeleteRowForm(FormModel):
    code: str = Field(min_length=1, max_length=40, title="编号")
