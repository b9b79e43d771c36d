"""Demo people and companies (演示数据): names, mobile numbers, resident ID numbers and credit codes.

Every value is fictional but valid (GB 11643 and GB 32100 check characters), so the platform's own
checks accept it, and registered in Changshu (division 320581). Each generator draws from the `rng`
it is given, so a seeded demo comes out the same every time.
"""

import random
from datetime import date

from yiwang.core.identifiers import credit_code_check_char, id_number_check_char

CITY_CODE = "320581"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉健俊帆文婷雪琳晨浩宇欣怡子轩梓涵一诺"
PLACES = ("虞山", "琴川", "尚湖", "沙家浜", "古里", "梅李", "海虞", "碧溪", "辛庄", "支塘", "董浜", "莫城")
TRADES = ("科技", "餐饮", "纺织", "服饰", "电子", "机械", "贸易", "物流", "文化", "食品")


def person_name(rng: random.Random, *, given: int | None = None) -> str:
    """A surname and `given` given-name characters (one or two, drawn, when not said)."""
    surname = rng.choice(SURNAMES)
    return surname + "".join(rng.choice(GIVEN_NAMES) for _ in range(given or rng.choice([1, 2])))


def company_name(rng: random.Random) -> str:
    """常熟 + a place + a trade; the caller adds the legal form (有限公司 …) and the demo label."""
    return f"常熟{rng.choice(PLACES)}{rng.choice(TRADES)}"


def mobile(rng: random.Random) -> str:
    """A mainland mobile number (13x)."""
    return f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"


def demo_id_number(birth: date | str, sequence: int) -> str:
    """A resident ID number registered in Changshu: born on `birth` (a date or YYYYMMDD), `sequence`
    0–999 (odd for men, even for women), and its check character."""
    day = birth.strftime("%Y%m%d") if isinstance(birth, date) else birth
    first17 = f"{CITY_CODE}{day}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def random_id_number(rng: random.Random) -> str:
    """The ID number of someone born between 1989 and 2005."""
    birth = f"{rng.randint(1989, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    return demo_id_number(birth, rng.randint(0, 999))


def demo_credit_code(body: str, *, registrar: str = "91") -> str:
    """A unified social credit code registered in Changshu: `registrar` ('91' a company, '92' an
    individual business), the division, the 9-character `body`, and its check character."""
    first17 = f"{registrar}{CITY_CODE}{body}"
    return first17 + credit_code_check_char(first17)
