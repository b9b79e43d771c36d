"""The forms of the sign-in, account and administration pages.

Forms that become one of the domain's input models leave the rules on values to that model."""

from typing import Annotated

from pydantic import Field

from yiwang.web.forms import CHOICE, FormModel, Password


class LoginForm(FormModel):
    username: str = Field(max_length=64, title="用户名")
    password: Password = Field(max_length=200, title="密码")
    next: str = Field("/", max_length=4000, title="登录后前往的页面")  # an application's sign-in request rides here


class PasswordForm(FormModel):
    current_password: Password = Field(max_length=200, title="当前密码")
    new_password: Password = Field(max_length=200, title="新密码")


class ApiKeyForm(FormModel):
    label: str = Field("", max_length=100, title="用途说明")


class NewUserForm(FormModel):
    kind: Annotated[str, CHOICE] = Field("staff", title="账号类型")
    username: str = Field(title="用户名")
    display_name: str = Field(title="姓名/名称")
    password: Password | None = Field(None, title="初始密码")
    department_code: Annotated[str | None, CHOICE] = Field(None, title="部门")
    roles: list[str] = Field(default_factory=list, title="角色")
    id_number: str | None = Field(None, title="身份证号码")
    phone: str | None = Field(None, title="手机号码")
    credit_code: str | None = Field(None, title="统一社会信用代码")


class UserEditForm(FormModel):
    display_name: str | None = Field(None, title="姓名/名称")
    department_code: Annotated[str | None, CHOICE] = Field(None, title="部门")
    roles: list[str] = Field(default_factory=list, title="角色")
    active: bool = Field(False, title="账号启用")


class RoleForm(FormModel):
    permissions: list[str] = Field(default_factory=list, title="权限")


class DepartmentForm(FormModel):
    parent_code: Annotated[str | None, CHOICE] = Field(None, title="上级部门")
    code: str = Field(title="代码")
    short_name: str = Field(title="简称")
    full_name: str = Field(title="全称")


class DivisionForm(FormModel):
    parent_code: Annotated[str | None, CHOICE] = Field(None, title="上级区划")
    code: str = Field(title="代码")
    name: str = Field(title="名称")
    level: Annotated[str, CHOICE] = Field(title="层级")


# ---- self-registration and password reset: each page's form also has a 获取验证码 button, which
# sends only the fields of its code form and shows the page again with everything typed kept.


class RegisterCodeForm(FormModel):
    """The 获取验证码 button of a registration or a new mobile: the number alone."""

    phone: str = Field(max_length=11, title="手机号码")


class CitizenRegisterForm(FormModel):
    display_name: str = Field(max_length=50, title="姓名")
    id_number: str = Field(max_length=18, title="身份证号码")
    phone: str = Field(max_length=11, title="手机号码")
    code: str = Field(max_length=6, title="短信验证码")
    username: str = Field(max_length=64, title="用户名")
    password: Password = Field(max_length=200, title="密码")


class EnterpriseRegisterForm(FormModel):
    enterprise_name: str = Field(max_length=100, title="企业名称")
    credit_code: str = Field(max_length=18, title="统一社会信用代码")
    legal_representative: str = Field(max_length=50, title="法定代表人姓名")
    operator_name: str = Field(max_length=50, title="经办人姓名")
    phone: str = Field(max_length=11, title="经办人手机号码")
    code: str = Field(max_length=6, title="短信验证码")
    username: str = Field(max_length=64, title="用户名")
    password: Password = Field(max_length=200, title="密码")


class ResetCodeForm(FormModel):
    username: str = Field(max_length=64, title="用户名")
    phone: str = Field(max_length=11, title="手机号码")


class ResetForm(FormModel):
    username: str = Field(max_length=64, title="用户名")
    phone: str = Field(max_length=11, title="手机号码")
    code: str = Field(max_length=6, title="短信验证码")
    new_password: Password = Field(max_length=200, title="新密码")


class PhoneChangeForm(FormModel):
    phone: str = Field(max_length=11, title="新手机号码")
    code: str = Field(max_length=6, title="短信验证码")


class OtpForm(FormModel):
    code: str = Field(min_length=6, max_length=20, title="动态口令或恢复码")
    next: str = Field("/", max_length=4000, title="登录后前往的页面")


class SecondFactorResetForm(FormModel):
    reason: str = Field(min_length=4, max_length=200, title="重置事由")


class RoleSecondFactorForm(FormModel):
    requires_second_factor: bool = Field(False, title="要求双因素认证")


class AssignRolesForm(FormModel):
    roles: list[str] = Field(default_factory=list, title="角色")
