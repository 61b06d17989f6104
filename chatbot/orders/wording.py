"""How a verified order's facts are worded for the shopper, in English and in Simplified Chinese:
the status and return words (never the codes), days and amounts. Product names, carriers,
tracking numbers and links stay as they are."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

# Each fact's label, by language ("" is English).
LABELS = {
    "": {"number": "Order number", "status": "Status", "placed": "Placed on", "item": "Item", "total": "Order total",
         "carrier": "Carrier", "tracking_number": "Tracking number", "tracking_link": "Tracking link",
         "shipped": "Shipped on", "delivered": "Delivered on", "estimated": "Estimated delivery", "return": "Return",
         "refund": "Refund"},
    "zh": {"number": "订单号", "status": "状态", "placed": "下单日期", "item": "商品", "total": "订单总额",
           "carrier": "承运商", "tracking_number": "追踪编号", "tracking_link": "追踪链接", "shipped": "发货日期",
           "delivered": "送达日期", "estimated": "预计送达", "return": "退货", "refund": "退款"},
}
_STATUS_WORDS = {
    "placed": "Placed, payment not yet confirmed",
    "paid": "Paid, waiting to be packed",
    "packed": "Packed, waiting for the carrier to collect it",
    "shipped": "Shipped, on its way",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "delayed": "Delayed with the carrier",
    "lost": "Lost in transit",
    "cancelled": "Cancelled",
    "return_requested": "Return requested",
    "refunded": "Refunded",
}
_RETURN_WORDS = {
    "requested": "requested, waiting for the parcel to reach us",
    "received": "received at our warehouse",
    "rejected": "not accepted",
}
_CHINESE_STATUS_WORDS = {
    "placed": "已下单，付款尚未确认",
    "paid": "已付款，等待打包",
    "packed": "已打包，等待承运商取件",
    "shipped": "已发货，正在运送途中",
    "out_for_delivery": "派送中",
    "delivered": "已送达",
    "delayed": "承运商运送延误",
    "lost": "运输途中丢失",
    "cancelled": "已取消",
    "return_requested": "已申请退货",
    "refunded": "已退款",
}
_CHINESE_RETURN_WORDS = {
    "requested": "已申请，等待包裹寄回我们这里",
    "received": "我们的仓库已收到",
    "rejected": "未被接受",
}
STATUS_WORDS = {"": _STATUS_WORDS, "zh": _CHINESE_STATUS_WORDS}
RETURN_WORDS = {"": _RETURN_WORDS, "zh": _CHINESE_RETURN_WORDS}
# Statuses whose estimated delivery date is still a promise worth showing.
IN_TRANSIT = ("shipped", "out_for_delivery", "delayed")
_WEEKDAYS = "一二三四五六日"


def money(amount: Decimal, currency: str) -> str:
    """An amount as the shop writes it.

    >>> money(Decimal("12.5"), "GBP"), money(Decimal("12.5"), "EUR")
    ('£12.50', '12.50 EUR')
    """
    return f"£{amount:.2f}" if currency == "GBP" else f"{amount:.2f} {currency}"


def english_day(moment: date) -> str:
    """A day as the shop writes it in English.

    >>> english_day(date(2026, 11, 5))
    'Thursday 5 November 2026'
    """
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def chinese_day(moment: date) -> str:
    """A day as Chinese writes it.

    >>> chinese_day(date(2026, 11, 5))
    '2026年11月5日（星期四）'
    """
    return f"{moment.year}年{moment.month}月{moment.day}日（星期{_WEEKDAYS[moment.weekday()]}）"


def day(moment: date, language: str = "") -> str:
    """`english_day` or `chinese_day`, by language."""
    return chinese_day(moment) if language == "zh" else english_day(moment)


def item_text(quantity: int, name: str, price: str, language: str = "") -> str:
    """An order line.

    >>> item_text(2, "Linen napkins", "£8.00"), item_text(2, "Linen napkins", "£8.00", "zh")
    ('2 x Linen napkins at £8.00 each', 'Linen napkins × 2，单价 £8.00')
    """
    return f"{name} × {quantity}，单价 {price}" if language == "zh" else f"{quantity} x {name} at {price} each"


def return_text(status: str, started: date, language: str = "") -> str:
    """Where a return stands, and when it was started."""
    words = RETURN_WORDS[language][status]
    return f"{words}（{chinese_day(started)}申请）" if language == "zh" else f"{words} (started on {english_day(started)})"


def refund_text(amount: str, completed: date | None, issued: date, language: str = "") -> str:
    """A refund's amount, completed or still pending."""
    if language == "zh":
        return f"{amount}，已于{chinese_day(completed)}完成" if completed else f"{amount}，处理中（{chinese_day(issued)}发起）"
    return f"{amount}, completed on {english_day(completed)}" if completed else f"{amount}, pending (issued on {english_day(issued)})"
