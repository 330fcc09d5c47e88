"""What the simulator tests share: a hand-moved clock and the hostile XML every simulator must
refuse without expanding anything."""

from __future__ import annotations

HOSTILE_XML_IDS = ["xxe", "billion-laughs", "xxe-utf16"]


class FakeClock:
    """Time the tests move by hand, so processing delays and limits need no sleeping."""

    def __init__(self, start: float = 1_780_308_000.0) -> None:  # 2026-06-01 10:00 UTC
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def hostile_xml(root: str, namespace: str) -> list[bytes]:
    """An external-entity read, a billion-laughs bomb, and the first again hidden by UTF-16."""
    xxe = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE {root} [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        f'<{root} xmlns="{namespace}">&secret;</{root}>'
    )
    laughs = (
        '<?xml version="1.0"?>\n'
        f"<!DOCTYPE {root} [\n"
        ' <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
        ' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
        ' <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n'
        ' <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">\n'
        "]>\n"
        f'<{root} xmlns="{namespace}">&d;</{root}>'
    )
    utf16 = xxe.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    return [xxe.encode(), laughs.encode(), utf16.encode("utf-16")]
