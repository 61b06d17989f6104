"""Where a place is: shop pages speak of regions ("other EU countries", "countries in Asia"), shoppers
of places ("Italy", "Tokyo"). A question naming a place is searched and answered with its region
beside it, so "how much is delivery to Italy?" finds the EU price rather than the UK one."""

from __future__ import annotations

import re
from collections.abc import Sequence
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


# Where a text speaks of, for telling a sentence about elsewhere: the region of each place above,
# the regions as pages name them, and the countries shops price on their own. Acronyms are matched
# as written ("US", not "us").
_SCOPE_NAMES = {
    "eu": "EU, European Union, Europe, European, 欧盟, 欧洲",
    "asia": "Asia, Asian, 亚洲",
    "middle east": "Middle East, 中东",
    "africa": "Africa, African, 非洲",
    "south america": "South America, 南美, 南美洲",
    "uk": "UK, United Kingdom, Britain, Great Britain, England, Scotland, Wales, Northern Ireland, London, 英国, 英格兰, 苏格兰, 威尔士, 北爱尔兰, 伦敦",
    "northern ireland": "Northern Ireland, Belfast, 北爱尔兰",
    "uk islands": "Scottish Highlands, Highlands and Islands, Highlands, Isle of Skye, Skye, Orkney, Shetland, Hebrides, "
                  "Isle of Man, Isles of Scilly, Scilly, Channel Islands, Jersey, Guernsey, 苏格兰高地, 马恩岛, 锡利群岛, 海峡群岛",
    "ireland": "Ireland, Republic of Ireland, Dublin, Cork, 爱尔兰, 都柏林",
    "norway": "Norway, Oslo, 挪威",
    "switzerland": "Switzerland, Zurich, Geneva, 瑞士",
    "iceland": "Iceland, Reykjavik, 冰岛",
    "us": "US, USA, United States, America, New York, California, Texas, Florida, Ohio, Chicago, 美国",
    "canada": "Canada, Toronto, Vancouver, Montreal, 加拿大",
    "australia": "Australia, Sydney, Melbourne, 澳大利亚, 澳洲",
    "new zealand": "New Zealand, NZ, Auckland, 新西兰",
    "mexico": "Mexico, 墨西哥",
    "russia": "Russia, Moscow, 俄罗斯",
}
# Places inside a larger one that pages often treat apart ("the Scottish Highlands and Islands
# take 4 to 7 days"): there, what the pages say of the larger one may not hold.
_INSIDE = {"northern ireland": "uk", "uk islands": "uk"}
# A country's provinces and states, with their big cities: pages list them side by side ("Manitoba,
# Saskatchewan and Alberta: 4 to 7 days"), and a question on Calgary is not answered by British
# Columbia's line. The country's own rules still hold there.
_PARTS = {
    "canada": {
        "alberta": "Alberta, Calgary, Edmonton, Red Deer", "british columbia": "British Columbia, Vancouver, Kelowna",
        "saskatchewan": "Saskatchewan, Saskatoon, Regina", "manitoba": "Manitoba, Winnipeg",
        "ontario": "Ontario, Toronto, Ottawa, Mississauga", "quebec": "Quebec, Québec, Montreal, Montréal, Quebec City, Laval",
        "new brunswick": "New Brunswick, Moncton, Fredericton, Saint John", "nova scotia": "Nova Scotia, Halifax",
        "prince edward island": "Prince Edward Island, PEI, Charlottetown", "newfoundland and labrador": "Newfoundland and Labrador, Newfoundland, Labrador, St. John's",
        "yukon": "Yukon, Whitehorse", "northwest territories": "Northwest Territories, Yellowknife", "nunavut": "Nunavut, Iqaluit",
    },
    "us": {
        "alaska": "Alaska, Anchorage, Fairbanks, Juneau", "hawaii": "Hawaii, Honolulu, Maui, Oahu", "puerto rico": "Puerto Rico, San Juan",
        "california": "California, Los Angeles, San Francisco, San Diego, San Jose", "texas": "Texas, Houston, Dallas, Austin, San Antonio",
        "florida": "Florida, Miami, Orlando, Tampa", "new york": "New York, NYC, Brooklyn", "washington state": "Washington State, Seattle",
        "colorado": "Colorado, Denver, Boulder", "illinois": "Illinois, Chicago", "maine": "Maine", "oregon": "Oregon",
    },
    "australia": {
        "new south wales": "New South Wales, NSW, Sydney", "victoria": "Melbourne", "queensland": "Queensland, Brisbane",
        "western australia": "Western Australia, Perth", "south australia": "South Australia, Adelaide", "tasmania": "Tasmania, Hobart",
        "northern territory": "Northern Territory, Darwin",
    },
}
_WORDS_TOO = frozenset({"us"})  # a place's name in capitals that in lower case is a word
_PART_OF = {part: country for country, parts in _PARTS.items() for part in parts}
_REGION_SCOPES = {"an EU country in Europe": "eu", "a country in Asia": "asia", "a country in the Middle East": "middle east",
                  "a country in Africa": "africa", "a country in South America": "south america",
                  "欧盟国家": "eu", "亚洲国家": "asia", "中东国家": "middle east", "非洲国家": "africa", "南美洲国家": "south america"}


@cache
def _scopes() -> tuple[re.Pattern[str], dict[str, frozenset[str]]]:
    _, region_of = _places()
    scopes_of: dict[str, set[str]] = {}
    for name, region in region_of.items():
        scopes_of.setdefault(name, set()).add(_REGION_SCOPES[region])
    named = {scope: names.split(", ") for scope, names in _SCOPE_NAMES.items()}
    for parts in _PARTS.values():
        named |= {part: names.split(", ") for part, names in parts.items()}
    for scope, names in named.items():
        outer = _INSIDE.get(scope, _PART_OF.get(scope, scope))
        for name in names:
            scopes_of.setdefault(name if name.lower() in _WORDS_TOO else name.lower(), set()).update({scope, outer})
    ordered = sorted(scopes_of, key=len, reverse=True)
    # Names in any case ("uk", "eu"), but "US" as written, since "us" is a word; Chinese unbounded.
    alternatives = [re.escape(n) if n.lower() in _WORDS_TOO else f"(?i:{re.escape(n)})" for n in ordered]
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])|" + "|".join(re.escape(n) for n in ordered if re.search(r"[\u4e00-\u9fff]", n)))
    return pattern, {name: frozenset(scopes) for name, scopes in scopes_of.items()}


def scopes(text: str) -> frozenset[str]:
    """The places and regions a text speaks of ("" for none), each as its region or country.

    >>> sorted(scopes("how much is delivery to Paris?")), sorted(scopes("Standard UK delivery costs £3.95."))
    (['eu'], ['uk'])
    >>> sorted(scopes("Deliveries to Northern Ireland take 4 to 7 days")), sorted(scopes("tell us, thanks"))
    (['northern ireland', 'uk'], [])
    >>> sorted(scopes("寄到德国要多久")), sorted(scopes("other EU countries £9.95; the United States £19.95"))
    (['eu'], ['eu', 'us'])
    >>> sorted(scopes("my rights under uk law")), sorted(scopes("tell us"))
    (['uk'], [])
    """
    pattern, scopes_of = _scopes()
    found: set[str] = set()
    for match in pattern.finditer(text):
        name = match.group(0)
        found |= scopes_of.get(name, scopes_of.get(name.lower(), frozenset()))
    return frozenset(found)


# A sentence that limits where something holds ("only for UK addresses", "outside the UK") speaks
# to every other place too.
# (In Chinese only a limit on where: "无需再支付" is none.)
_LIMITS = re.compile(r"\b(?:only|outside|except|excluding|not|cannot|no)\b|n['’]t\b|只|仅|以外|之外|除了?"
                     r"|(?:不|无法)(?:能|可以)?(?:配送|寄|送|发|运|提供|适用|支持|接受)", re.IGNORECASE)


def fits_places(sentences: Sequence[str], asked: str) -> list[bool]:
    """For each sentence, whether it may answer a question on the places `asked` names. Left out:
    a sentence that speaks only of other places and does not limit where what it says holds
    ("Standard UK delivery takes 2 to 4 days" answers nothing about France, "Exchanges are only
    available for UK addresses" does), unless every sentence would be; then the rule for a larger
    place when the question asks about a place inside it that another sentence speaks of ("... the
    Scottish Highlands and Islands ... take 4 to 7 days" answers for the Isle of Skye).

    >>> uk, eu, only_uk = ("Standard UK delivery takes 2 to 4 business days.", "Other EU countries take 4 to 8 business days.",
    ...                    "Exchanges are only available for UK delivery addresses.")
    >>> fits_places([uk, eu, only_uk, "Returns are free."], "how long to france")
    [False, True, True, True]
    >>> fits_places([uk], "how long to france"), fits_places([uk, eu], "how long to leeds")
    ([True], [True, True])
    >>> islands = "The Scottish Highlands and Islands take 4 to 7 days."
    >>> fits_places([uk, islands], "how long to the isle of skye"), fits_places([uk], "how long to the isle of skye")
    ([False, True], [True])
    >>> prairies, bc, canada = ("Manitoba and Alberta: 4 to 7 days.", "British Columbia: 5 to 8 days.", "Canada orders ship free.")
    >>> fits_places([prairies, bc, canada], "how long to Calgary?")
    [True, False, True]
    >>> fits_places(["寄往爱尔兰的订单在结账时收取关税，收货时无需再支付。", "寄往美国的订单以未完税方式寄送。"], "寄美国要交关税吗")
    [False, True]
    """
    wanted = scopes(asked)
    if not wanted:
        return [True] * len(sentences)
    said = [scopes(sentence) for sentence in sentences]
    unlimited = [not _LIMITS.search(sentence) for sentence in sentences]
    kept = [not (places and free and not places & wanted) for places, free in zip(said, unlimited)]
    if not any(kept):
        kept = [True] * len(sentences)
    # a province asked about and named: another province's line does not answer ("British Columbia:
    # 5 to 8 days" for Calgary), the country's own rules still do
    asked_parts = {scope for scope in wanted if scope in _PART_OF}
    if asked_parts and any(places & asked_parts for places, keep in zip(said, kept) if keep):
        countries = {_PART_OF[part] for part in asked_parts}
        kept = [keep and not (places & _PART_OF.keys() and not places & asked_parts and free
                              and places <= _PART_OF.keys() | countries)
                for keep, places, free in zip(kept, said, unlimited)]
    inner = {scope for scope in wanted if scope in _INSIDE}
    if inner and any(places & inner for places, keep in zip(said, kept) if keep):
        outer = {_INSIDE[scope] for scope in inner}
        kept = [keep and not (places and free and not places & inner and places <= outer)
                for keep, places, free in zip(kept, said, unlimited)]
    return kept
