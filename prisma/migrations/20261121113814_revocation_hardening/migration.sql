-- AlterEnum
ALTER TYPE "RequestStatus" ADD VALUE 'TIMED_OUT';

-- AlterTable
ALTER TABLE "AccessRequest" ADD COLUMN     "lastRevokeError" TEXT,
ADD COLUMN     "revokeAttempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "revokeFailingSince" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Grant" DROP COLUMN "lastRevokeError",
DROP COLUMN "revokeAttempts";

-- CreateTable
CREATE TABLE "RevokeAlert" (
    "id" UUID NOT NULL,
    "requestId" UUID NOT NULL,
    "channelId" TEXT NOT NULL,
    "messageTs" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMP(3),

    CONSTRAINT "RevokeAlert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RevokeAlert_requestId_channelId_key" ON "RevokeAlert"("requestId", "channelId");

-- CreateIndex
CREATE INDEX "AccessRequest_status_createdAt_idx" ON "AccessRequest"("status", "createdAt");

-- CreateIndex
CREATE INDEX "AccessRequest_resourceId_grantName_requesterLogin_status_idx" ON "AccessRequest"("resourceId", "grantName", "requesterLogin", "status");

-- AddForeignKey
ALTER TABLE "RevokeAlert" ADD CONSTRAINT "RevokeAlert_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "AccessRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;
