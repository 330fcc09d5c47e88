"""submitter-de: files German invoices, B2G with the receipt platform, B2B over Peppol.

Consumes  `submit.de`: a validated invoice whose XRechnung (UBL or CII) the converter stored.
          Its `submissions` row (the durable schedule) is written and the partition moves on.
          The connection is the company's participant id (9930:DE<VAT number>): no token.
Decides   where it goes: a buyer reference (BT-10) that is a Leitweg-ID means a public buyer,
          so ZRE/OZG-RE (an upload with a client reference derived from the invoice id); any
          other buyer gets it over Peppol (the SMP lookup, then the send with the SBDH
          InstanceIdentifier derived from the invoice id). Then, as for every channel
          (clearway.governments.peppol.filing): retries with backoff, a lost answer reconciled
          by the reference, never sent blind twice.
Emits     `invoice.submitted` (uploadId, govEndpoint "ZRE" or "Peppol", the reference,
          attempts), `invoice.rejected` (a buyer not on Peppol, naming the field) or
          `invoice.error`, through the outbox. The poller follows the delivery.
"""

from __future__ import annotations

from clearway.governments import government
from clearway.pipeline.filing.service import Submitter

GROUP_ID = "submitter-de"

submitter = Submitter.for_government(government("DE"), group_id=GROUP_ID)
register_handlers = submitter.register_handlers
work_submissions = submitter.work_submissions
