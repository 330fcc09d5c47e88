"""Romanian rules that CIUS-RO (ANAF e-Factura) adds to EN 16931: addresses and CUI/CIF numbers.

Pure: no I/O.

Addresses: for a Romanian party the country subdivision (BT-39/BT-54) must be an ISO 3166-2:RO
code (BR-RO-110/111), and in Bucharest (RO-B) the city (BT-37/BT-52) must be the sector code
SECTOR1..SECTOR6 (BR-RO-100/101). Clients send free text, so the county and the sector are derived
from the 6-digit postal code when they are not given.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# ISO 3166-2:RO county code (after "RO-") by the first two digits of the postal code.
# Bucharest (01-06) is handled separately: the prefix there is the sector, not the county.
COUNTY_BY_POSTAL_PREFIX: dict[str, str] = {
    "07": "IF", "08": "GR",
    "10": "PH", "11": "AG", "12": "BZ", "13": "DB", "14": "TR",
    "20": "DJ", "21": "GJ", "22": "MH", "23": "OT", "24": "VL",
    "30": "TM", "31": "AR", "32": "CS", "33": "HD",
    "40": "CJ", "41": "BH", "42": "BN", "43": "MM", "44": "SM", "45": "SJ",
    "50": "BV", "51": "AB", "52": "CV", "53": "HR", "54": "MS", "55": "SB",
    "60": "BC", "61": "NT", "62": "VN",
    "70": "IS", "71": "BT", "72": "SV", "73": "VS",
    "80": "GL", "81": "BR", "82": "TL",
    "90": "CT", "91": "CL", "92": "IL",
}  # fmt: skip

BUCHAREST = "B"
BUCHAREST_SECTORS = range(1, 7)

# County names as people write them, folded (see _fold), so "Cluj", "Județul Iași" and
# "Bistrita-Nasaud" are understood in stateOrProvince.
COUNTY_BY_NAME: dict[str, str] = {
    "alba": "AB", "arad": "AR", "arges": "AG", "bacau": "BC", "bihor": "BH",
    "bistritanasaud": "BN", "botosani": "BT", "braila": "BR", "brasov": "BV",
    "bucuresti": BUCHAREST, "bucharest": BUCHAREST, "buzau": "BZ", "calarasi": "CL",
    "carasseverin": "CS", "cluj": "CJ", "constanta": "CT", "covasna": "CV",
    "dambovita": "DB", "dolj": "DJ", "galati": "GL", "giurgiu": "GR", "gorj": "GJ",
    "harghita": "HR", "hunedoara": "HD", "ialomita": "IL", "iasi": "IS", "ilfov": "IF",
    "maramures": "MM", "mehedinti": "MH", "mures": "MS", "neamt": "NT", "olt": "OT",
    "prahova": "PH", "salaj": "SJ", "satumare": "SM", "sibiu": "SB", "suceava": "SV",
    "teleorman": "TR", "timis": "TM", "tulcea": "TL", "valcea": "VL", "vaslui": "VS",
    "vrancea": "VN",
}  # fmt: skip

ISO_3166_2_RO: frozenset[str] = frozenset(COUNTY_BY_NAME.values())

_COUNTY_NAME_PREFIXES = ("judetul", "judet", "jud", "municipiul", "mun")
_SECTOR_IN_TEXT = re.compile(r"sector(?:ul)?([1-6])\b")
_ROMANIAN_POSTAL_CODE = re.compile(r"[0-9]{6}")
_CIF = re.compile(r"[0-9]{2,10}")
# ANAF's control key for the CUI/CIF check digit, aligned to the right of the number's body.
_CUI_CONTROL_KEY = "753217532"


class UnknownRomanianCounty(ValueError):  # noqa: N818 - the name is part of the library API
    """The county (judet) of a Romanian address cannot be determined."""


class UnknownBucharestSector(UnknownRomanianCounty):
    """A Bucharest address whose sector (1-6) cannot be determined."""


@dataclass(frozen=True, slots=True)
class RoSubdivision:
    city_name: str  # cbc:CityName: the city, or SECTOR1..SECTOR6 in Bucharest
    country_subentity: str  # cbc:CountrySubentity: ISO 3166-2:RO, e.g. "RO-B", "RO-CJ"
    derived: bool  # True when not given in stateOrProvince but derived from city/postal code


# The rules and the renderer ask it about the same few addresses several times per invoice.
@functools.lru_cache(maxsize=1024)
def ro_subdivision(
    city: str | None, postal_code: str | None, state_or_province: str | None
) -> RoSubdivision:
    """The CIUS-RO CityName and CountrySubentity of a Romanian address.

    An explicit county in stateOrProvince ("RO-CJ", "CJ" or a county name) wins; otherwise the
    county comes from the postal code. Bucharest is recognised by its name, by "RO-B", or by a
    postal code starting 01-06, and its city becomes the sector code.
    """
    given_county = _county_from_state(state_or_province)
    postal_prefix = _postal_prefix(postal_code)
    derived = given_county is None

    in_bucharest = given_county == BUCHAREST or (
        given_county is None and (_names_bucharest(city) or _sector_from_postal(postal_prefix))
    )
    if in_bucharest:
        sector = _sector_from_postal(postal_prefix) or _sector_from_city(city)
        if sector is None:
            raise UnknownBucharestSector(
                f"Cannot tell the Bucharest sector of the address (city {city!r}, postal code "
                f"{postal_code!r}): give a Bucharest postal code (it starts with 01-06, the "
                "sector) or write the sector in the city, e.g. 'Sector 3'."
            )
        return RoSubdivision(
            city_name=f"SECTOR{sector}", country_subentity=f"RO-{BUCHAREST}", derived=derived
        )

    city_name = (city or "").strip()
    if given_county is not None:
        return RoSubdivision(
            city_name=city_name, country_subentity=f"RO-{given_county}", derived=False
        )
    county = COUNTY_BY_POSTAL_PREFIX.get(postal_prefix or "")
    if county is None:
        state_hint = (
            f"stateOrProvince {state_or_province!r} is not a Romanian county, and "
            if state_or_province
            else ""
        )
        raise UnknownRomanianCounty(
            f"Cannot tell the Romanian county of the address: {state_hint}the postal code "
            f"{postal_code!r} is not a known 6-digit Romanian postal code. Give the county in "
            "stateOrProvince as an ISO 3166-2:RO code (e.g. 'RO-CJ') or a valid postal code."
        )
    return RoSubdivision(city_name=city_name, country_subentity=f"RO-{county}", derived=True)


def cif_digits(vat_number: str) -> str:
    """The digits of a Romanian CUI/CIF, without the optional "RO" VAT prefix and spaces."""
    compact = "".join(vat_number.split()).upper().removeprefix("RO")
    if not _CIF.fullmatch(compact):
        raise ValueError(
            f"{vat_number!r} is not a Romanian CUI/CIF: expected 2 to 10 digits, "
            "optionally prefixed with 'RO'."
        )
    return compact


def is_valid_cui(cui: str) -> bool:
    """Whether the last digit of a CUI/CIF is its check digit (ANAF key 753217532)."""
    try:
        digits = cif_digits(cui)
    except ValueError:
        return False
    return digits[-1] == cui_check_digit(digits[:-1])


def cui_check_digit(body: str) -> str:
    """The check digit of a CUI/CIF body of 1 to 9 digits (ANAF key 753217532, right-aligned)."""
    weights = _CUI_CONTROL_KEY[-len(body) :]
    weighted_sum = sum(int(d) * int(w) for d, w in zip(body, weights, strict=True))
    return str(weighted_sum * 10 % 11 % 10)  # a remainder of 10 gives check digit 0


def _fold(text: str) -> str:
    """Lower case, without diacritics (ș/ş, ț/ţ, ă, â, î), spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def _county_from_state(state_or_province: str | None) -> str | None:
    if not state_or_province:
        return None
    code = state_or_province.strip().upper()
    code = code.removeprefix("RO-")
    if code in ISO_3166_2_RO:
        return code
    name = _fold(state_or_province)
    for prefix in _COUNTY_NAME_PREFIXES:
        if name.startswith(prefix) and name[len(prefix) :] in COUNTY_BY_NAME:
            return COUNTY_BY_NAME[name[len(prefix) :]]
    return COUNTY_BY_NAME.get(name)


def _postal_prefix(postal_code: str | None) -> str | None:
    if postal_code is None:
        return None
    compact = "".join(postal_code.split())
    return compact[:2] if _ROMANIAN_POSTAL_CODE.fullmatch(compact) else None


def _sector_from_postal(postal_prefix: str | None) -> int | None:
    if postal_prefix is not None and int(postal_prefix) in BUCHAREST_SECTORS:
        return int(postal_prefix)
    return None


def _names_bucharest(city: str | None) -> bool:
    if not city:
        return False
    folded = _fold(city).removeprefix("municipiul")
    return folded.startswith(("bucuresti", "bucharest")) or bool(_SECTOR_IN_TEXT.fullmatch(folded))


def _sector_from_city(city: str | None) -> int | None:
    match = _SECTOR_IN_TEXT.search(_fold(city or ""))
    return int(match.group(1)) if match else None
