import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, parse, parseDocument } from 'yaml';
import { OPTIONS } from './options.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const chart = 'manifests/helm/globalsvc';
const valuesDoc = parseDocument(read(`${chart}/values.yaml`));
const values = valuesDoc.toJS() as Record<string, unknown>;
const templates = readdirSync(new URL(`../../${chart}/templates`, import.meta.url)).map((f) => read(`${chart}/templates/${f}`));
const version = (JSON.parse(read('package.json')) as { version: string }).version;

/** The values the chart's Deployment passes as flags, from the list in templates/_helpers.tpl. */
const flagValues = (() => {
  const body = /\{\{- define "globalsvc\.flagValues" -\}\}\n([\s\S]*?)\{\{- end -\}\}/.exec(read(`${chart}/templates/_helpers.tpl`))?.[1];
  if (body === undefined) throw new Error('templates/_helpers.tpl defines no globalsvc.flagValues');
  return parse(body) as string[];
})();

/** The chart turns a value's name into its flag with Sprig's kebabcase: maxEndpointsPerSlice → --max-endpoints-per-slice. */
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const flagOf = (o: (typeof OPTIONS)[number]) => o.flag.split(' ')[0]!;

/** Where the chart's default deliberately differs from the controller's, and why. */
const CHART_DEFAULTS: Record<string, unknown> = {
  // Two replicas need one writer.
  leaderElect: true,
  // Empty: the release's namespace, where the chart puts the Lease Role.
  leaderElectNamespace: '',
};

describe('the Helm chart', () => {
  it("passes every option of OPTIONS as a flag, in OPTIONS's order, and nothing else", () => {
    expect(flagValues).toEqual(OPTIONS.map((o) => o.key));
    for (const o of OPTIONS) expect(`--${kebab(o.key)}`, o.key).toBe(flagOf(o));
  });

  it('has a value, documented by a comment naming its flag, for every option', () => {
    const contents = valuesDoc.contents;
    if (!isMap(contents)) throw new Error('values.yaml is not a map');
    for (const o of OPTIONS) {
      const pair = contents.items.find((p) => isScalar(p.key) && p.key.value === o.key);
      expect(pair, `values.yaml has ${o.key}`).toBeDefined();
      expect(isScalar(pair!.key) ? pair!.key.commentBefore : undefined, `comment above ${o.key}`).toContain(flagOf(o));
    }
  });

  it('has no value that is neither a flag nor used by a template', () => {
    const flags = new Set<string>(flagValues);
    const unused = Object.keys(values).filter((k) => !flags.has(k) && !templates.some((t) => t.includes(`.Values.${k}`)));
    expect(unused).toEqual([]);
  });

  it("defaults every flag to the controller's default, or leaves it empty, except where the chart says why not", () => {
    for (const o of OPTIONS) {
      const value = values[o.key];
      if (o.key in CHART_DEFAULTS) expect(value, o.key).toEqual(CHART_DEFAULTS[o.key]);
      else if ('default' in o) expect(String(value), o.key).toBe(o.default);
      else expect(value === '' || (Array.isArray(value) && value.length === 0), `${o.key} is empty`).toBe(true);
    }
  });

  it("has the controller's version as appVersion and version, and the kustomize base runs that image too", () => {
    const meta = parse(read(`${chart}/Chart.yaml`)) as { apiVersion: string; version: string; appVersion: string };
    expect(meta).toMatchObject({ apiVersion: 'v2', version, appVersion: version });
    const image = values.image as { repository: string; tag: string };
    expect(image.tag).toBe('');
    expect(read('manifests/base/deployment.yaml')).toContain(`image: ${image.repository}:${version}\n`);
  });
});
