"""Country code lists the rules need. Pure data.

ISO 3166-1 alpha-2 as the CEN/Peppol artefacts list it (BR-CL-14; PEPPOL-EN16931-UBL.xsl
$ISO3166), plus XI (Northern Ireland), which VAT numbers use since 2021. VAT numbers carry the
ISO code of their state, except Greece: EL (BR-CO-09).
"""

from __future__ import annotations

_ISO_3166_ALPHA2_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW XI
    """
ISO_3166_ALPHA2: frozenset[str] = frozenset(_ISO_3166_ALPHA2_CODES.split())

# VAT-number prefixes of the EU member states (and XI), as VIES lists them.
_EU_VAT_PREFIXES = (
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI"
)
EU_VAT_PREFIXES: frozenset[str] = frozenset(_EU_VAT_PREFIXES.split())

# The country a VAT prefix stands for, where the two differ.
COUNTRY_OF_VAT_PREFIX: dict[str, str] = {"EL": "GR"}


def vat_prefix_country(prefix: str) -> str:
    return COUNTRY_OF_VAT_PREFIX.get(prefix, prefix)
