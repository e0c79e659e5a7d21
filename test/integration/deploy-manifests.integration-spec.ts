import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { loadConfig } from '../../src/config/config.loader';
import { K8sObject, manifestDir, renderKustomization } from '../support/kustomize';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ConfigMap,
  Service,
  Deployment,
  PodDisruptionBudget,
};

type Container = {
  name: string;
  image: string;
  env: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
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

it('the schema validator rejects a malformed Deployment', () => {
  const [deployment] = renderKustomization(manifestDir('overlays', 'production')).filter(
    (o) => o.kind === 'Deployment',
  );
  const broken = structuredClone(deployment) as unknown as { spec: { replicas: unknown } };
  broken.spec.replicas = 'three';
  expect(() => new Deployment(broken as never).validate()).toThrow(/replicas must be integer/);
});

describe.each(['staging', 'production'])('deploy/k8s overlay %s', (environment) => {
  const objects = renderKustomization(manifestDir('overlays', environment));

  it('renders only schema-valid Kubernetes objects', () => {
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

  it('carries flags that the service itself accepts, with the staged rollout in production', () => {
    const data = (find(objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data;
    const config = loadConfig(
      { ...data, DATABASE_URL: 'postgres://u:p@db:5432/md', REDIS_URL: 'redis://redis:6379' },
      { envDir: '/nonexistent' },
    );
    expect(config.APP_ENV).toBe(environment);
    const rollout = [
      config.SUBSCRIPTION_EVENTS_ENABLED,
      config.BACKFILL_IMMEDIATE_ON_SUBSCRIBE,
      config.BACKFILL_SUBSCRIPTION_AWARE,
    ];
    expect(rollout).toEqual(environment === 'production' ? [false, false, false] : [true, true, true]);
  });

  it('probes the health routes and gives shutdown enough grace', () => {
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

  it('keeps a pod available during voluntary disruptions and routes the service to the pods', () => {
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
