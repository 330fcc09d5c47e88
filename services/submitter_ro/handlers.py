"""submitter-ro: files invoices with ANAF e-Factura.

Consumes  `submit.ro`: a validated invoice whose CIUS-RO document the converter stored. Its
          `submissions` row (the durable schedule) is written and the partition moves on: no
          invoice ever waits in the consumer for ANAF.
Decides   the filing machine (clearway.pipeline.filing) works the due rows with ANAF's Filer
          (governments/ro/filing.py): the upload with the connection's token inside ANAF's
          limits, retries with backoff, and reconciliation with ANAF's message list when an
          upload's answer was lost.
Emits     `invoice.submitted` (uploadId, attempts) or `invoice.error` (stage submission, with
          ANAF's words, their translation and the fix), through the outbox.
"""

from __future__ import annotations

from clearway.governments import government
from clearway.pipeline.filing.service import Submitter

GROUP_ID = "submitter-ro"

submitter = Submitter.for_government(government("RO"), group_id=GROUP_ID)
register_handlers = submitter.register_handlers
work_submissions = submitter.work_submissions
