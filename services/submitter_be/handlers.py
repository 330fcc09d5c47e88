"""submitter-be: sends Belgian invoices over Peppol to the buyer's access point.

Consumes  `submit.be`: a validated invoice whose Peppol BIS Billing 3.0 document the converter
          stored. Its `submissions` row (the durable schedule) is written and the partition
          moves on. The connection is the company's participant id (0208:<enterprise number>):
          no token.
Decides   the filing machine works the due rows with the Peppol Filer
          (clearway.governments.peppol.filing): the buyer (its peppolId, else 0208 and its
          enterprise number) looked up in the SMP, the send through Clearway's access point with
          the SBDH InstanceIdentifier derived from the invoice id, retries with backoff, a lost
          answer reconciled by that identifier.
Emits     `invoice.submitted` (uploadId: the access point's document id; instanceIdentifier;
          attempts), `invoice.rejected` (a buyer not on Peppol, naming the field) or
          `invoice.error`, through the outbox. The poller follows the delivery.
"""

from __future__ import annotations

from clearway.governments import government
from clearway.pipeline.filing.service import Submitter

GROUP_ID = "submitter-be"

submitter = Submitter.for_government(government("BE"), group_id=GROUP_ID)
register_handlers = submitter.register_handlers
work_submissions = submitter.work_submissions
