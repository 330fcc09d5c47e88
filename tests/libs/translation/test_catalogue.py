"""The error catalogue: the messages governments really send come out in plain English with a
fix naming the JSON field; an unknown one still gets a translation and says it is unknown."""

from __future__ import annotations

import json
import logging
import re

import pytest
from clearway.observability.logs import JsonFormatter
from clearway.translation import translate, translate_all
from clearway.translation.catalogue import entries_for
from clearway.translation.unknown import log_uncatalogued

# ANAF's own texts, from its OpenAPI documents (typos included) and the simulator's reports.
ANAF_MESSAGES = {
    "Nu aveti drept in SPV pentru CIF=1234": ("SPV-NO-RIGHT", "/supplier/vatNumber"),
    "Nu exista niciun CIF pentru care sa aveti drept in SPV": ("SPV-NO-CIF", None),
    "Nu exista niciun CIF petru care sa aveti drept": ("SPV-NO-CIF", None),
    "CIF introdus= 123a nu este un numar": ("UPLOAD-CIF-NOT-NUMBER", "/supplier/vatNumber"),
    "Marime fisier transmis mai mare de 10 MB.": ("UPLOAD-SIZE", "/attachments"),
    "A aparut o eroare tehnica. Cod: XXX": ("TECHNICAL", None),
    "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 15; "
    "columnNumber: 155; cvc-elt.1.a: Cannot find the declaration of element 'Invoice1'. ": (
        "XML-SCHEMA",
        None,
    ),
    "S-au facut deja 20 descarcari de mesaj in cursul zilei": ("DAILY-QUOTA", None),
    "S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1234 in cursul zilei": (
        "DAILY-QUOTA",
        None,
    ),
    "S-au facut deja 1000 de apeluri in ultimul minut. Reincercati mai tarziu.": (
        "CALLS-PER-MINUTE",
        None,
    ),
    "Nu aveti dreptul de inteorgare pentru id_incarcare= 18": ("STATUS-NO-RIGHT", None),
    "Nu exista factura cu id_incarcare= 15000": ("STATUS-UNKNOWN-UPLOAD", None),
    "Pentru id=21 nu exista inregistrata nici o factura": ("DOWNLOAD-UNKNOWN", None),
    "XML cu erori nepreluat de sistem": ("NOT-TAKEN", None),
    "E: validari globale\n eroare regula: CIF-ul vanzatorului din factura (11111111) nu "
    "corespunde cu CIF-ul pentru care s-a facut incarcarea (12345678)": (
        "CIF-MISMATCH",
        "/supplier/vatNumber",
    ),
    "[BR-RO-100]-Dacă Codul țării vânzătorului (BT-40) este „RO” și Subdiviziunea țării "
    "vânzătorului (BT-39) este „RO-B” …\n\t\t#If the Seller country code (BT-40) is 'RO' …": (
        "BR-RO-100",
        "/supplier/address/city",
    ),
    "[BR-RO-111]-… cumpărătorului (BT-54) …\n\t\t#… Buyer country subdivision (BT-54) …": (
        "BR-RO-111",
        "/customer/address/stateOrProvince",
    ),
    "[BR-RO-082]-Adresa cumpărătorului trebuie să conțină strada\n\t\t#The Buyer address "
    "line 1 must be present": ("BR-RO-080", "/customer/address/street"),
    "[BR-CO-10]-Suma valorilor nete ale liniilor (BT-106) …": ("BR-TOTALS", "/lines"),
}


@pytest.mark.parametrize("message", sorted(ANAF_MESSAGES))
def test_anafs_messages_are_known_with_their_field(message: str) -> None:
    code, pointer = ANAF_MESSAGES[message]
    translation = translate("RO", message)
    assert translation.known
    assert translation.code == code
    assert translation.pointer == pointer
    assert translation.original == message.strip()
    assert translation.english
    assert translation.fix
    if pointer is not None:
        assert pointer in translation.fix  # the fix names the field to change


def test_named_parts_of_the_message_reach_the_translation() -> None:
    translation = translate("RO", "Nu aveti drept in SPV pentru CIF=98765432")
    assert "98765432" in translation.english
    assert "98765432" in translation.fix


@pytest.mark.parametrize(
    ("message", "code", "named"),
    [
        ("Nu aveti drept in SPV pentru CIF=RO98765432", "SPV-NO-RIGHT", "98765432"),
        ("Nu aveti drept in SPV pentru CIF = RO 98765432", "SPV-NO-RIGHT", "98765432"),
        ("Nu aveti drept in SPV pentru CIF=98765432", "SPV-NO-RIGHT", "98765432"),
        (
            (
                "E: validari globale\n eroare regula: CIF-ul vanzatorului din factura "
                "(RO11111111) nu corespunde cu CIF-ul pentru care s-a facut incarcarea (RO12345678)"
            ),
            "CIF-MISMATCH",
            "12345678",
        ),
    ],
)
def test_a_cif_is_recognised_with_or_without_its_ro_prefix(
    message: str, code: str, named: str
) -> None:
    translation = translate("RO", message)
    assert translation.known
    assert translation.code == code
    assert named in translation.english
    assert translation.pointer == "/supplier/vatNumber"


def test_a_message_the_catalogue_does_not_know_is_logged_as_a_structured_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unknown = "[BR-RO-999]-Ceva nou\n\t\t#Something new is wrong"
    translated = translate_all("RO", [unknown, "Nu aveti drept in SPV pentru CIF=RO1234"])
    with caplog.at_level(logging.WARNING, logger="clearway.translation"):
        log_uncatalogued("RO", translated)
    [record] = caplog.records  # the known message is not logged
    line = json.loads(JsonFormatter("poller").format(record))
    assert line["message"] == "government message not in the translation catalogue"
    assert line["level"] == "WARNING"
    assert (line["country"], line["govMessage"], line["translation"]) == (
        "RO",
        unknown.strip(),
        "generic",
    )
    assert line["service"] == "poller"  # the formatter's own fields are kept


def test_an_unknown_message_gets_anafs_own_english_part_and_is_marked_unknown() -> None:
    translation = translate("RO", "[BR-RO-999]-Ceva nou\n\t\t#Something new is wrong")
    assert not translation.known
    assert translation.code is None
    assert translation.english == "ANAF e-Factura: Something new is wrong"
    assert "send the invoice again" in translation.fix


def test_an_unknown_message_without_english_is_quoted() -> None:
    translation = translate("RO", "Eroare necunoscuta")
    assert not translation.known
    assert "Eroare necunoscuta" in translation.english


@pytest.mark.parametrize(
    ("country", "message", "code", "pointer"),
    [
        ("IT", "00305: 1.4.1.1.2 <IdCodice> non valido", "00305", "/customer/vatNumber"),
        ("IT", "00404: Fattura duplicata", "00404", "/invoiceNumber"),
        ("IT", "00311: 1.1.4 <CodiceDestinatario> non valido", "00311", "/customer/sdiCode"),
        ("IT", "00002: Nome file duplicato", "00002", None),
        ("IT", "EI01: FILE VUOTO", "EI01", None),
        ("IT", "EI03: UTENTE NON ABILITATO", "EI03", None),
        ("IT", "File troppo grande", "FILE_TOO_LARGE", "/attachments"),
        ("PL", "440 Duplikat faktury", "440", "/invoiceNumber"),
        ("PL", "410 Nieprawidłowy zakres uprawnień", "410", None),
        ("FR", "REJ_UNI: Doublon : facture déjà émise (dépôt 42)", "REJ_UNI", "/invoiceNumber"),
        (
            "FR",
            "REJ_SEMAN: SIREN de l'acheteur (identifiant légal, schéma 0002) absent ou invalide",
            "REJ_SEMAN-SIREN",
            "/customer/siret",
        ),
        (
            "DE",
            "Die Leitweg-ID (BT-10, BuyerReference) fehlt.",
            "LEITWEG-MISSING",
            "/buyerReference",
        ),
        (
            "BE",
            "RECEIVER_NOT_FOUND: 0208:0123456749 is not registered in the SMP",
            "RECEIVER_NOT_FOUND",
            "/customer/peppolId",
        ),
        (
            "BE",
            "[PEPPOL-EN16931-R003]-A buyer reference or purchase order reference MUST be provided.",
            "PEPPOL-EN16931-R003",
            "/buyerReference",
        ),
        (
            "DE",
            '[BR-DE-15] Das Element "Buyer reference" (BT-10) muss übermittelt werden.',
            "BR-DE-15",
            "/buyerReference",
        ),
        (
            "DE",
            "RECEIVER_NOT_FOUND: 9930:DE811569869 is not registered in the SMP",
            "RECEIVER_NOT_FOUND",
            "/customer/peppolId",
        ),
        (
            "DE",
            "AS4 delivery failed: receiver unreachable",
            "AS4-DELIVERY-FAILED",
            "/customer/peppolId",
        ),
    ],
)
def test_the_other_governments_messages(
    country: str, message: str, code: str, pointer: str | None
) -> None:
    translation = translate(country, message)
    assert translation.known
    assert translation.code == code
    assert translation.pointer == pointer


def test_several_messages_become_the_three_error_fields() -> None:
    errors = translate_all(
        "RO",
        [
            "[BR-RO-101]-… cumpărătorului …\n\t\t#… Buyer …",
            "Nu aveti drept in SPV pentru CIF=1234",
        ],
    )
    assert errors.message.startswith("[BR-RO-101]")
    assert "Nu aveti drept" in errors.message  # the government's words, all of them
    assert "Bucharest" in errors.translated
    assert "SPV" in errors.translated
    assert "/customer/address/city" in errors.fix
    assert [d.code for d in errors.details] == ["BR-RO-101", "SPV-NO-RIGHT"]


def test_no_messages_still_fill_the_fields() -> None:
    errors = translate_all("PL", [])
    assert errors.message
    assert errors.translated
    assert errors.fix


POINTER = re.compile(r"^(/[a-zA-Z0-9{}]+)+$")


@pytest.mark.parametrize("country", ["RO", "IT", "PL", "FR", "DE", "BE"])
def test_every_entry_has_a_translation_a_fix_and_a_json_pointer_shape(country: str) -> None:
    entries = entries_for(country)
    assert entries
    codes = [e.code for e in entries]
    assert len(codes) == len(set(codes)), "a code is in the catalogue twice"
    for entry in entries:
        assert entry.english.strip()
        assert entry.fix.strip()
        if entry.pointer is not None:
            assert POINTER.match(entry.pointer), entry.pointer
