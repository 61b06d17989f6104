"""Where a place is: shop pages speak of regions ("other EU countries", "countries in Asia"), shoppers
of places ("Italy", "Tokyo"). A question naming a place is searched and answered with its region
beside it, so "how much is delivery to Italy?" finds the EU price rather than the UK one."""

from __future__ import annotations

import re
from functools import cache

# Each region as the pages are likely to name it, and the countries and big cities in it. Ireland,
# Norway, Switzerland and Iceland are left to their own names: shops price them apart.
_REGIONS = {
    "an EU country in Europe": (
        "Austria, Vienna, Belgium, Brussels, Bulgaria, Sofia, Croatia, Zagreb, Cyprus, Nicosia, Czechia, "
        "Czech Republic, Prague, Denmark, Copenhagen, Estonia, Tallinn, Finland, Helsinki, France, Paris, Lyon, "
        "Marseille, Germany, Berlin, Munich, Hamburg, Frankfurt, Greece, Athens, Hungary, Budapest, Italy, Rome, "
        "Milan, Naples, Latvia, Riga, Lithuania, Vilnius, Luxembourg, Malta, Valletta, Netherlands, Holland, "
        "Amsterdam, Rotterdam, Poland, Warsaw, Krakow, Portugal, Lisbon, Porto, Romania, Bucharest, Slovakia, "
        "Bratislava, Slovenia, Ljubljana, Spain, Madrid, Barcelona, Seville, Sweden, Stockholm"
    ),
    "a country in Asia": (
        "Japan, Tokyo, Osaka, China, Beijing, Shanghai, Hong Kong, Taiwan, Taipei, India, Delhi, Mumbai, Bangalore, "
        "Singapore, South Korea, Korea, Seoul, Thailand, Bangkok, Vietnam, Hanoi, Malaysia, Kuala Lumpur, "
        "Indonesia, Jakarta, Bali, Philippines, Manila, Pakistan, Bangladesh, Sri Lanka, Nepal"
    ),
    "a country in the Middle East": (
        "United Arab Emirates, UAE, Dubai, Abu Dhabi, Saudi Arabia, Riyadh, Qatar, Doha, Kuwait, Bahrain, Oman, "
        "Israel, Tel Aviv, Jordan, Lebanon, Iran, Iraq, Turkey, Istanbul"
    ),
    "a country in Africa": (
        "South Africa, Cape Town, Johannesburg, Nigeria, Lagos, Kenya, Nairobi, Egypt, Cairo, Morocco, Ghana, "
        "Ethiopia, Tanzania"
    ),
    "a country in South America": (
        "Brazil, Rio de Janeiro, Sao Paulo, Argentina, Buenos Aires, Chile, Santiago, Colombia, Bogota, Peru, Lima, "
        "Venezuela, Ecuador, Uruguay, Paraguay, Bolivia"
    ),
}

# The same regions as Chinese pages name them, and their places in Chinese.
_REGIONS_ZH = {
    "欧盟国家": (
        "奥地利、维也纳、比利时、布鲁塞尔、保加利亚、克罗地亚、塞浦路斯、捷克、布拉格、丹麦、哥本哈根、爱沙尼亚、芬兰、"
        "赫尔辛基、法国、巴黎、里昂、马赛、德国、柏林、慕尼黑、汉堡、法兰克福、希腊、雅典、匈牙利、布达佩斯、意大利、罗马、"
        "米兰、那不勒斯、拉脱维亚、立陶宛、卢森堡、马耳他、荷兰、阿姆斯特丹、鹿特丹、波兰、华沙、葡萄牙、里斯本、罗马尼亚、"
        "斯洛伐克、斯洛文尼亚、西班牙、马德里、巴塞罗那、瑞典、斯德哥尔摩"
    ),
    "亚洲国家": (
        "日本、东京、大阪、中国、北京、上海、广州、深圳、香港、台湾、台北、印度、新德里、孟买、新加坡、韩国、首尔、泰国、曼谷、"
        "越南、马来西亚、吉隆坡、印度尼西亚、印尼、菲律宾、巴基斯坦、孟加拉国、斯里兰卡、尼泊尔"
    ),
    "中东国家": "阿联酋、阿拉伯联合酋长国、迪拜、阿布扎比、沙特阿拉伯、沙特、卡塔尔、科威特、巴林、阿曼、以色列、约旦、黎巴嫩、伊朗、伊拉克、土耳其",
    "非洲国家": "南非、尼日利亚、肯尼亚、埃及、摩洛哥、加纳、埃塞俄比亚、坦桑尼亚",
    "南美洲国家": "巴西、阿根廷、智利、哥伦比亚、秘鲁、委内瑞拉、厄瓜多尔、乌拉圭、巴拉圭、玻利维亚",
}


@cache
def _places() -> tuple[re.Pattern[str], dict[str, str]]:
    region_of = {name.lower(): region for region, names in _REGIONS.items() for name in names.split(", ")}
    chinese = {name: region for region, names in _REGIONS_ZH.items() for name in names.split("、")}
    # Longest first, so "South Korea" is read whole rather than as "Korea"; Chinese has no spaces
    # to bound a name by.
    english = "|".join(re.escape(name) for name in sorted(region_of, key=len, reverse=True))
    han = "|".join(re.escape(name) for name in sorted(chinese, key=len, reverse=True))
    pattern = re.compile(rf"(\b(?:{english})\b|{han})", re.IGNORECASE)
    return pattern, {**region_of, **chinese}


def with_regions(text: str) -> str:
    """The text with each place it names followed by its region, once per region.

    >>> with_regions("how much is delivery to italy?")
    'how much is delivery to italy (an EU country in Europe)?'
    >>> with_regions("do you ship to Dubai or Tokyo"), with_regions("do you ship to Ireland?")
    ('do you ship to Dubai (a country in the Middle East) or Tokyo (a country in Asia)', 'do you ship to Ireland?')
    >>> with_regions("寄到德国要交关税吗"), with_regions("能寄到中国吗")
    ('寄到德国（欧盟国家）要交关税吗', '能寄到中国（亚洲国家）吗')
    """
    pattern, region_of = _places()
    said: set[str] = set()

    def add_region(match: re.Match[str]) -> str:
        region = region_of[match.group(1).lower()]
        if region in said:
            return match.group(0)
        said.add(region)
        return f"{match.group(0)}（{region}）" if region in _REGIONS_ZH else f"{match.group(0)} ({region})"

    return pattern.sub(add_region, text)
