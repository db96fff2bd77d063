# syntax=docker/dockerfile:1

# ---- build: install everything, generate the Prisma client, compile, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# No Prisma telemetry/update check from `prisma generate`.
ENV CHECKPOINT_DISABLE=1

COPY package.json package-lock.json ./
# Install scripts are all denied in package.json (`allowScripts`), but only npm 11 reads that field; the npm 10
# bundled with Node 20 would run them (e.g. Prisma's native engine download). --ignore-scripts gives the same
# result with any npm. Nothing here needs them: native binaries come from prebuilt optional packages.
RUN npm install --ignore-scripts --no-audit --no-fund

COPY tsconfig.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
# prisma generate (with PRISMA_SCHEMA_ENGINE_BINARY=/dev/null, set by the npm script) + tsc -> dist/
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies, compiled code, migrations; runs as the unprivileged `node` user ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Files stay owned by root (read-only for the `node` user); the app writes nothing to disk.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# scripts/migrate.mjs applies prisma/migrations through @prisma/schema-engine-wasm (runtime dependencies).
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/prisma ./prisma

USER node
EXPOSE 3000
# Liveness from inside the container (the slim image has no curl). Orchestrators should route traffic on /readyz,
# which also checks PostgreSQL, Redis and the migrations.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Configuration comes from the environment (see .env.example); mount the policy at /app/breakglass.yaml or set
# BREAKGLASS_POLICY. Migrations are applied on every start (idempotent, under PostgreSQL's advisory lock, so
# replicas starting together are safe) as MIGRATION_DATABASE_URL, or DATABASE_URL when it is unset. With two
# database roles (see the README), keep the owner's URL out of the bot's containers: run the migrations as a
# job of their own (`docker run --entrypoint node -e MIGRATION_DATABASE_URL=… breakglass scripts/migrate.mjs`, or
# docker-compose.yml's `migrate` service); the step below then only finds, as the bot's role, nothing to apply.
# `exec` makes node PID 1 so it receives SIGTERM directly and shuts down cleanly. The arguments (CMD) go to main.js:
# `docker run … breakglass --role=worker`.
ENTRYPOINT ["sh", "-c", "node scripts/migrate.mjs && exec node dist/main.js \"$@\"", "breakglass"]
CMD ["--role=all"]
