import type { Logger } from 'pino';
import type { Db } from '../db/prisma';

/** What the bot's own database role could do to the audit trail beyond appending to it and reading it. */
export interface AuditTamperRights {
  /** The role the bot connects as (current_user). */
  role: string;
  /** Empty when the role may only INSERT and SELECT audit events, as the breakglass_app role grants. */
  rights: string[];
}

/** Reads the bot role's rights on the audit tables. Null when the tables are not there yet (migrations not applied:
 * /readyz says so on its own). A superuser can do everything, whatever the grants say. */
export async function auditTamperRights(db: Db): Promise<AuditTamperRights | null> {
  const rows = await db.$queryRaw<
    Array<{ role: string; superuser: boolean; owner: boolean; update: boolean; delete: boolean; truncate: boolean; headOwner: boolean; headWrite: boolean }>
  >`
    SELECT current_user::text AS role,
           coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
           pg_has_role(current_user, e.relowner, 'MEMBER') AS owner,
           has_table_privilege(e.oid, 'UPDATE') AS update,
           has_table_privilege(e.oid, 'DELETE') AS delete,
           has_table_privilege(e.oid, 'TRUNCATE') AS truncate,
           pg_has_role(current_user, h.relowner, 'MEMBER') AS "headOwner",
           has_table_privilege(h.oid, 'UPDATE') OR has_table_privilege(h.oid, 'DELETE') OR has_table_privilege(h.oid, 'TRUNCATE') AS "headWrite"
      FROM pg_class e, pg_class h
     WHERE e.oid = to_regclass('"AuditEvent"') AND h.oid = to_regclass('"AuditChainHead"')`;
  const row = rows[0];
  if (!row) return null;
  const rights = row.superuser
    ? ['is a superuser']
    : [
        ...(row.owner ? ['owns "AuditEvent" (it can switch its triggers off)'] : []),
        ...(['update', 'delete', 'truncate'] as const).filter((right) => row[right]).map((right) => `may ${right.toUpperCase()} "AuditEvent"`),
        ...(row.headOwner ? ['owns "AuditChainHead"'] : row.headWrite ? ['may change "AuditChainHead"'] : []),
      ];
  return { role: row.role, rights };
}

/** The warning for a role that can rewrite the audit trail, or null when it cannot. */
export function auditRoleWarning(found: AuditTamperRights | null): string | null {
  if (!found || found.rights.length === 0) return null;
  return (
    `the bot's database role ${JSON.stringify(found.role)} ${found.rights.join(', ')}: the audit trail is only tamper-evident, not tamper-proof. ` +
    'Run the bot as a role that is a member of breakglass_app (DATABASE_URL) and the migrations as the owner (MIGRATION_DATABASE_URL); see docs/security.md, "Two database roles"'
  );
}

/** How long the start-up check may hold up the start (an unreachable database is /readyz's business). */
const CHECK_TIMEOUT_MS = 5_000;

/** Checks once at start-up whether the bot's own role could rewrite the audit trail, and warns if so (in the log, and
 * in /readyz through `warnings`). Never stops the process: a single URL keeps working for a quick start. */
export class AuditRoleCheck {
  readonly name = 'audit role check';
  private warning: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from PostgreSQL within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
    });
    const query = auditTamperRights(this.db);
    query.catch(() => {}); // a late failure after the timeout has been logged already
    try {
      this.warning = auditRoleWarning(await Promise.race([query, timeout]));
    } catch (err) {
      // The database may be down at start; /readyz reports that. The check is advice, not a precondition.
      this.logger.warn({ err }, 'could not check the database role of the bot');
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.warning) this.logger.warn(this.warning);
  }

  /** What /readyz shows besides its checks (none when the role is restricted). */
  get warnings(): string[] {
    return this.warning ? [this.warning] : [];
  }
}
