-- What invoice.submitted told the poller (uploadId, connectionId, KSeF's session...): a poll
-- carries it instead of reading the submitter's table. Rows already scheduled take it from
-- their stream.
ALTER TABLE status_polls ADD COLUMN submitted jsonb NOT NULL DEFAULT '{}';

UPDATE status_polls p SET submitted = e.metadata
FROM events e
WHERE e.stream_id = p.invoice_id AND e.type = 'invoice.submitted' AND e.metadata IS NOT NULL;
