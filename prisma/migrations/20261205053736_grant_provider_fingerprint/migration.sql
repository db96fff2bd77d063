-- AlterTable
ALTER TABLE "Grant" ADD COLUMN     "providerDescription" TEXT,
ADD COLUMN     "providerFingerprint" TEXT;
