import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { SHUTDOWN_BOUND_MS } from '../../src/app/lifecycle';
import { ENV_VARIABLES, loadConfig, PROCESS_ROLES } from '../../src/config/env';
import { opsRoutes } from '../../src/http/ops-routes';
import type { Readiness } from '../../src/http/readiness';
import { Registry } from 'prom-client';

/** deploy/kubernetes and docker-compose.yml, checked against the code: ports, probes, roles, environment names,
 * the shutdown bound and the memory the benchmark measured. */
const ROOT = path.resolve(__dirname, '../..');
const K8S = path.join(ROOT, 'deploy/kubernetes');
type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any };
const load = (file: string): Manifest[] =>
  parseAllDocuments(fs.readFileSync(path.join(K8S, file), 'utf8')).map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJSON() as Manifest;
  });
const kustomization = parse(fs.readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
const manifests = kustomization.resources.flatMap(load);
const find = (kind: string, name: string) => {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found;
};
const configMap = find('ConfigMap', 'breakglass-config').data as Record<string, string>;
const [botSecret, migrationSecret] = load('secret.example.yaml');
/** The ${VAR}s the example policy reads: they belong in the bot's Secret too. */
const policyVariables = [
  ...fs
    .readFileSync(path.join(ROOT, 'breakglass.example.yaml'), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .matchAll(/\$\{([A-Z0-9_]+)\}/g),
].map((match) => match[1]);
/** The paths the ops router serves. */
const opsPaths = (opsRoutes({ readiness: {} as Readiness, registry: new Registry() }).stack as Array<{ route?: { path: string } }>).map((layer) => layer.route?.path);
/** Peak RSS of one process revoking 10,000 grants due in the same second (docs/benchmarks.md, 279-303 MiB on Node 26). */
const BENCHMARK_PEAK_MIB = 303;
const mebibytes = (quantity: string) => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
};

describe('Kubernetes manifests', () => {
  it('lists every manifest in kustomization.yaml, and keeps the example Secret out of it', () => {
    const files = fs.readdirSync(K8S).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
    expect([...kustomization.resources, 'secret.example.yaml'].sort()).toEqual(files.sort());
  });

  describe.each([
    ['breakglass-web', 'web'],
    ['breakglass-worker', 'worker'],
  ])('%s', (name, role) => {
    const deployment = find('Deployment', name);
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;

    it(`runs node dist/main.js --role=${role} with its settings from the ConfigMap and the Secret`, () => {
      expect(PROCESS_ROLES).toContain(role);
      expect(container.command).toEqual(['node', 'dist/main.js']);
      expect(container.args).toEqual([`--role=${role}`]);
      expect(fs.existsSync(path.join(ROOT, 'src/main.ts'))).toBe(true);
      expect(container.envFrom).toEqual([{ configMapRef: { name: 'breakglass-config' } }, { secretRef: { name: 'breakglass' } }]);
      // With the ConfigMap and the example Secret, the configuration loads for this role.
      const env = { ...configMap, ...(botSecret.stringData as Record<string, string>) };
      expect(loadConfig(env, container.args)).toMatchObject({ role, port: Number(configMap.PORT), policyPath: '/etc/breakglass/breakglass.yaml' });
      expect(pod.volumes).toEqual([{ name: 'policy', configMap: { name: 'breakglass-policy' } }]);
      expect(container.volumeMounts).toEqual([{ name: 'policy', mountPath: path.posix.dirname(configMap.BREAKGLASS_POLICY), readOnly: true }]);
    });

    it('probes /healthz (startup, liveness) and /readyz (readiness) on the port the bot listens on', () => {
      expect(container.ports).toEqual([{ name: 'http', containerPort: Number(configMap.PORT) }]);
      expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(opsPaths).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']));
      expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/port': configMap.PORT, 'prometheus.io/path': '/metrics' });
    });

    it('waits longer than the bot’s shutdown, reaps zombies, runs unprivileged, sized from the benchmark', () => {
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(SHUTDOWN_BOUND_MS + (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000);
      expect(pod.shareProcessNamespace).toBe(true);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      const { requests, limits } = container.resources;
      expect(mebibytes(requests.memory)).toBeGreaterThanOrEqual(256);
      expect(mebibytes(limits.memory)).toBeGreaterThan(mebibytes(requests.memory));
      if (role === 'worker') expect(mebibytes(limits.memory)).toBeGreaterThan(BENCHMARK_PEAK_MIB * 1.5);
    });

    it('has a PodDisruptionBudget selecting its pods, and at least two replicas for it to matter', () => {
      const budget = manifests.find((manifest) => manifest.kind === 'PodDisruptionBudget' && manifest.metadata.name === name)!;
      expect(budget.spec.minAvailable).toBe(1);
      expect(budget.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    });
  });

  it('the Service sends to the web pods’ http port', () => {
    const service = find('Service', 'breakglass-web');
    expect(service.spec.selector).toEqual(find('Deployment', 'breakglass-web').spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http' }]);
  });

  it('names only environment variables the code reads: settings in env.ts, secrets the policy references', () => {
    const known = new Set([...ENV_VARIABLES, ...policyVariables]);
    const named = [...Object.keys(configMap), ...Object.keys(botSecret.stringData), ...Object.keys(migrationSecret.stringData)];
    expect(named.filter((name) => !known.has(name))).toEqual([]);
    // Every secret the example policy reads is in the example Secret.
    expect(Object.keys(botSecret.stringData)).toEqual(expect.arrayContaining(policyVariables));
  });

  it('keeps the owner’s URL out of the bot’s pods: only the migration Job reads it, and runs the migration script', () => {
    expect(Object.keys(botSecret.stringData)).not.toContain('MIGRATION_DATABASE_URL');
    expect(Object.keys(configMap)).not.toContain('MIGRATION_DATABASE_URL');
    const job = find('Job', 'breakglass-migrate');
    const [container] = job.spec.template.spec.containers;
    expect(container.command).toEqual(['node', 'scripts/migrate.mjs']);
    expect(fs.existsSync(path.join(ROOT, 'scripts/migrate.mjs'))).toBe(true);
    expect(container.env).toEqual([{ name: 'MIGRATION_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'breakglass-migration', key: 'MIGRATION_DATABASE_URL' } } }]);
    expect(ENV_VARIABLES).toContain('MIGRATION_DATABASE_URL');
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, any> };
  const grace = (value: string) => Number(/^(\d+)s$/.exec(value)?.[1]) * 1000;

  it('runs the bot under an init, waits longer than its shutdown, publishes no fixed host port for the scaled web service', () => {
    for (const name of ['web', 'worker', 'migrate']) expect(compose.services[name].init).toBe(true);
    for (const name of ['web', 'worker']) expect(grace(compose.services[name].stop_grace_period)).toBeGreaterThan(SHUTDOWN_BOUND_MS);
    expect(compose.services.web.ports).toEqual(['3000']);
    expect(compose.services.worker.ports).toBeUndefined();
    expect(compose.services.web.command).toEqual(['--role=web']);
    expect(compose.services.worker.command).toEqual(['--role=worker']);
  });

  it('publishes PostgreSQL and Redis on 127.0.0.1 only, in the dev profile only', () => {
    const published = Object.entries(compose.services).filter(([name, service]) => name !== 'web' && service.ports);
    expect(published.map(([name]) => name).sort()).toEqual(['postgres-dev', 'redis-dev']);
    for (const [, service] of published) {
      expect(service.profiles).toEqual(['dev']);
      for (const port of service.ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });
});
