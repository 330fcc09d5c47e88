"""submitter-pl: files invoices with KSeF 2.0 (Poland).

Consumes  `submit.pl`: a validated invoice whose FA(3) document the converter stored. Its
          `submissions` row (the durable schedule) is written and the partition moves on.
Decides   the filing machine works the due rows with KSeF's Filer
          (governments/pl/filing.py): the connection's open online session (one is opened
          when there is none, and closed when idle, full or near its end), the invoice sent
          encrypted in it; retries with backoff; a send whose answer was lost is looked for in
          its session.
Emits     `invoice.submitted` (uploadId: KSeF's invoice reference; sessionReferenceNumber;
          attempts) or `invoice.error` (stage submission, KSeF's words translated), through
          the outbox. The poller follows it to its status and UPO.
"""

from __future__ import annotations

from clearway.governments import government
from clearway.pipeline.filing.service import Submitter

GROUP_ID = "submitter-pl"

submitter = Submitter.for_government(government("PL"), group_id=GROUP_ID)
register_handlers = submitter.register_handlers
work_submissions = submitter.work_submissions
