-- CreateIndex
CREATE INDEX "AccessRequest_endedAt_idx" ON "AccessRequest"("endedAt");
