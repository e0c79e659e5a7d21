import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

// The subset of kustomize that deploy/k8s uses (resources, strategic-merge patches, namespace,
// images, labels), so CI can render and validate the overlays without a cluster or a kustomize
// binary. `kubectl kustomize deploy/k8s/overlays/<env>` is the real renderer.

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

interface Kustomization {
  resources?: string[];
  patches?: { path: string }[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
}

function readYaml(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJS() as unknown);
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Strategic merge as kustomize applies it to these manifests: maps merge, named lists merge by name. */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (isObject(target) && isObject(patch)) {
    const merged: Json = { ...target };
    for (const [key, value] of Object.entries(patch))
      merged[key] = key in target ? strategicMerge(target[key], value) : value;
    return merged;
  }
  if (
    Array.isArray(target) &&
    Array.isArray(patch) &&
    patch.every((item) => isObject(item) && 'name' in item)
  ) {
    const merged = target.map((item) => {
      const match = patch.find((p) => isObject(item) && (p as Json).name === item.name);
      return match ? strategicMerge(item, match) : item;
    });
    for (const item of patch)
      if (!target.some((t) => isObject(t) && t.name === (item as Json).name)) merged.push(item);
    return merged;
  }
  return patch;
}

function withSelectorLabels(object: K8sObject, pairs: Record<string, string>): void {
  const spec = object.spec as Json | undefined;
  if (!spec) return;
  if (object.kind === 'Service') spec.selector = { ...(spec.selector as Json), ...pairs };
  const selector = spec.selector as Json | undefined;
  if (object.kind !== 'Service' && selector && isObject(selector.matchLabels))
    selector.matchLabels = { ...selector.matchLabels, ...pairs };
  const template = spec.template as Json | undefined;
  if (template && isObject(template.metadata))
    template.metadata.labels = { ...(template.metadata.labels as Json), ...pairs };
}

export function renderKustomization(dir: string): K8sObject[] {
  const kustomization = readYaml(join(dir, 'kustomization.yaml'))[0] as Kustomization;
  let objects: K8sObject[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    objects.push(
      ...(resource.endsWith('.yaml') ? (readYaml(path) as K8sObject[]) : renderKustomization(path)),
    );
  }
  for (const { path } of kustomization.patches ?? []) {
    for (const patch of readYaml(join(dir, path)) as K8sObject[]) {
      const index = objects.findIndex(
        (o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name,
      );
      if (index < 0) throw new Error(`patch ${path} targets missing ${patch.kind}/${patch.metadata.name}`);
      objects[index] = strategicMerge(objects[index], patch) as K8sObject;
    }
  }
  objects = objects.map((object) => structuredClone(object));
  for (const object of objects) {
    for (const { pairs, includeSelectors } of kustomization.labels ?? []) {
      object.metadata.labels = { ...object.metadata.labels, ...pairs };
      if (includeSelectors) withSelectorLabels(object, pairs);
    }
    if (kustomization.namespace) object.metadata.namespace = kustomization.namespace;
    for (const image of kustomization.images ?? []) {
      const podSpec = ((object.spec as Json | undefined)?.template as Json | undefined)?.spec as
        Json | undefined;
      const containers = [
        ...((podSpec?.initContainers as Json[] | undefined) ?? []),
        ...((podSpec?.containers as Json[] | undefined) ?? []),
      ];
      for (const container of containers) {
        const [name, tag] = String(container.image).split(':');
        if (name === image.name || name === image.newName)
          container.image = `${image.newName ?? name}:${image.newTag ?? tag ?? 'latest'}`;
      }
    }
  }
  return objects;
}

export const manifestDir = (...parts: string[]): string =>
  join(dirname(__dirname), '..', 'deploy', 'k8s', ...parts);
