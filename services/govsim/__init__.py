"""The sandbox's government simulators: faithful stand-ins for the governments' APIs, which
sk_test_ keys and the tests talk to. Not part of the product (nothing in libs/ or the workers
imports this package); one process, `python -m services.govsim`, serves them all.

One subpackage per government, as the product's libs/clearway/governments/<cc>/: ro (ANAF
e-Factura), it (SDI), pl (KSeF 2.0), fr (Plateforme Agréée), de (ZRE/OZG-RE), and peppol (the
access point shared by be and de). Each has its state (state.py, or sessions.py for KSeF), its
real contract (api.py) and its test-only /_sim/<cc> controls. Shared here: faults.py (injected
faults, sandbox scenarios), rate_limits.py, guard.py (what runs around every real-contract
route), arrivals.py (what a simulator received, decided lazily), untrusted_xml.py, tokens.py,
controls.py (the standard test-only controls), clock.py, keyed.py (the API-key simulators),
ubl_cii.py (EN 16931 syntaxes), outage.py (a government down), app.py (the app).
"""
