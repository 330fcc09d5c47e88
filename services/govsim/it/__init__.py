"""SDI (Italy): the FatturaPA exchange system behind a JSON façade, /_sim/it."""
