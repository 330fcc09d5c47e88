"""ZRE / OZG-RE (Germany, B2G): XRechnung uploads routed by Leitweg-ID under /zre, /_sim/de."""
