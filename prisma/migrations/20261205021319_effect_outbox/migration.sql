-- CreateTable
CREATE TABLE "Effect" (
    "id" BIGSERIAL NOT NULL,
    "pool" TEXT NOT NULL,
    "lane" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "requestId" UUID,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "runAfter" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "leasedBy" TEXT,
    "deliveredAt" TIMESTAMP(3),
    "gaveUp" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Effect_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EffectRunnerBeat" (
    "id" TEXT NOT NULL,
    "beatAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "EffectRunnerBeat_pkey" PRIMARY KEY ("id")
);

-- Written by hand: Prisma does not model partial indexes.
-- Runners claim by walking a pool's undelivered effects in id order and checking that no undelivered effect of the
-- same lane comes earlier. Both walks cover undelivered rows only, so they stay small and cheap however many
-- delivered rows the table keeps.
CREATE INDEX "Effect_undelivered_pool_id" ON "Effect"("pool", "id") WHERE "deliveredAt" IS NULL;
CREATE INDEX "Effect_undelivered_lane_id" ON "Effect"("lane", "id") WHERE "deliveredAt" IS NULL;
