-- AlterTable
ALTER TABLE "AccessRequest" ADD COLUMN     "emergency" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "EmergencyReview" (
    "requestId" UUID NOT NULL,
    "via" TEXT NOT NULL,
    "reviewers" TEXT[],
    "dueAt" TIMESTAMP(3) NOT NULL,
    "verdict" TEXT,
    "reviewedBy" TEXT,
    "reviewedAt" TIMESTAMP(3),
    "flagReason" TEXT,
    "overdueNotices" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EmergencyReview_pkey" PRIMARY KEY ("requestId")
);

-- CreateIndex
CREATE INDEX "EmergencyReview_verdict_dueAt_idx" ON "EmergencyReview"("verdict", "dueAt");

-- AddForeignKey
ALTER TABLE "EmergencyReview" ADD CONSTRAINT "EmergencyReview_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "AccessRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;
