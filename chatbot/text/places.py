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


@cache
def _places() -> tuple[re.Pattern[str], dict[str, str]]:
    region_of = {name.lower(): region for region, names in _REGIONS.items() for name in names.split(", ")}
    # Longest first, so "South Korea" is read whole rather than as "Korea".
    alternatives = sorted(region_of, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(name) for name in alternatives) + r")\b", re.IGNORECASE)
    return pattern, region_of


def with_regions(text: str) -> str:
    """The text with each place it names followed by its region, once per region.

    >>> with_regions("how much is delivery to italy?")
    'how much is delivery to italy (an EU country in Europe)?'
    >>> with_regions("do you ship to Dubai or Tokyo"), with_regions("do you ship to Ireland?")
    ('do you ship to Dubai (a country in the Middle East) or Tokyo (a country in Asia)', 'do you ship to Ireland?')
    """
    pattern, region_of = _places()
    said: set[str] = set()

    def add_region(match: re.Match[str]) -> str:
        region = region_of[match.group(1).lower()]
        if region in said:
            return match.group(0)
        said.add(region)
        return f"{match.group(0)} ({region})"

    return pattern.sub(add_region, text)
