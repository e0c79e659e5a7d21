import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { parse as parseYaml } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { loadAppConfig } from '../../src/app.settings';
import { ConfigValidationError } from '../../src/config/config.loader';

async function loadConfig(env: Record<string, string>, options: { envDir: string }) {
  return (await loadAppConfig({ env, ...options })).config;
}
import { K8sObject, manifestDir, renderKustomization } from '../support/kustomize';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ConfigMap,
  Service,
  Deployment,
  PodDisruptionBudget,
};

const ROOT = join(__dirname, '..', '..');

/** What the `market-data-secrets` Secret provides (the test's stand-in values). */
const SECRET = {
  DATABASE_URL: 'postgres://u:p@db:5432/md',
  REDIS_URL: 'redis://redis:6379',
  API_KEY: 'a-key-from-the-secret',
};

type Container = {
  name: string;
  image: string;
  command?: string[];
  envFrom?: { configMapRef?: { name: string } }[];
  env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
  startupProbe: { httpGet: { path: string } };
  lifecycle: { preStop: { sleep: { seconds: number } } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
};

function find(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.find((object) => object.kind === kind);
  if (!found) throw new Error(`no ${kind} rendered`);
  return found;
}

it('the schema validator rejects a malformed Deployment', async () => {
  const [deployment] = renderKustomization(manifestDir('overlays', 'production')).filter(
    (o) => o.kind === 'Deployment',
  );
  const broken = structuredClone(deployment) as unknown as { spec: { replicas: unknown } };
  broken.spec.replicas = 'three';
  expect(() => new Deployment(broken as never).validate()).toThrow(/replicas must be integer/);
});

describe.each(['staging', 'production'])('deploy/k8s overlay %s', (environment) => {
  const objects = renderKustomization(manifestDir('overlays', environment));

  it('renders only schema-valid Kubernetes objects', async () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
    ]);
    for (const object of objects) {
      const Model = MODELS[object.kind];
      expect(() => new Model(object as never).validate()).not.toThrow();
      expect(object.metadata.namespace).toMatch(/^market-data/);
    }
  });

  const configMap = (): Record<string, string> =>
    (find(objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data;
  it('carries flags that the service itself accepts, with the staged rollout in production', async () => {
    const data = configMap();
    const config = await loadConfig({ ...data, ...SECRET }, { envDir: '/nonexistent' });
    expect(config.APP_ENV).toBe(environment);
    const rollout = [
      config.SUBSCRIPTION_EVENTS_ENABLED,
      config.BACKFILL_IMMEDIATE_ON_SUBSCRIBE,
      config.BACKFILL_SUBSCRIPTION_AWARE,
    ];
    expect(rollout).toEqual(environment === 'production' ? [false, false, false] : [true, true, true]);
  });

  it('probes the health routes and gives shutdown enough grace', async () => {
    const deployment = find(objects, 'Deployment') as unknown as {
      spec: {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: {
          metadata: { labels: Record<string, string> };
          spec: { terminationGracePeriodSeconds: number; containers: Container[] };
        };
      };
    };
    const data = (find(objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data;
    const { spec } = deployment;
    expect(spec.replicas).toBeGreaterThan(1);
    expect(spec.template.metadata.labels).toEqual(expect.objectContaining(spec.selector.matchLabels));
    const [container] = spec.template.spec.containers;
    expect(container.image).toMatch(/^registry\.example\.com\/nifty\/market-data:/);
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.startupProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    // preStop pause + the service's shutdown bound + its 2 s hard-exit margin must fit in the grace period.
    const needed = container.lifecycle.preStop.sleep.seconds + Number(data.SHUTDOWN_TIMEOUT_MS) / 1000 + 2;
    expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(needed);
    const secrets = container.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    expect(secrets).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'API_KEY', 'KITE_ACCESS_TOKEN']),
    );
    expect(Object.keys(data)).not.toEqual(expect.arrayContaining(['DATABASE_URL']));
  });

  it('keeps a pod available during voluntary disruptions and routes the service to the pods', async () => {
    const pdb = find(objects, 'PodDisruptionBudget') as unknown as {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    const service = find(objects, 'Service') as unknown as { spec: { selector: Record<string, string> } };
    const deployment = find(objects, 'Deployment') as unknown as {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(deployment.spec.template.metadata.labels).toEqual(
      expect.objectContaining(pdb.spec.selector.matchLabels),
    );
    expect(deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(service.spec.selector));
  });
});

describe.each(['staging', 'production'])('deploy/k8s overlay %s: one source of truth', (environment) => {
  const objects = renderKustomization(manifestDir('overlays', environment));
  const data = (find(objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data;
  const spec = (
    find(objects, 'Deployment') as unknown as {
      spec: { template: { spec: { containers: Container[]; initContainers?: Container[] } } };
    }
  ).spec.template.spec;
  const envFile = parseEnv(readFileSync(join(ROOT, `.env.${environment}`)));

  it(`agrees with .env.${environment} on every setting both set`, async () => {
    const both = Object.keys(data).filter((key) => key in envFile);
    expect(both.length).toBeGreaterThan(10);
    const disagreements = both
      .filter((key) => data[key] !== envFile[key])
      .map((key) => `${key}: ConfigMap ${data[key]}, .env.${environment} ${envFile[key]}`);
    expect(disagreements).toEqual([]);
  });

  it('runs with what the pod really reads (the ConfigMap over the image .env file): no migration at boot', async () => {
    const config = await loadConfig({ ...data, ...SECRET }, { envDir: ROOT });
    expect(config.APP_ENV).toBe(environment);
    expect(config.DB_MIGRATE_ON_BOOT).toBe(false);
    expect(config.API_KEY).toBe(SECRET.API_KEY);
  });

  it('applies migrations in an init container, with the same image, settings and secrets', async () => {
    const [service] = spec.containers;
    const [migrate] = spec.initContainers ?? [];
    expect(migrate).toBeDefined();
    expect(migrate.image).toBe(service.image);
    expect(migrate.command).toEqual(['node', 'dist/migrate.js']);
    expect(migrate.envFrom).toEqual(service.envFrom);
    expect(migrate.env.map((e) => e.name)).toEqual(expect.arrayContaining(['DATABASE_URL']));
  });

  it('requires API_KEY from the Secret: not optional, and the service refuses to start without it', async () => {
    const [service] = spec.containers;
    const apiKey = service.env.find((e) => e.name === 'API_KEY');
    expect(apiKey?.valueFrom?.secretKeyRef).toEqual({ name: 'market-data-secrets', key: 'API_KEY' });
    const { API_KEY: _omitted, ...withoutKey } = SECRET;
    await expect(loadConfig({ ...data, ...withoutKey }, { envDir: ROOT })).rejects.toThrow(
      ConfigValidationError,
    );
    await expect(loadConfig({ ...data, ...withoutKey }, { envDir: ROOT })).rejects.toThrow(
      /API_KEY: required/,
    );
  });
});

describe('container images', () => {
  const fromLines = (file: string): string[] =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => /^FROM\s/i.test(line))
      .map((line) => line.split(/\s+/)[1]);

  it.each(['Dockerfile', 'Dockerfile.simulator'])('%s runs Node 22 LTS at a pinned version', (file) => {
    const images = fromLines(file);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images)
      expect(image).toMatch(/^node:22\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it('docker-compose pins every image it pulls to a full version', async () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string; build?: unknown }>;
    };
    const images = Object.values(compose.services).flatMap((s) => (s.image ? [s.image] : []));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(/:\d+\.\d+\.\d+(-[\w.]+)?(@sha256:[0-9a-f]{64})?$/);
  });

  it('the package allows the Node the images run', async () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(engines.node).toMatch(/>=22/);
  });
});
