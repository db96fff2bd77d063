import express from 'express';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/env';
import { auditRoute } from '../http/audit-route';
import { opsRoutes } from '../http/ops-routes';
import { Readiness } from '../http/readiness';
import type { Infrastructure } from './infrastructure';

export interface HttpOptions {
  config: AppConfig;
  logger: Logger;
  infra: Infrastructure;
  /** The migrations the database must have for /readyz (default prisma/migrations); tests point it elsewhere. */
  migrationsDir?: string;
}

/** The express app every role serves: /healthz, /readyz, /metrics and /audit. In HTTP mode the Slack app adds its
 * route to it too (slack-app.ts), so one port serves both. */
export function createHttp({ config, logger, infra, migrationsDir }: HttpOptions): express.Express {
  const { db, expiryQueue, metrics } = infra;
  const http = express();
  const readiness = new Readiness({
    db,
    redisReachable: (timeoutMs) => expiryQueue.reachable(timeoutMs),
    logger: logger.child({ module: 'readiness' }),
    migrationsDir,
    warnings: () => infra.auditRole.warnings,
  });
  http.use(opsRoutes({ readiness, registry: metrics.registry }));
  http.use('/audit', auditRoute(db, config.auditApiToken, logger.child({ module: 'audit' })));
  return http;
}

/** Listens on `port` (0: any free one) with the whole express app: Slack's route if any, and the ops endpoints. */
export function listen(http: express.Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(http);
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** The lifecycle step that serves `http` on `port`; once started, `port` is the one actually bound (PORT=0 picks a
 * free one). */
export class HttpServer {
  readonly name = 'http server';
  private server: Server | null = null;

  constructor(
    private readonly http: express.Express,
    private readonly configuredPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = await listen(this.http, this.configuredPort);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.configuredPort;
  }
}
