// A Kubernetes LabelSelector (matchLabels, matchExpressions) as the API's labelSelector query
// parameter: what a list or watch of exactly those objects sends (apimachinery's
// LabelSelectorAsSelector, then String()).

export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly { key: string; operator: string; values?: readonly string[] }[];
}

export class SelectorError extends Error {
  override name = 'SelectorError';
}

/**
 * The selector's query form: `k=v` per label, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, joined by
 * commas, sorted by key as apimachinery sorts them. An empty selector selects everything (`""`).
 */
export function labelSelectorString(selector: LabelSelector): string {
  const terms: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) terms.push({ key, text: `${key}=${value}` });
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort();
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) throw new SelectorError(`${e.key} ${e.operator} needs at least one value`);
        terms.push({ key: e.key, text: `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${values.join(',')})` });
        break;
      case 'Exists':
        terms.push({ key: e.key, text: e.key });
        break;
      case 'DoesNotExist':
        terms.push({ key: e.key, text: `!${e.key}` });
        break;
      default:
        throw new SelectorError(`"${e.operator}" is not a selector operator (In, NotIn, Exists, DoesNotExist)`);
    }
  }
  return terms
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((t) => t.text)
    .join(',');
}
