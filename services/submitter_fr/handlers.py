"""submitter-fr: deposits invoices with the company's French Plateforme Agréée (PA).

Consumes  `submit.fr`: a validated invoice whose document (UBL, CII or Factur-X) the converter
          stored. Its `submissions` row (the durable schedule) is written and the partition
          moves on. The connection is the company's SIREN on the directory: no token.
Decides   the filing machine works the due rows with the platform's Filer
          (governments/fr/filing.py): the deposit, retries with backoff, a lost answer
          reconciled by the platform's search on invoice number and seller SIREN.
Emits     `invoice.submitted` (uploadId: the platform's invoice id; attempts) or `invoice.error`
          (501 Irrecevable, in the platform's words translated), through the outbox. The poller
          follows the lifecycle statuses.
"""

from __future__ import annotations

from clearway.governments import government
from clearway.pipeline.filing.service import Submitter

GROUP_ID = "submitter-fr"

submitter = Submitter.for_government(government("FR"), group_id=GROUP_ID)
register_handlers = submitter.register_handlers
work_submissions = submitter.work_submissions
