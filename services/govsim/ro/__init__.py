"""ANAF e-Factura (Romania): OAuth server, REST API under /test and /prod, /_sim/anaf."""
