-- CreateTable
CREATE TABLE "IncidentClosure" (
    "id" UUID NOT NULL,
    "channelId" TEXT NOT NULL,
    "via" TEXT NOT NULL,
    "closedBy" TEXT NOT NULL,
    "closedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IncidentClosure_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "IncidentClosure_channelId_closedAt_idx" ON "IncidentClosure"("channelId", "closedAt");
