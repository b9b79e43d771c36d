"""GB/T 28181-2016/2022 device and channel codes (国标编码, Annex D, rule A with the network digit).

A code is 20 decimal digits in five parts:

- digits 1–8, centre code (中心编码): the monitoring centre's place, the GB/T 2260 division code
  (6 digits) and a grassroots unit (2 digits, 00 when it is not a grassroots unit);
- digits 9–10, industry (行业编码): 00–03 public security access, 04–07 traffic, 08 city
  management, 09 health and environment …;
- digits 11–13, type (类型编码): 111–130 front-end main devices (DVR, encoder, NVR …), 131–199
  front-end peripherals (131 camera, 132 network camera …), 200–299 platform devices, 300–399
  centre users, 400–499 terminal users;
- digit 14, network (网络标识): 0–4 monitoring private network, 5 public security network, 6
  government network, 7 internet, 8 social resource access network; 9 is reserved;
- digits 15–20, serial (序号): the device's or user's number.
"""

import re
from dataclasses import dataclass

from yiwang.core.errors import ValidationFailed

_CODE = re.compile(r"^[0-9]{20}$")
# GB/T 2260 province-level prefixes (the first two digits of a division code).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65, 71, 81, 82}
)
INDUSTRIES = {
    "00": "社会治安路面接入",
    "01": "社会治安社区接入",
    "02": "社会治安内部接入",
    "03": "社会治安其他接入",
    "04": "交通路面接入",
    "05": "交通卡口接入",
    "06": "交通内部接入",
    "07": "交通其他接入",
    "08": "城市管理接入",
    "09": "卫生环保接入",
    "10": "商检海关接入",
    "11": "教育部门接入",
}
TYPES = {
    111: "DVR",
    112: "视频服务器",
    113: "编码器",
    114: "解码器",
    115: "视频切换矩阵",
    116: "音频切换矩阵",
    117: "报警控制器",
    118: "网络视频录像机（NVR）",
    131: "摄像机",
    132: "网络摄像机",
    133: "显示器",
    134: "报警输入设备",
    135: "报警输出设备",
    136: "语音输入设备",
    137: "语音输出设备",
    138: "移动传输设备",
    139: "其他外围设备",
    200: "中心信令控制服务器",
    215: "业务分组",
    216: "虚拟组织",
}
NETWORKS = {
    **dict.fromkeys("01234", "监控报警专网"),
    "5": "公安信息网",
    "6": "政务网",
    "7": "互联网",
    "8": "社会资源接入网",
}
CAMERA_TYPES = frozenset({131, 132})


@dataclass(frozen=True)
class DeviceCode:
    """A decoded 20-digit GB/T 28181 code."""

    code: str
    centre: str  # 8 digits
    division: str  # the centre's GB/T 2260 division code (6 digits)
    industry: str  # 2 digits
    type: int  # 3 digits
    network: str  # 1 digit
    serial: str  # 6 digits

    @property
    def industry_name(self) -> str:
        return INDUSTRIES.get(self.industry, "其他行业接入")

    @property
    def type_name(self) -> str:
        if self.type in TYPES:
            return TYPES[self.type]
        if 111 <= self.type <= 130:
            return "前端主设备"
        if 131 <= self.type <= 199:
            return "前端外围设备"
        if 200 <= self.type <= 299:
            return "平台设备"
        return "用户"

    @property
    def network_name(self) -> str:
        return NETWORKS[self.network]

    @property
    def is_camera(self) -> bool:
        return self.type in CAMERA_TYPES

    @property
    def is_front_end(self) -> bool:
        return 111 <= self.type <= 199


def decode(code: str, *, label: str = "国标编码") -> DeviceCode:
    """Decode and validate a 20-digit code; a ValidationFailed names the part that is wrong."""
    if not _CODE.match(code or ""):
        raise ValidationFailed(f"{label}须为20位数字", code="invalid_gb28181_code", details={"code": code})
    centre, industry, kind, network, serial = code[:8], code[8:10], int(code[10:13]), code[13], code[14:]
    if int(centre[:2]) not in _PROVINCES:
        raise ValidationFailed(f"{label}的中心编码不是有效的行政区划代码", code="invalid_gb28181_code")
    if not 111 <= kind <= 999:
        raise ValidationFailed(f"{label}的类型编码无效（111–999）", code="invalid_gb28181_code")
    if network not in NETWORKS:
        raise ValidationFailed(f"{label}的网络标识无效（9 为预留）", code="invalid_gb28181_code")
    return DeviceCode(code, centre, centre[:6], industry, kind, network, serial)
