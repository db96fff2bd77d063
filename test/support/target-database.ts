import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Real roles on the test target cluster, with names unique to one test file (roles are cluster-wide). */
export class TargetDatabase {
  readonly suffix = randomBytes(4).toString('hex');
  private readonly created: string[] = [];
  private client: Client | null = null;

  readonly url = process.env.TEST_TARGET_DATABASE_URL!;

  name(base: string): string {
    return `bg_${this.suffix}_${base}`;
  }

  async connect(): Promise<void> {
    this.client = new Client({ connectionString: this.url });
    await this.client.connect();
  }

  /** `attributes`: more role options, e.g. `CREATEROLE`. */
  async createRole(base: string, options: { login: boolean; attributes?: string }): Promise<string> {
    const name = this.name(base);
    await this.query(`CREATE ROLE "${name}" ${options.login ? 'LOGIN' : 'NOLOGIN'} ${options.attributes ?? ''}`);
    this.created.push(name);
    return name;
  }

  async hasRole(login: string, role: string): Promise<boolean> {
    const rows = await this.query('SELECT pg_has_role($1, $2, $3) AS has', [login, role, 'MEMBER']);
    return rows[0].has === true;
  }

  async query(sql: string, params: unknown[] = []): Promise<any[]> {
    if (!this.client) throw new Error('TargetDatabase.connect() first');
    return (await this.client.query(sql, params)).rows;
  }

  async dropAll(): Promise<void> {
    for (const name of this.created.reverse()) await this.query(`DROP ROLE IF EXISTS "${name}"`);
    await this.client?.end();
  }
}
