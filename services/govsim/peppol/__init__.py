"""The Peppol access point (Belgium, German B2B) and its SMP under /peppol, /_sim/peppol."""
