-- Two database roles: the migrations run as the tables' owner, the bot as a member of breakglass_app.
--
-- breakglass_app is a NOLOGIN group role. Operators create a LOGIN role for the bot, `GRANT breakglass_app TO it`,
-- and put that role in DATABASE_URL; the owner goes in MIGRATION_DATABASE_URL (README, "Two database roles"). The bot may
-- read and write its working tables, but may only INSERT and SELECT audit events: no UPDATE, DELETE or TRUNCATE,
-- no right to write the chain head, and no ownership of a table, trigger or function, so it cannot switch the
-- audit triggers off or redefine the chain functions either.
--
-- Idempotent where it touches roles: the role is cluster-wide, so it may exist already (another database on the
-- same server, a role an administrator created beforehand, a migration running in parallel).

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'breakglass_app') THEN
    BEGIN
      CREATE ROLE breakglass_app NOLOGIN;
    EXCEPTION
      -- Created meanwhile by a migration of another database on the same server.
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'the role breakglass_app does not exist and % may not create roles. Run once, as a user with CREATEROLE (or the cloud provider''s admin user): CREATE ROLE breakglass_app NOLOGIN; then run npm run db:migrate again (README, "Two database roles")', current_user
          USING ERRCODE = 'insufficient_privilege';
    END;
  END IF;
END $$;

DO $$
DECLARE
  schema_name TEXT := current_schema();
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO breakglass_app', schema_name);
  -- The working tables: everything a bot does with them, but never TRUNCATE, REFERENCES or TRIGGER.
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO breakglass_app', schema_name);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO breakglass_app', schema_name);
  -- Tables and sequences later migrations create (as this same owner) get the same rights; a later migration that
  -- adds a table the bot must not change revokes them there, as below.
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO breakglass_app', schema_name);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO breakglass_app', schema_name);
END $$;

-- Audit events: append and read, nothing else.
REVOKE ALL ON "AuditEvent" FROM breakglass_app;
GRANT SELECT, INSERT ON "AuditEvent" TO breakglass_app;
-- The chain head: read (audit verify compares it with the last event), never written by the bot's role; the
-- functions that move it run with their owner's rights.
REVOKE ALL ON "AuditChainHead" FROM breakglass_app;
GRANT SELECT ON "AuditChainHead" TO breakglass_app;
-- Migration bookkeeping: read by /readyz, written only by `npm run db:migrate`.
REVOKE ALL ON "_prisma_migrations" FROM breakglass_app;
GRANT SELECT ON "_prisma_migrations" TO breakglass_app;

-- The insert triggers of the hash chain (migrations operator_experience and audit_chain_head_per_statement) read
-- and move "AuditChainHead" as whoever inserts. They now run as their owner (this migration's role), with a fixed
-- search_path so the inserting role cannot put its own objects in front of the chain's. Skipped when a later
-- design of the chain has replaced them.
DO $$
DECLARE
  fn TEXT;
BEGIN
  FOREACH fn IN ARRAY ARRAY['audit_event_chain()', 'audit_chain_head_write()'] LOOP
    IF to_regprocedure(fn) IS NOT NULL THEN
      EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = %I, pg_temp', fn, current_schema());
    END IF;
  END LOOP;
  -- The sealer (when present) moves the head for the bot: the bot may call it, nothing more.
  IF to_regprocedure('audit_seal(integer)') IS NOT NULL THEN
    GRANT EXECUTE ON FUNCTION audit_seal(INTEGER) TO breakglass_app;
  END IF;
END $$;
