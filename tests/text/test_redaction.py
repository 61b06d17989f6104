"""PII redaction: each kind in several formats, the Luhn check, what must stay, mixed text, idempotence, records."""

from __future__ import annotations

import pytest

from chatbot.text.redaction import find_pii, has_card_number, redact, redact_record

EMAILS = [
    ("Write to jo@example.com today.", "Write to [email] today."),
    ("jane.doe+orders@mail.example.co.uk", "[email]"),
    ("Sent from SUPPORT_2@eu.shop-example.org.", "Sent from [email]."),
]

CARDS = [
    ("Card 4111 1111 1111 1111 please", "Card [card] please"),
    ("4539-1488-0343-6467", "[card]"),
    ("my card is 5555555555554444.", "my card is [card]."),
    ("Amex 3782 822463 10005 or 378282246310005", "Amex [card] or [card]"),
    ("13 digits: 4222222222222", "13 digits: [card]"),
    ("card:6011-1111-1111-1117, thanks", "card:[card], thanks"),
    # The expiry and CVV typed straight after it do not hide the card.
    ("4111 1111 1111 1111 12/27 123", "[card] 12/27 123"),
    ("12 4111 1111 1111 1111", "12 [card]"),
]

PHONES = [
    ("Call 07700 900123", "Call [phone]"),
    ("+44 7700 900123", "[phone]"),
    ("on 0113 496 0123.", "on [phone]."),
    ("(020) 7946 0018", "[phone]"),
    ("+44 (0)20 7946 0018", "[phone]"),
    ("07700900123", "[phone]"),
    ("mob 07700-900-123; tel.+44 7700 900123", "mob [phone]; tel.[phone]"),
    ("+1 (555) 010-2345", "[phone]"),
    ("(555) 010-2345", "[phone]"),
    ("555-010-2345 or 555.010.2345", "[phone] or [phone]"),
    ("call 555 010 2345 now", "call [phone] now"),
    ("1-800-555-0199", "[phone]"),
    ("+33 1 23 45 67 89", "[phone]"),
    ("01.23.45.67.89", "[phone]"),
]

ADDRESSES = [
    ("I live at 12 High Street.", "I live at [address]."),
    ("Flat 3, 12 High Street, Leeds", "[address], Leeds"),
    ("flat 2 5 Acacia Avenue", "[address]"),
    ("221B Baker Street", "[address]"),
    ("Deliver to 12a Church Rd. Thanks", "Deliver to [address]. Thanks"),
    ("742 Evergreen Terrace, Springfield", "[address], Springfield"),
    ("1600 Pennsylvania Avenue NW, Washington", "[address], Washington"),
    ("Apt 4B, 350 Fifth Ave", "[address]"),
    ("Unit 7, 42-44 Market Place", "[address]"),
    ("10 Downing St", "[address]"),
    ("8 Royal Crescent Mews", "[address]"),
]

POSTCODES = [
    ("Leeds LS1 4AP", "Leeds [postcode]"),
    ("London SW1A 1AA.", "London [postcode]."),
    ("Manchester M1 1AE", "Manchester [postcode]"),
    ("EC1A 1BB, NW1 6XE and LS14AP", "[postcode], [postcode] and [postcode]"),
    ("San Francisco, CA 94103", "San Francisco, CA [postcode]"),
    ("New York, NY 10118-0110", "New York, NY [postcode]"),
]

NOT_PII = [
    "Standard delivery costs £3.95.",
    "Free delivery over £1,000.",
    "Order by 25/12/2026 for Christmas.",
    "Dispatched on 2026-11-24.",
    "Collect after 18:00, or 10:30-18:00 on Saturday, 9am-5pm weekdays.",
    "Your order 10452 has shipped.",
    "Ticket #A-88 is closed.",
    "Returns are accepted within 30 days.",
    "Call us on 123, press 2.",
    "Room 101, version 2.0.1, 3 items for £10.",
    "Prices 0.99 1.49 2.99 3.49 4.99 each.",
    "Budget £1 000 000 000 or $10 000 000 000.",
    "Ref 1234567890 and ref 12345678901.",
    "on 2026-11-24 10452 shipped",
    "Buy 2 Get 1 Free, open 7 Days A Week.",
    "PS5 1TB or MP3 4GB bundles.",
    "Reference 1234 5678 9012 3456 and 1234567890123456.",
    "Email us via the form.",
    "",
]


@pytest.mark.parametrize(("text", "expected"), EMAILS)
def test_emails_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(("text", "expected"), CARDS)
def test_card_numbers_passing_luhn_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "number", ["4111 1111 1111 1112", "4539-1488-0343-6468", "1234567890123456", "0123 4567 8901 2345"]
)
def test_card_shaped_numbers_failing_luhn_stay(number: str) -> None:
    assert redact(f"Reference {number}.") == f"Reference {number}."
    assert not has_card_number(number)


@pytest.mark.parametrize(("text", "expected"), PHONES)
def test_phone_numbers_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(("text", "expected"), ADDRESSES)
def test_street_addresses_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(("text", "expected"), POSTCODES)
def test_postcodes_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", NOT_PII)
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert redact(text) == text
    assert find_pii(text) == []


def test_mixed_sentence() -> None:
    text = (
        "Hi, I'm at Flat 3, 12 High Street, Leeds LS1 4AP, jo.bloggs+shop@example.co.uk or 07700 900123. "
        "Order 10452 (£3.95) was charged to 4111 1111 1111 1111 on 25/12/2026 at 18:00; refund within 30 days?"
    )
    assert redact(text) == (
        "Hi, I'm at [address], Leeds [postcode], [email] or [phone]. "
        "Order 10452 (£3.95) was charged to [card] on 25/12/2026 at 18:00; refund within 30 days?"
    )


def test_find_pii_lists_kind_and_text_in_order_of_appearance() -> None:
    text = "Ring +1 (555) 010-2345, card 4539-1488-0343-6467, jo@example.com, 1 Main St, Austin, TX 78701."
    assert find_pii(text) == [
        ("phone", "+1 (555) 010-2345"),
        ("card", "4539-1488-0343-6467"),
        ("email", "jo@example.com"),
        ("address", "1 Main St"),
        ("postcode", "78701"),
    ]


def test_a_card_is_not_also_read_as_a_phone() -> None:
    assert find_pii("4111111111111111 4111111111111111") == [("card", "4111111111111111")] * 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paid with 4111 1111 1111 1111", True),
        ("4539-1488-0343-6467", True),
        ("4111 1111 1111 1112", False),
        ("Call 07700 900123", False),
        ("order 10452", False),
        # passes Luhn, but no payment card begins with 1
        ("modify purchase 113542617735902", False),
    ],
)
def test_has_card_number(text: str, expected: bool) -> None:
    assert has_card_number(text) is expected


@pytest.mark.parametrize("text", [text for text, _ in EMAILS + CARDS + PHONES + ADDRESSES + POSTCODES] + NOT_PII)
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_redact_record_redacts_every_string_value_and_keeps_keys_and_other_values() -> None:
    row = {
        "id": 10452,
        "jo@example.com": "seen",
        "question": "Send it to 12 High Street, LS1 4AP",
        "turns": [
            {"role": "user", "text": "My card 4111 1111 1111 1111 was charged twice"},
            ("assistant", "Call us on 0113 496 0123", 0.9),
        ],
        "escalate": False,
        "reason": None,
    }
    assert redact_record(row) == {
        "id": 10452,
        "jo@example.com": "seen",
        "question": "Send it to [address], [postcode]",
        "turns": [
            {"role": "user", "text": "My card [card] was charged twice"},
            ("assistant", "Call us on [phone]", 0.9),
        ],
        "escalate": False,
        "reason": None,
    }
    assert row["turns"][0] == {"role": "user", "text": "My card 4111 1111 1111 1111 was charged twice"}


@pytest.mark.parametrize(("value", "expected"), [("jo@example.com", "[email]"), (3.95, 3.95), (None, None), ([], [])])
def test_redact_record_on_a_bare_value(value: object, expected: object) -> None:
    assert redact_record(value) == expected


def test_logged_messages_are_redacted(caplog) -> None:
    import logging

    from chatbot.text.redaction import RedactingFilter

    logger = logging.getLogger("chatbot.test_redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("Question from %s: my card is %s", "jo@example.com", "4111 1111 1111 1111")
    assert caplog.records[-1].getMessage() == "Question from [email]: my card is [card]"


def test_chinese_personal_data_is_redacted() -> None:
    from chatbot.text.redaction import cn_id_checks

    text = "我叫王芳，手机 138 1234 5678，备用+86 13912345678，身份证号11010519491231002X，订单10452，付了¥299。"
    assert redact(text) == "我叫王芳，手机 [phone]，备用[phone]，身份证号[id_number]，订单10452，付了¥299。"
    # 18 digits whose last is not their check digit: not a 身份证 number (and no card), so left alone
    assert not cn_id_checks("110105194912310021") and "110105194912310021" in redact("编号110105194912310021")


@pytest.mark.parametrize(("text", "expected"), [
    ("我住在北京市朝阳区建国路88号SOHO现代城5号楼1203室，电话13812345678", "我住在[address]，电话[phone]"),
    ("地址：广东省深圳市南山区科技园科苑路15号", "地址：[address]"),
    ("我的地址是杭州市西湖区文三路478号，麻烦尽快", "我的地址是[address]，麻烦尽快"),
    # No road with its 号: not an address.
    ("收货后30天内可以退货，请走到路口左转", "收货后30天内可以退货，请走到路口左转"),
    ("我在第3号楼下面等快递，订单MM48213", "我在第3号楼下面等快递，订单MM48213"),
])
def test_a_mainland_address_is_redacted_down_to_its_room(text: str, expected: str) -> None:
    assert redact(text) == expected
