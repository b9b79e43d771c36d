"""The forms of the governance pages."""

from pydantic import Field

from yiwang.web.forms import FormModel


class RollbackForm(FormModel):
    """Sent by a version's 回滚到此版 button; the version's rules are those of `RollbackRequest`."""

    version: int = Field(title="版本")
    reason: str = Field("", title="回滚原因")
