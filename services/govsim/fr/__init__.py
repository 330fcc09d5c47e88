"""The French Plateforme Agréée: deposits and the CDAR lifecycle under /pa, /_sim/fr."""
