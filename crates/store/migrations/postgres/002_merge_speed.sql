-- Votes and tags without foreign keys to indicators. Each key cost a lookup and a row lock on
-- indicators per vote or tag written (1.2 s of a 300,000-line import, measured), and guards
-- nothing the library does: only a merge writes votes and tags, for ids it has just read or
-- inserted under the indicators' lock, and no indicator is ever deleted.
ALTER TABLE indicator_sources DROP CONSTRAINT indicator_sources_indicator_id_fkey;
ALTER TABLE indicator_tags DROP CONSTRAINT indicator_tags_indicator_id_fkey;
