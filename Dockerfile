# syntax=docker/dockerfile:1

# Node 26 ("Lithium") is the Active LTS line since 2026-10-28 (maintained until 2029-04-30); CI runs the test suite on
# it (.ci/run) and `engines` in package.json says so. trixie is Debian 13, the current stable. Renovate
# (renovate.json) proposes the next LTS line when it comes, for both stages in one pull request.

# ---- build: install everything, generate the Prisma client, compile, then drop dev dependencies ----
FROM node:26-trixie-slim AS build
WORKDIR /app
# No Prisma telemetry/update check from `prisma generate`.
ENV CHECKPOINT_DISABLE=1

COPY package.json package-lock.json ./
# npm 11 (bundled with Node 26) runs no install scripts but those `allowScripts` allows (it denies all); --ignore-scripts says
# the same to any npm. Nothing needs them: Prisma 7 with a driver adapter (@prisma/adapter-pg) has no native query
# engine to download, and the other native parts (@swc/core, msgpackr-extract) come as prebuilt optional packages.
# `npm install`, not `npm ci`: the lock file lacks other platforms' optional binaries (see .ci/run).
RUN npm install --ignore-scripts --no-audit --no-fund

COPY tsconfig.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
# `prisma generate` (generator "prisma-client", output src/generated/prisma, which .dockerignore keeps out of the
# context so it is always generated from this schema) then tsc compiles it with the rest into dist/. The generated
# client needs only @prisma/client's runtime and the pg adapter at run time, both production dependencies; the
# `prisma` CLI is a dev dependency and leaves with the prune.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies, compiled code, migrations; runs as the unprivileged `node` user ----
FROM node:26-trixie-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Files stay owned by root (read-only for the `node` user); the app writes nothing to disk. No OpenSSL or other
# system package is needed: Prisma 7 has no engine binaries here, and migrations run on @prisma/schema-engine-wasm.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# scripts/migrate.mjs applies prisma/migrations (runtime dependencies only); docker-entrypoint.sh and healthcheck.mjs
# are tested in test/unit/container-scripts.test.ts.
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/prisma ./prisma

# Shown by breakglass_build_info{commit} (docker build --build-arg BREAKGLASS_COMMIT=$(git rev-parse HEAD) .).
ARG BREAKGLASS_COMMIT=""
ENV BREAKGLASS_COMMIT=${BREAKGLASS_COMMIT}

# The image's `node` user, by number: Kubernetes' runAsNonRoot can only check a numeric user.
USER 1000:1000
EXPOSE 3000
# Liveness from inside the container (the slim image has no curl): exits 1 when /healthz does not answer 2xx within
# 3 s. Orchestrators should route traffic on /readyz, which also checks PostgreSQL, Redis and the migrations.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]

# Configuration comes from the environment (see .env.example); mount the policy at /app/breakglass.yaml or set
# BREAKGLASS_POLICY. The entrypoint applies the migrations (MIGRATION_DATABASE_URL, or DATABASE_URL when it is
# unset), then `exec`s node, which receives SIGTERM itself; run it with an init (`docker run --init`, compose's
# `init: true`, Kubernetes' shareProcessNamespace) so zombies of the command provider's children are reaped. Give it
# a stop timeout above the bot's shutdown (about 20 s at most; docs/operations.md). Arguments (CMD) go to main.js:
# `docker run --init … breakglass --role=worker`.
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["--role=all"]
