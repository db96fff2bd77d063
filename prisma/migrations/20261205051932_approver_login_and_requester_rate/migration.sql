-- AlterTable
ALTER TABLE "Approval" ADD COLUMN     "approverLogin" TEXT;

-- AlterTable
ALTER TABLE "ExtensionApproval" ADD COLUMN     "approverLogin" TEXT;

-- CreateIndex
CREATE INDEX "AccessRequest_requesterId_createdAt_idx" ON "AccessRequest"("requesterId", "createdAt");
