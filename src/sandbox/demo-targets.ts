import type { IncomingHttpHeaders } from 'node:http';
import { Client } from 'pg';
import { verifyWebhook } from '../webhook-verifier';
import { SANDBOX_PEOPLE } from './people';

/** The demo's PostgreSQL target: a login per sandbox person and two group roles the bot grants, on one database. Role
 * names carry `prefix` (empty in the embedded database; tests sharing a cluster set one). */
export class DemoPostgresTarget {
  constructor(
    /** A connection able to create roles and GRANT them (the provider's url). */
    readonly adminUrl: string,
    readonly prefix = '',
  ) {}

  get readRole(): string {
    return `${this.prefix}demo_read`;
  }

  get writeRole(): string {
    return `${this.prefix}demo_write`;
  }

  login(base: string): string {
    return `${this.prefix}${base}`;
  }

  /** Creates the roles that are missing: logins for the people, NOLOGIN roles to grant. */
  async prepare(): Promise<void> {
    await this.withClient(async (client) => {
      const roles = [
        ...SANDBOX_PEOPLE.map((person) => ({ name: this.login(person.login), login: true })),
        { name: this.readRole, login: false },
        { name: this.writeRole, login: false },
      ];
      for (const role of roles) {
        const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.name]);
        if (exists.rowCount === 0) await client.query(`CREATE ROLE ${client.escapeIdentifier(role.name)} ${role.login ? 'LOGIN' : 'NOLOGIN'}`);
      }
    });
  }

  /** Who is a member of each granted role right now: what the page shows under "Targets". */
  async members(): Promise<{ role: string; members: string[] }[]> {
    return this.withClient(async (client) => {
      const { rows } = await client.query<{ role: string; member: string | null }>(
        `SELECT r.rolname AS role, m.rolname AS member
           FROM pg_roles r
           LEFT JOIN pg_auth_members am ON am.roleid = r.oid
           LEFT JOIN pg_roles m ON m.oid = am.member
          WHERE r.rolname = ANY($1)
          ORDER BY r.rolname, m.rolname`,
        [[this.readRole, this.writeRole]],
      );
      const byRole = new Map<string, string[]>([
        [this.readRole, []],
        [this.writeRole, []],
      ]);
      for (const row of rows) if (row.member) byRole.get(row.role)?.push(row.member);
      return [...byRole].map(([role, members]) => ({ role, members }));
    });
  }

  /** Drops the demo roles (tests clean up what they made on a shared cluster). */
  async dropAll(): Promise<void> {
    await this.withClient(async (client) => {
      for (const name of [this.readRole, this.writeRole, ...SANDBOX_PEOPLE.map((person) => this.login(person.login))]) {
        await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(name)}`);
      }
    });
  }

  private async withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
}

/** One access the webhook target holds. */
export interface WebhookAccess {
  login: string;
  resource: string;
  role: string;
  expiresAt: string | null;
}

/** A call the webhook target received, as the page lists it. */
export interface WebhookCall {
  at: number;
  action: string;
  login: string;
  status: number;
  result: string;
}

const MAX_CALLS = 20;

/** The demo's webhook target, served by the sandbox: checks each call with the shipped verifier
 * (src/webhook-verifier.ts), keeps who has access, and applies each idempotency key once. */
export class DemoWebhookTarget {
  readonly access = new Map<string, WebhookAccess>();
  readonly calls: WebhookCall[] = [];
  private readonly appliedKeys = new Set<string>();

  constructor(
    readonly secret: string,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Answers one call: the HTTP status and JSON body. */
  handle(rawBody: Buffer, headers: IncomingHttpHeaders): { status: number; body: object } {
    const verification = verifyWebhook(rawBody, headers, { secret: this.secret });
    let payload: any = {};
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      // answered below as a bad signature or a bad body
    }
    const answer = (status: number, body: object, result: string) => {
      this.calls.push({ at: Date.now(), action: String(payload.action ?? '?'), login: String(payload.user?.login ?? '?'), status, result });
      if (this.calls.length > MAX_CALLS) this.calls.shift();
      this.onChange();
      return { status, body };
    };
    if (!verification.ok) return answer(401, { error: `bad signature: ${verification.reason}` }, 'refused: bad signature');
    const key = `${payload.user?.login}:${payload.resource}:${payload.role}`;
    if (payload.action === 'verify') return answer(200, { granted: this.access.has(key) }, this.access.has(key) ? 'granted' : 'not granted');
    if (this.appliedKeys.has(payload.idempotencyKey)) return answer(200, { result: 'already' }, 'already applied');
    if (payload.action === 'grant' || (payload.action === 'extend' && this.access.has(key))) {
      this.access.set(key, { login: payload.user.login, resource: payload.resource, role: payload.role, expiresAt: payload.expiresAt ?? null });
    } else if (payload.action === 'revoke') {
      this.access.delete(key);
    }
    this.appliedKeys.add(payload.idempotencyKey);
    return answer(200, { result: 'done' }, 'done');
  }
}
