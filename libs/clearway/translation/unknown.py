"""What the catalogue does not know yet: one structured log line per government message that
got only the generic translation, so the catalogue can grow from what governments really send.
The only side effect of the translation package, kept apart from its pure lookup."""

from __future__ import annotations

import logging

from clearway.translation import TranslatedErrors

log = logging.getLogger("clearway.translation")

UNKNOWN_MESSAGE = "government message not in the translation catalogue"


def log_uncatalogued(country: str, translated: TranslatedErrors) -> None:
    for detail in translated.details:
        if not detail.known:
            log.warning(
                UNKNOWN_MESSAGE,
                extra={
                    "fields": {
                        "country": country,
                        "govMessage": detail.original,
                        "translation": "generic",
                    }
                },
            )
