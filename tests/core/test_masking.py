from yiwang.core.masking import mask_address, mask_bank_card, mask_email, mask_id_number, mask_name, mask_phone


def test_masks_follow_the_conventions():
    assert mask_name("张三丰") == "张**"
    assert mask_id_number("32058119900307123X") == "320581********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_bank_card("6222021234567891234") == "622202*********1234"
    assert mask_address("常熟市虞山街道书院街88号") == "常熟市虞山街道****"
    assert mask_email("zhang@example.cn") == "z***@example.cn"


def test_masks_keep_empty_values_and_hide_short_ones():
    assert mask_phone(None) is None
    assert mask_id_number("") == ""
    assert mask_phone("1234") == "****"
