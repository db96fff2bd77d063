-- Written by hand: Prisma does not model partial indexes.
-- One live request per requester, resource and role: someone who holds the access (ACTIVE), is being granted it
-- (APPROVED) or is waiting for it (PENDING) cannot file a second request for it; more time comes from extending the
-- grant there is. REVOKING does not count: that access is on its way out. Two identical submissions at the same
-- moment (a double submit, a Slack retry) therefore create one request.
--
-- Until now a second request was allowed, so a database may already hold overlapping live requests, which would
-- make the index impossible to build. Those requests end by themselves; they are left out of the index (by their
-- number, which only grows), and the service still refuses new requests next to them.
DO $$
DECLARE
  last_overlapping INTEGER;
BEGIN
  SELECT coalesce(max(r.number), 0) INTO last_overlapping
  FROM "AccessRequest" r
  WHERE r.status IN ('PENDING', 'APPROVED', 'ACTIVE')
    AND EXISTS (
      SELECT 1 FROM "AccessRequest" o
      WHERE o.id <> r.id AND o."requesterId" = r."requesterId" AND o."resourceId" = r."resourceId" AND o."roleId" = r."roleId"
        AND o.status IN ('PENDING', 'APPROVED', 'ACTIVE'));
  EXECUTE 'CREATE UNIQUE INDEX "AccessRequest_one_live_per_requester_role" ON "AccessRequest"("requesterId", "resourceId", "roleId") '
    || 'WHERE status IN (''PENDING'', ''APPROVED'', ''ACTIVE'')'
    || CASE WHEN last_overlapping > 0 THEN format(' AND number > %s', last_overlapping) ELSE '' END;
END $$;
