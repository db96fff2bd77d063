-- The audit chain head is written once per INSERT statement instead of once per event.
--
-- Before, every chained event updated the single "AuditChainHead" row. A statement inserting N events left N dead
-- versions of that row behind, and each later row of the same statement walked them: 10,000 events in one
-- statement took ~1.5 s instead of ~0.1 s (docs/benchmarks.md). Now the row trigger takes the head's lock once per
-- transaction, as before, and carries the running head in a transaction-local setting; a statement trigger writes it
-- back when the statement ends. Seq, prevHash and hash are computed exactly as before (audit_event_hash), so
-- existing chains and `npm run audit -- verify` are unaffected.
--
-- The setting is only a cache of what this transaction already holds locked: it starts empty in every transaction
-- (set_config(..., true) is undone at commit, rollback and on rolling back to a savepoint), and a transaction that
-- has not inserted an event yet reads the head row under its lock.

CREATE OR REPLACE FUNCTION audit_event_chain() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  running TEXT := current_setting('breakglass.audit_chain_head', true);
  head_seq BIGINT;
  head_hash TEXT;
BEGIN
  IF running IS NULL OR running = '' THEN
    SELECT seq, hash INTO head_seq, head_hash FROM "AuditChainHead" WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
      -- Only after the table was emptied by hand (tests): start a new chain.
      INSERT INTO "AuditChainHead" (id, seq, hash) VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
      SELECT seq, hash INTO head_seq, head_hash FROM "AuditChainHead" WHERE id = 1 FOR UPDATE;
    END IF;
  ELSE
    head_seq := split_part(running, ':', 1)::bigint;
    head_hash := split_part(running, ':', 2);
  END IF;
  NEW.seq := head_seq + 1;
  NEW."prevHash" := head_hash;
  NEW.hash := audit_event_hash(NEW."prevHash", NEW.seq, NEW."requestId", NEW.actor, NEW.action, NEW.details, NEW."createdAt");
  PERFORM set_config('breakglass.audit_chain_head', NEW.seq || ':' || NEW.hash, true);
  RETURN NEW;
END $$;

CREATE FUNCTION audit_chain_head_write() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  running TEXT := current_setting('breakglass.audit_chain_head', true);
BEGIN
  IF running IS NOT NULL AND running <> '' THEN
    UPDATE "AuditChainHead" SET seq = split_part(running, ':', 1)::bigint, hash = split_part(running, ':', 2)
    WHERE id = 1 AND seq <> split_part(running, ':', 1)::bigint;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER audit_chain_head_write AFTER INSERT ON "AuditEvent" FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_write();
