import pytest
from clearway.governments.ro.identifiers import (
    COUNTY_BY_POSTAL_PREFIX,
    ISO_3166_2_RO,
    RoSubdivision,
    UnknownBucharestSector,
    UnknownRomanianCounty,
    cif_digits,
    is_valid_cui,
    ro_subdivision,
)


def test_bucharest_postal_code_gives_sector_and_ro_b() -> None:
    assert ro_subdivision("Bucharest", "010101", None) == RoSubdivision(
        city_name="SECTOR1", country_subentity="RO-B", derived=True
    )


@pytest.mark.parametrize(
    ("postal_code", "sector"),
    [("010101", 1), ("020000", 2), ("030000", 3), ("040000", 4), ("050000", 5), ("060000", 6)],
)
def test_sector_is_the_postal_code_prefix(postal_code: str, sector: int) -> None:
    subdivision = ro_subdivision(None, postal_code, None)
    assert subdivision.city_name == f"SECTOR{sector}"
    assert subdivision.country_subentity == "RO-B"


@pytest.mark.parametrize("city", ["Bucharest", "București", "Bucureşti", "BUCURESTI", "bucuresti"])
def test_bucharest_is_recognised_by_name_in_any_spelling(city: str) -> None:
    assert ro_subdivision(city, "030000", None).city_name == "SECTOR3"


def test_bucharest_sector_can_come_from_the_city_text() -> None:
    subdivision = ro_subdivision("București, Sectorul 5", None, None)
    assert subdivision == RoSubdivision("SECTOR5", "RO-B", derived=True)


def test_bucharest_without_a_sector_is_refused() -> None:
    with pytest.raises(UnknownBucharestSector, match="sector"):
        ro_subdivision("Bucharest", None, None)


def test_county_derived_from_postal_code() -> None:
    assert ro_subdivision("Cluj-Napoca", "400001", None) == RoSubdivision(
        city_name="Cluj-Napoca", country_subentity="RO-CJ", derived=True
    )


def test_explicit_iso_code_is_kept() -> None:
    # The postal code says Cluj; the caller's explicit county wins.
    assert ro_subdivision("Timișoara", "400001", "RO-TM") == RoSubdivision(
        city_name="Timișoara", country_subentity="RO-TM", derived=False
    )


@pytest.mark.parametrize("state", ["TM", "ro-tm", "Timiș", "Judetul Timis"])
def test_county_given_as_bare_code_or_name(state: str) -> None:
    assert ro_subdivision("Timișoara", None, state).country_subentity == "RO-TM"


def test_explicit_ro_b_still_needs_a_sector_city() -> None:
    assert ro_subdivision("Bucharest", "060123", "RO-B") == RoSubdivision(
        "SECTOR6", "RO-B", derived=False
    )


def test_unrecognised_state_falls_back_to_the_postal_code() -> None:
    assert ro_subdivision("Iași", "700001", "Moldova") == RoSubdivision(
        "Iași", "RO-IS", derived=True
    )


@pytest.mark.parametrize("postal_code", ["990000", "000123", "4000", "ABCDEF", None])
def test_unknown_county_raises(postal_code: str | None) -> None:
    with pytest.raises(UnknownRomanianCounty, match="Romanian county"):
        ro_subdivision("Somewhere", postal_code, None)


def test_unknown_county_is_a_value_error() -> None:
    assert issubclass(UnknownRomanianCounty, ValueError)


def test_every_postal_prefix_maps_to_a_real_county() -> None:
    assert set(COUNTY_BY_POSTAL_PREFIX.values()) <= ISO_3166_2_RO
    # 41 counties by postal code, plus Bucharest (by sector): the 42 ISO 3166-2:RO codes.
    assert len(set(COUNTY_BY_POSTAL_PREFIX.values())) == 41
    assert len(ISO_3166_2_RO) == 42


@pytest.mark.parametrize(
    ("vat_number", "digits"),
    [("RO18547290", "18547290"), ("ro 185 472 90", "18547290"), ("18547290", "18547290")],
)
def test_cif_digits(vat_number: str, digits: str) -> None:
    assert cif_digits(vat_number) == digits


@pytest.mark.parametrize(
    "vat_number", ["RO", "RO1", "12345678901", "RO12A45", "DE123456789", "١٢٣"]
)
def test_cif_digits_refuses_what_is_not_a_cif(vat_number: str) -> None:
    with pytest.raises(ValueError, match="not a Romanian CUI/CIF"):
        cif_digits(vat_number)


def test_known_valid_cui() -> None:
    # Body 1854729 against key ...3217532: 111 * 10 mod 11 = 10 -> check digit 0.
    assert is_valid_cui("18547290")
    assert is_valid_cui("RO18547290")


@pytest.mark.parametrize("cui", ["18547291", "18547280", "28547290"])
def test_changed_digit_invalidates_cui(cui: str) -> None:
    assert not is_valid_cui(cui)


def test_seed_placeholder_vat_numbers_are_not_valid_cuis() -> None:
    assert not is_valid_cui("RO12345678")
    assert not is_valid_cui("not a number")
