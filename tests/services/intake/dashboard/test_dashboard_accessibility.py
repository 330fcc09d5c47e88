"""The dashboard's contrast and keyboard use, measured from its stylesheet and templates:
every colour pair the pages show meets WCAG 2.x AA (4.5:1 for text, 3:1 for the focus ring and
control borders), and every control is a native element a keyboard reaches, with a visible
focus style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).parents[4] / "services" / "intake" / "dashboard"
STYLESHEET = (DASHBOARD / "static" / "dashboard.css").read_text()
TEMPLATES = {path.name: path.read_text() for path in (DASHBOARD / "templates").glob("*.html")}
SCRIPT = (DASHBOARD / "static" / "dashboard.js").read_text()

TEXT = 4.5  # WCAG 1.4.3, normal-size text
UI = 3.0  # WCAG 1.4.11, the focus ring and a control's outline

COLOUR = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")
COLOUR_PROPERTIES = ("color", "background", "outline", "border", "border-bottom")


def _rules() -> list[tuple[list[str], dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET, flags=re.DOTALL)
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for declaration in body.split(";"):
            if ":" in declaration:
                name, value = declaration.split(":", 1)
                declarations[name.strip()] = value.strip()
        rules.append(([s.strip() for s in selectors.split(",")], declarations))
    return rules


RULES = _rules()
VARIABLES = {
    name: value for selectors, d in RULES if ":root" in selectors for name, value in d.items()
}


def colour_of(selector: str, prop: str) -> str:
    """The colour a rule gives a property: var() resolved, a shorthand's colour picked out."""
    values = [d[prop] for selectors, d in RULES if selector in selectors and prop in d]
    assert len(values) == 1, f"{selector} {{ {prop} }} is set {len(values)} times"
    value = re.sub(r"var\((--[\w-]+)\)", lambda m: VARIABLES[m.group(1)], values[0])
    found = COLOUR.findall(value)
    assert len(found) == 1, f"{selector} {{ {prop}: {value} }} holds no single colour"
    return str(found[0])


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = []
    for i in (0, 2, 4):
        c = int(digits[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_formula_gives_wcags_known_ratios() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777777", "#fff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)


PAGE = ("body", "background")
ATTENTION_ROW = ("tr.attention td", "background")
SECRET = (".secret", "background")
# (what, foreground (selector, property), background (selector, property), minimum ratio)
PAIRS = [
    ("body text", ("body", "color"), PAGE, TEXT),
    ("body text in a row needing a person", ("body", "color"), ATTENTION_ROW, TEXT),
    ("body text in a shown-once secret", ("body", "color"), SECRET, TEXT),
    ("body text in a code block", ("body", "color"), ("pre", "background"), TEXT),
    ("links", ("a", "color"), PAGE, TEXT),
    ("links in a row needing a person", ("a", "color"), ATTENTION_ROW, TEXT),
    ("the skip link when focused", ("a", "color"), (".skip:focus", "background"), TEXT),
    ("table captions", ("caption", "color"), PAGE, TEXT),
    ("filter labels", (".filters label", "color"), PAGE, TEXT),
    ("field names", ("dt", "color"), PAGE, TEXT),
    ("hints", (".hint", "color"), PAGE, TEXT),
    ("buttons", ("button", "color"), ("button", "background"), TEXT),
    ("buttons under the pointer", ("button", "color"), ("button:hover", "background"), TEXT),
    ("a plain status badge", (".status", "color"), (".status", "background"), TEXT),
    ("a good status badge", (".s-accepted", "color"), (".s-accepted", "background"), TEXT),
    ("a bad status badge", (".s-rejected", "color"), (".s-rejected", "background"), TEXT),
    ("a waiting status badge", (".s-pending", "color"), (".s-pending", "background"), TEXT),
    ("the sandbox banner", (".mode.sandbox", "color"), (".mode.sandbox", "background"), TEXT),
    ("the live banner", (".mode.live", "color"), (".mode.live", "background"), TEXT),
    ("a notice", (".notice", "color"), (".notice", "background"), TEXT),
    ("error text", (".error", "color"), (".error", "background"), TEXT),
    ("a warning", (".warning", "color"), PAGE, TEXT),
    ("a warning in a row needing a person", (".warning", "color"), ATTENTION_ROW, TEXT),
    ("the focus ring", (":focus-visible", "outline"), PAGE, UI),
    ("the focus ring in a row needing a person", (":focus-visible", "outline"), ATTENTION_ROW, UI),
    ("the focus ring in a shown-once secret", (":focus-visible", "outline"), SECRET, UI),
    (
        "the focused skip link's ring",
        (":focus-visible", "outline"),
        (".skip:focus", "background"),
        UI,
    ),
    ("a field's border", ("input", "border"), PAGE, UI),
    ("a button's border", ("button", "border"), PAGE, UI),
]
# Borders that only decorate: table rules and the frames around boxes whose text says what they
# are. WCAG asks no contrast of them.
DECORATIVE = [
    ("th", "border-bottom"),
    (".top", "border-bottom"),
    (".secret", "border"),
    (".danger", "border"),
]


@pytest.mark.parametrize(
    ("what", "foreground", "background", "minimum"), PAIRS, ids=[p[0] for p in PAIRS]
)
def test_every_colour_pair_meets_wcag_aa(
    what: str, foreground: tuple[str, str], background: tuple[str, str], minimum: float
) -> None:
    ratio = contrast(colour_of(*foreground), colour_of(*background))
    assert ratio >= minimum, f"{what}: {ratio:.2f}:1 < {minimum}:1"


def test_every_colour_the_stylesheet_sets_is_measured_or_decorative() -> None:
    """A colour added later cannot slip past the pairs above unmeasured."""
    named = {side for _, fg, bg, _ in PAIRS for side in (fg, bg)} | set(DECORATIVE)
    unmeasured = [
        (selectors, prop)
        for selectors, declarations in RULES
        if ":root" not in selectors
        for prop, value in declarations.items()
        if prop in COLOUR_PROPERTIES
        and (COLOUR.search(value) or "var(" in value)
        and not any((selector, prop) in named for selector in selectors)
    ]
    assert unmeasured == []


def test_focus_is_always_visible() -> None:
    assert "outline" in dict(next(d for s, d in RULES if ":focus-visible" in s))
    assert not re.search(r"outline\s*:\s*(none|0)\b", STYLESHEET)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_control_is_a_native_element_a_keyboard_reaches(name: str) -> None:
    template = TEMPLATES[name]
    # Inline handlers and role="button" mark a div or span made clickable; a positive or
    # negative tabindex takes a control out of the natural keyboard order.
    assert not re.search(r"\son[a-z]+\s*=", template), "an inline event handler"
    assert not re.search(r"role\s*=\s*[\"']button", template)
    assert not re.search(r"tabindex\s*=", template)


def test_the_script_makes_nothing_clickable() -> None:
    assert not re.search(r"addEventListener\(\s*[\"'](click|keydown|keyup|mousedown)", SCRIPT)
    assert ".onclick" not in SCRIPT
