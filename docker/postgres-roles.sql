-- Run once by the postgres image when it creates its data directory (docker-compose.yml mounts it into
-- /docker-entrypoint-initdb.d). POSTGRES_USER (breakglass) owns the database and runs the migrations; the bot
-- connects as breakglass_bot, a member of breakglass_app, which may only append to and read the audit trail
-- (docs/security.md, "Two database roles"). Change both passwords for anything but a local try-out.
CREATE ROLE breakglass_app NOLOGIN;
CREATE ROLE breakglass_bot LOGIN PASSWORD 'breakglass-bot' IN ROLE breakglass_app;
