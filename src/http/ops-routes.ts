import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness';

/** GET /healthz (the process answers), /readyz (it can do its work) and /metrics (Prometheus). No Slack secret or
 * token is involved: these are for the load balancer, the orchestrator and Prometheus. */
export function opsRoutes({ readiness, registry }: { readiness: Readiness; registry: Registry }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await readiness.check();
    const failing = Object.entries(report.checks)
      .filter(([, result]) => result !== 'ok')
      .map(([name]) => name);
    res.status(report.ready ? 200 : 503).json({
      status: report.ready ? 'ready' : 'not ready',
      checks: report.checks,
      ...(failing.length ? { failing } : {}),
      ...(report.warnings.length ? { warnings: report.warnings } : {}),
    });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
