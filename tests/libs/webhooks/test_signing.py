"""Standard Webhooks signatures: the specification's own example, rotation, stable ids."""

from __future__ import annotations

import base64
import hashlib
import hmac

from clearway.webhooks.signing import new_secret, secret_key, sign, signature_header, webhook_id_for


def test_the_specification_example_signs_as_the_reference_libraries_do() -> None:
    # The example of the Standard Webhooks reference implementations' test suites.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(secret_key(first)) == 32
    assert first != second


def test_during_a_rotation_every_live_secret_signs_separated_by_spaces() -> None:
    old, new = new_secret(), new_secret()
    header = signature_header([new, old], "msg_1", 1700000000, b"{}")
    signatures = header.split(" ")
    assert signatures == [
        sign(new, "msg_1", 1700000000, b"{}"),
        sign(old, "msg_1", 1700000000, b"{}"),
    ]
    for secret, signature in zip([new, old], signatures, strict=True):
        expected = hmac.new(secret_key(secret), b"msg_1.1700000000.{}", hashlib.sha256).digest()
        assert signature == "v1," + base64.b64encode(expected).decode()


def test_the_webhook_id_is_stable_per_event_and_endpoint() -> None:
    assert webhook_id_for("we_1", "evt_1") == webhook_id_for("we_1", "evt_1")
    assert webhook_id_for("we_1", "evt_1") != webhook_id_for("we_2", "evt_1")
    assert webhook_id_for("we_1", "evt_1") != webhook_id_for("we_1", "evt_2")
    assert webhook_id_for("we_1", "evt_1").startswith("msg_")
