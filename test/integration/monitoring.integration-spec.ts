import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MetricsService } from '../../src/metrics/metrics.service';

// Alerts and dashboards fail silently when a metric is renamed: every name they use must be one the
// service registers.
const DIR = join(__dirname, '..', '..', 'deploy', 'monitoring');
const PROMQL_FUNCTIONS = new Set([
  'sum',
  'rate',
  'increase',
  'max',
  'min',
  'by',
  'and',
  'on',
  'or',
  'histogram_quantile',
  'clamp_min',
  'hour',
  'day_of_week',
  'le',
  'up',
]);

function metricNames(expr: string): string[] {
  const withoutLabels = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|on)\s*\([^)]*\)/g, '');
  return [...withoutLabels.matchAll(/[a-z_][a-z0-9_]*/g)]
    .map((m) => m[0])
    .filter((name) => !PROMQL_FUNCTIONS.has(name) && name.includes('_'));
}

function registered(): Set<string> {
  const names = new Set<string>();
  for (const metric of new MetricsService().registry.getMetricsAsArray()) {
    names.add(metric.name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

describe('monitoring artefacts', () => {
  const known = registered();

  it('alert rules parse and use only metrics the service exposes', () => {
    const rules = parse(readFileSync(join(DIR, 'prometheus-rules.yaml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[];
    };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const rule of all) {
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      for (const name of metricNames(rule.expr))
        expect({ alert: rule.alert, name, known: known.has(name) }).toEqual({
          alert: rule.alert,
          name,
          known: true,
        });
    }
    const exprs = all.map((r) => r.expr).join('\n');
    for (const promised of [
      'subscription_events_total',
      'backfill_triggers_total',
      'backfill_time_to_data_seconds_bucket',
    ])
      expect(exprs).toContain(promised);
  });

  it('the dashboard uses only metrics the service exposes', () => {
    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const name of metricNames(target.expr))
          expect({ panel: panel.title, name, known: known.has(name) }).toEqual({
            panel: panel.title,
            name,
            known: true,
          });
      }
    }
  });
});
