-- SDI (Italy) names every FatturaPA file IT<IdCodice>_<progressivo>.xml and refuses a name it
-- has already received (NS 00002). Each invoice gets the next progressivo of its transmitter
-- once, before its first send, and keeps it (submissions.gov_session holds the file name):
-- a file sent again after a lost answer has the same name, so SDI can never file it twice,
-- and two invoices of one transmitter never share a name.
CREATE TABLE sdi_progressivi (
    transmitter  text PRIMARY KEY,        -- IT + IdCodice, as in the file name
    last_used    bigint NOT NULL          -- the last progressivo handed out (base 36 in names)
);
