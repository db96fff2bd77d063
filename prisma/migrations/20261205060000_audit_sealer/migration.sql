-- The audit chain is sealed off the write path.
--
-- Before, the insert trigger took the lock of the single "AuditChainHead" row and chained each event at insert time,
-- so every transaction that wrote an audit event queued behind every other one until it committed (an expiry
-- burst's sweeps among them). Now writers only insert: an event arrives unsealed (seq, prevHash and hash NULL) and
-- takes no lock. A sealer (audit_seal, called by every bot process a few times a second; at most one runs at a time)
-- gives the events its snapshot can see their seq, prevHash and hash in id order and moves the head, in one
-- transaction. An event becomes visible when its transaction commits, so seq follows commit order: an event of a
-- transaction that stayed open long is sealed after the events committed before it.
--
-- The hash is computed exactly as before (audit_event_hash, migration operator_experience), so events sealed
-- before this migration keep verifying; `npm run audit -- verify` now recomputes it in Node (src/audit/hash.ts)
-- and never calls this function.

-- Unsealed events, found in id order without touching the sealed ones.
CREATE INDEX "AuditEvent_unsealed_idx" ON "AuditEvent" (id) WHERE seq IS NULL;

DROP TRIGGER audit_chain_head_write ON "AuditEvent";
DROP FUNCTION audit_chain_head_write();
DROP TRIGGER audit_event_chain ON "AuditEvent";
DROP FUNCTION audit_event_chain();

-- A writer cannot choose its own place in the chain: whatever it sends, an event arrives unsealed.
CREATE FUNCTION audit_event_unsealed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  NEW.seq := NULL;
  NEW."prevHash" := NULL;
  NEW.hash := NULL;
  RETURN NEW;
END $$;

CREATE TRIGGER audit_event_unsealed BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION audit_event_unsealed();

-- Still append-only. The one UPDATE allowed is audit_seal's: setting seq, prevHash and hash of an unsealed event,
-- nothing else, while the transaction-local flag audit_seal sets (and clears) is on.
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('breakglass.audit_sealing', true) = 'on'
     AND OLD.seq IS NULL AND OLD."prevHash" IS NULL AND OLD.hash IS NULL
     AND NEW.seq IS NOT NULL AND NEW."prevHash" IS NOT NULL AND NEW.hash IS NOT NULL
     AND NEW.id = OLD.id AND NEW."requestId" IS NOT DISTINCT FROM OLD."requestId" AND NEW.actor = OLD.actor
     AND NEW.action = OLD.action AND NEW.details = OLD.details AND NEW."createdAt" = OLD."createdAt" THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit events are append-only: % on "AuditEvent" is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

-- Seals at most max_rows events; returns how many and the head after them. Runs with its owner's rights (the
-- migration owner), so the bot's database role needs only EXECUTE on it, INSERT and SELECT on "AuditEvent", and no
-- right on the head. Another call sealing at the same moment holds the locks: this one then seals nothing and says
-- busy (its caller simply tries again at its next tick).
CREATE FUNCTION audit_seal(max_rows INTEGER DEFAULT 5000)
RETURNS TABLE (sealed INTEGER, busy BOOLEAN, head_seq BIGINT, head_hash TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  h_seq BIGINT;
  h_hash TEXT;
  event RECORD;
  ids BIGINT[] := '{}';
  seqs BIGINT[] := '{}';
  prevs TEXT[] := '{}';
  hashes TEXT[] := '{}';
  next_hash TEXT;
BEGIN
  IF max_rows IS NULL OR max_rows < 1 THEN
    RAISE EXCEPTION 'audit_seal: max_rows must be at least 1' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- One sealer at a time, and the others never wait: a transaction-level advisory lock (key 'bgas'), then the head's
  -- row lock, both tried without waiting.
  IF NOT pg_try_advisory_xact_lock(1650942323) THEN
    RETURN QUERY SELECT 0, true, NULL::BIGINT, NULL::TEXT;
    RETURN;
  END IF;
  SELECT h.seq, h.hash INTO h_seq, h_hash FROM "AuditChainHead" h WHERE h.id = 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM "AuditChainHead" h WHERE h.id = 1) THEN
      RETURN QUERY SELECT 0, true, NULL::BIGINT, NULL::TEXT;
      RETURN;
    END IF;
    -- No head yet (a new database, or the tables emptied by hand in tests): start the chain.
    INSERT INTO "AuditChainHead" (id, seq, hash) VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
    SELECT h.seq, h.hash INTO h_seq, h_hash FROM "AuditChainHead" h WHERE h.id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 0, true, NULL::BIGINT, NULL::TEXT;
      RETURN;
    END IF;
  END IF;
  -- This statement's snapshot is taken after the lock: it sees everything the previous sealer sealed.
  FOR event IN
    SELECT e.id, e."requestId", e.actor, e.action, e.details, e."createdAt" FROM "AuditEvent" e WHERE e.seq IS NULL ORDER BY e.id LIMIT max_rows
  LOOP
    h_seq := h_seq + 1;
    next_hash := audit_event_hash(h_hash, h_seq, event."requestId", event.actor, event.action, event.details, event."createdAt");
    ids := ids || event.id;
    seqs := seqs || h_seq;
    prevs := prevs || h_hash;
    hashes := hashes || next_hash;
    h_hash := next_hash;
  END LOOP;
  IF cardinality(ids) > 0 THEN
    PERFORM set_config('breakglass.audit_sealing', 'on', true);
    UPDATE "AuditEvent" e SET seq = s.seq, "prevHash" = s.prev, hash = s.hash
    FROM unnest(ids, seqs, prevs, hashes) AS s(id, seq, prev, hash)
    WHERE e.id = s.id AND e.seq IS NULL;
    PERFORM set_config('breakglass.audit_sealing', '', true);
    UPDATE "AuditChainHead" SET seq = h_seq, hash = h_hash WHERE id = 1;
  END IF;
  RETURN QUERY SELECT cardinality(ids), false, h_seq, h_hash;
END $$;

-- Only its owner and those it is granted to may seal (functions are executable by PUBLIC by default).
REVOKE ALL ON FUNCTION audit_seal(INTEGER) FROM PUBLIC;
