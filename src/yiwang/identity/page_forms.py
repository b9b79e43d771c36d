"""The forms of the client administration pages; the rules on values are those of ClientCreate/Update."""

from typing import Annotated

from pydantic import Field

from yiwang.web.forms import CHOICE, FormModel


class ClientForm(FormModel):
    name: str = Field(max_length=100, title="应用名称")
    client_id: str | None = Field(None, max_length=64, title="客户端标识")
    redirect_uris: str = Field(max_length=5000, title="回调地址")
    post_logout_redirect_uris: str = Field("", max_length=5000, title="退出后返回地址")
    public: bool = Field(False, title="公开客户端")
    scopes: list[str] = Field(default_factory=list, title="授权范围")
    department_code: Annotated[str | None, CHOICE] = Field(None, title="所属部门")
    id_token_alg: Annotated[str, CHOICE] = Field("RS256", title="ID 令牌签名算法")
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
