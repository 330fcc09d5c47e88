"""submitter-it: sends invoices to Italy's Sistema di Interscambio (SDI).

Consumes  `submit.it`: a validated invoice whose FatturaPA document the converter stored. Its
          `submissions` row (the durable schedule) is written and the partition moves on. The
          connection is the company's SDI channel: its TLS client certificate, no token.
Decides   the filing machine works the due rows with SDI's Filer (governments/it/filing.py):
          the file goes out under a name of its own (IT<IdCodice>_<progressivo>.xml, fixed
          before the first send), retries with backoff, a lost answer reconciled by looking the
          name up.
Emits     `invoice.submitted` (uploadId: the IdentificativoSdI; fileName; attempts) or
          `invoice.error`, through the outbox. The poller follows the file's notifications
          (RC, NS, MC) to the decision.
"""

from __future__ import annotations

from clearway.governments import government
from clearway.pipeline.filing.service import Submitter

GROUP_ID = "submitter-it"

submitter = Submitter.for_government(government("IT"), group_id=GROUP_ID)
register_handlers = submitter.register_handlers
work_submissions = submitter.work_submissions
