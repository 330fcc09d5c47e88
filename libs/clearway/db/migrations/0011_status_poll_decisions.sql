-- A decision the poller saw but whose document it could not fetch yet (ANAF: `ok` or `nok`
-- with its id_descarcare, the download throttled): the next poll fetches that document
-- without asking for the status again.
ALTER TABLE status_polls
    ADD COLUMN decided_state     text,
    ADD COLUMN decided_document  text;
