#!/bin/sh
# The image's entrypoint (Dockerfile): apply the migrations, then become the bot.
#
# Migrations run on every start: idempotent, under PostgreSQL's advisory lock, so replicas starting together are
# safe. They run as MIGRATION_DATABASE_URL, or DATABASE_URL when it is unset; with two database roles keep the
# owner's URL out of the bot's containers and run `node scripts/migrate.mjs` as a job of its own (the Kubernetes
# migration Job, docker-compose.yml's `migrate` service): this step then only checks, as the bot's role, that
# nothing is left to apply (or start `node dist/main.js` directly, as the Kubernetes Deployments do).
#
# A failed migration stops the start with its message (what it tried, why, what to do) and exit status 1, before
# the bot connects anywhere. `exec` replaces this shell with node, so node is the process the orchestrator signals
# and SIGTERM reaches the bot's shutdown directly (with `init: true` / tini as PID 1 reaping zombies). Arguments go
# to the bot: `docker run … breakglass --role=worker`.
set -eu
cd "$(dirname "$0")/.."
node scripts/migrate.mjs
exec node dist/main.js "$@"
