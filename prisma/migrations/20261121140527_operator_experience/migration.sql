-- CreateEnum
CREATE TYPE "ExtensionStatus" AS ENUM ('PENDING', 'APPLIED', 'DENIED', 'REFUSED', 'CANCELLED');

-- DropForeignKey
ALTER TABLE "AuditEvent" DROP CONSTRAINT "AuditEvent_requestId_fkey";

-- AlterTable
ALTER TABLE "AccessRequest" ADD COLUMN     "reminderSentAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "hash" TEXT,
ADD COLUMN     "prevHash" TEXT,
ADD COLUMN     "seq" BIGINT;

-- CreateTable
CREATE TABLE "AuditChainHead" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "AuditChainHead_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Extension" (
    "id" UUID NOT NULL,
    "requestId" UUID NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "extendBySeconds" INTEGER NOT NULL,
    "status" "ExtensionStatus" NOT NULL DEFAULT 'PENDING',
    "requiredApprovals" INTEGER NOT NULL,
    "approvalCount" INTEGER NOT NULL DEFAULT 0,
    "messageTs" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decidedAt" TIMESTAMP(3),
    "decidedBy" TEXT,
    "fromExpiresAt" TIMESTAMP(3),
    "toExpiresAt" TIMESTAMP(3),
    "refusalReason" TEXT,

    CONSTRAINT "Extension_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExtensionApproval" (
    "id" UUID NOT NULL,
    "extensionId" UUID NOT NULL,
    "approverId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExtensionApproval_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Extension_requestId_status_idx" ON "Extension"("requestId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "ExtensionApproval_extensionId_approverId_key" ON "ExtensionApproval"("extensionId", "approverId");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_seq_key" ON "AuditEvent"("seq");

-- CreateIndex
CREATE INDEX "AuditEvent_createdAt_idx" ON "AuditEvent"("createdAt");

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "AccessRequest"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Extension" ADD CONSTRAINT "Extension_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "AccessRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExtensionApproval" ADD CONSTRAINT "ExtensionApproval_extensionId_fkey" FOREIGN KEY ("extensionId") REFERENCES "Extension"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hash chain (written by hand; Prisma does not model triggers).
-- The hash of one event: sha256 over the previous hash and every field of the event, one per line.
-- `audit verify` recomputes it with this same function, so the definition lives in one place.
CREATE FUNCTION audit_event_hash(prev_hash TEXT, seq BIGINT, request_id UUID, actor TEXT, action TEXT, details JSONB, created_at TIMESTAMP(3))
RETURNS TEXT LANGUAGE SQL IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\n',
    prev_hash, seq::text, coalesce(request_id::text, ''), actor, action, details::text,
    to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS')), 'UTF8')), 'hex')
$$;

-- Events written before the chain existed are chained in id order.
DO $$
DECLARE
  event RECORD;
  position BIGINT := 0;
  previous TEXT := repeat('0', 64);
BEGIN
  FOR event IN SELECT * FROM "AuditEvent" ORDER BY id LOOP
    position := position + 1;
    UPDATE "AuditEvent" SET seq = position, "prevHash" = previous,
      hash = audit_event_hash(previous, position, event."requestId", event.actor, event.action, event.details, event."createdAt")
    WHERE id = event.id
    RETURNING hash INTO previous;
  END LOOP;
  INSERT INTO "AuditChainHead" (id, seq, hash) VALUES (1, position, previous);
END $$;

-- Each insert takes the head row's lock, so events join the chain one at a time, in commit order, without gaps.
CREATE FUNCTION audit_event_chain() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  head RECORD;
BEGIN
  SELECT seq, hash INTO head FROM "AuditChainHead" WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    -- Only after the table was emptied by hand (tests): start a new chain.
    INSERT INTO "AuditChainHead" (id, seq, hash) VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
    SELECT seq, hash INTO head FROM "AuditChainHead" WHERE id = 1 FOR UPDATE;
  END IF;
  NEW.seq := head.seq + 1;
  NEW."prevHash" := head.hash;
  NEW.hash := audit_event_hash(NEW."prevHash", NEW.seq, NEW."requestId", NEW.actor, NEW.action, NEW.details, NEW."createdAt");
  UPDATE "AuditChainHead" SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
  RETURN NEW;
END $$;

CREATE TRIGGER audit_event_chain BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION audit_event_chain();

CREATE FUNCTION audit_event_append_only() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only: % on "AuditEvent" is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

-- At most one extension waits for approval per request.
CREATE UNIQUE INDEX "Extension_one_pending_per_request" ON "Extension"("requestId") WHERE status = 'PENDING';
