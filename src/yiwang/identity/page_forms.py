"""The forms of the client administration pages; the rules on values are those of ClientCreate/Update."""

from typing import Annotated

from pydantic import Field
from starlette.datastructures import FormData

from yiwang.web.forms import CHOICE, FormModel


def protocol_form(form: FormModel) -> FormData:
    """A form carrying protocol parameters through a page, handed on to Authlib as it came."""
    return FormData([(k, str(v)) for k, v in form.model_dump().items() if v is not None])


class ConsentForm(FormModel):
    """The consent page's answer, with the authorization request it answers."""

    decision: Annotated[str, CHOICE] = Field(max_length=10, title="授权决定")
    response_type: str = Field(max_length=20, title="响应类型")
    client_id: str = Field(max_length=64, title="应用标识")
    redirect_uri: str = Field(max_length=500, title="回调地址")
    scope: str = Field(max_length=500, title="授权范围")
    state: str | None = Field(None, max_length=4000, title="状态值")
    nonce: str | None = Field(None, max_length=255, title="随机数")
    code_challenge: str | None = Field(None, max_length=128, title="授权码质询")
    code_challenge_method: str | None = Field(None, max_length=10, title="授权码质询方法")
    max_age: str | None = Field(None, max_length=12, title="登录时效")
    prompt: str | None = Field(None, max_length=50, title="提示")
    yw_login_after: str | None = Field(None, max_length=12, title="重新登录时间")


class LogoutForm(FormModel):
    """The logout confirmation, with the application's end-session request."""

    id_token_hint: str | None = Field(None, max_length=8000, title="身份令牌")
    post_logout_redirect_uri: str | None = Field(None, max_length=500, title="退出后返回地址")
    state: str | None = Field(None, max_length=4000, title="状态值")
    client_id: str | None = Field(None, max_length=64, title="应用标识")


class ClientForm(FormModel):
    name: str = Field(max_length=100, title="应用名称")
    client_id: str | None = Field(None, max_length=64, title="客户端标识")
    redirect_uris: str = Field(max_length=5000, title="回调地址")
    post_logout_redirect_uris: str = Field("", max_length=5000, title="退出后返回地址")
    public: bool = Field(False, title="公开客户端")
    scopes: list[str] = Field(default_factory=list, title="授权范围")
    department_code: Annotated[str | None, CHOICE] = Field(None, title="所属部门")
    id_token_alg: Annotated[str, CHOICE] = Field("RS256", title="身份令牌签名算法")
    first_party: bool = Field(False, title="市属工作人员应用")
    may_introspect: bool = Field(False, title="资源服务")
    backchannel_logout_uri: str | None = Field(None, max_length=500, title="后端登出地址")
    frontchannel_logout_uri: str | None = Field(None, max_length=500, title="前端登出地址")
    active: bool = Field(False, title="启用")

    def uri_lists(self) -> dict[str, list[str]]:
        """The address fields, one address per line."""
        return {
            "redirect_uris": [line.strip() for line in self.redirect_uris.splitlines() if line.strip()],
            "post_logout_redirect_uris": [
                line.strip() for line in self.post_logout_redirect_uris.splitlines() if line.strip()
            ],
        }
