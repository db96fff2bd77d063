import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Histogram } from 'prom-client';
import { parse } from 'yaml';
import { createPrisma } from '../../src/db/prisma';
import { createLogger } from '../../src/logger';
import { BreakglassMetrics } from '../../src/metrics/breakglass-metrics';
import { HealthMetrics } from '../../src/metrics/health-metrics';
import { parsePolicy } from '../../src/policy/load-policy';
import { offlinePolicy } from '../e2e/policy-fixture';

/** deploy/prometheus/alerts.yml and the Grafana dashboard: valid for Prometheus (promtool, from Debian's prometheus
 * package; .ci/run installs it), each alert fires on what it is for (alerts.test.yml), and every metric they name
 * exists in the bot's registry. */
const ROOT = path.resolve(__dirname, '../..');
const PROMETHEUS_DIR = path.join(ROOT, 'deploy/prometheus');
const rules = parse(fs.readFileSync(path.join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }> }>;
};
const alerts = rules.groups.flatMap((group) => group.rules);
const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/breakglass-dashboard.json'), 'utf8')) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  } catch (err) {
    const error = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (error.code === 'ENOENT') throw new Error('promtool is not installed: `apt-get install --no-install-recommends prometheus` (.ci/run does)');
    throw new Error(`promtool ${args.join(' ')} failed:\n${error.stdout}${error.stderr}`);
  }
}

/** Every metric the bot's registry has, in every role (the worker-only heartbeat too), as Prometheus names them. */
function registryNames(): Set<string> {
  const policy = parsePolicy(offlinePolicy('rules'), 'policy.yaml', {});
  // Nothing is queried: gauges read the database only when collected.
  const db = createPrisma('postgresql://nobody@127.0.0.1:1/none');
  const logger = createLogger('silent');
  const metrics = new BreakglassMetrics(db, policy, logger);
  new HealthMetrics({ registry: metrics.registry, db, logger, queues: () => ({}), runsExpiries: true, auditSealBoundMs: 5_000 });
  const names = new Set<string>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const { name } = metric as unknown as { name: string };
    names.add(name);
    if (metric instanceof Histogram) for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The metric names a PromQL expression uses: ours, and prom-client's process and Node.js metrics. */
const metricsIn = (expr: string) => [...expr.matchAll(/\b((?:breakglass|process|nodejs)_[a-z0-9_]+)\b/g)].map((match) => match[1]);

describe('Prometheus rules and the Grafana dashboard', () => {
  it('promtool accepts the rules, and its unit tests (alerts.test.yml) pass', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toContain('SUCCESS: 5 rules found');
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it('has the alerts the promise needs, each with a severity, a wait and a summary, and a unit test', () => {
    expect(alerts.map((rule) => rule.alert)).toEqual([
      'BreakglassGrantsOverdue',
      'BreakglassRevocationsFailing',
      'BreakglassNoWorkerAlive',
      'BreakglassOutboxBacklog',
      'BreakglassAuditUnsealed',
    ]);
    const tests = parse(fs.readFileSync(path.join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const firing = new Set(tests.tests.flatMap((test) => test.alert_rule_test.filter((check) => check.exp_alerts.length > 0).map((check) => check.alertname)));
    const quiet = new Set(tests.tests.flatMap((test) => test.alert_rule_test.filter((check) => check.exp_alerts.length === 0).map((check) => check.alertname)));
    for (const rule of alerts) {
      expect(rule).toMatchObject({
        for: expect.any(String),
        labels: { severity: expect.stringMatching(/^(page|warning)$/) },
        annotations: { summary: expect.any(String), description: expect.any(String) },
      });
      expect([rule.alert, firing.has(rule.alert), quiet.has(rule.alert)]).toEqual([rule.alert, true, true]);
    }
  });

  it('every metric named in the rules and the dashboard exists in the bot’s registry', () => {
    const names = registryNames();
    const used = [
      ...alerts.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: `panel ${panel.title}`, expr: target.expr }))),
    ];
    const unknown = used.flatMap(({ where, expr }) =>
      metricsIn(expr)
        .filter((name) => !names.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // The check sees what it should: every alert names at least one metric, and the registry is not empty.
    for (const rule of alerts) expect(metricsIn(rule.expr).length).toBeGreaterThan(0);
    expect(names.has('breakglass_grants_overdue')).toBe(true);
    expect(names.has('breakglass_revocation_lag_seconds_bucket')).toBe(true);
  });
});
