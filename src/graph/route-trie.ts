/**
 * The Graph paths graph-calls serves, per version, as a trie of segments. It explains a miss the way
 * Graph does: the first segment nothing matches is named ("Resource not found for the segment 'x'."),
 * and a known path with the wrong method is a 405. Filled from fastify's onRoute, so it cannot drift
 * from the routes.
 */
interface Node {
  literals: Map<string, Node>;
  param: Node | null;
  methods: Set<string>;
}

const newNode = (): Node => ({ literals: new Map(), param: null, methods: new Set() });

export type Miss = { kind: 'segment'; segment: string; index: number } | { kind: 'method' } | { kind: 'none' };

export class RouteTrie {
  private readonly roots = new Map<string, Node>();

  add(path: string, methods: readonly string[]): void {
    const [root, ...rest] = split(path);
    if (!root) return;
    let node = this.roots.get(root.toLowerCase()) ?? newNode();
    this.roots.set(root.toLowerCase(), node);
    for (const seg of rest) {
      if (seg.startsWith(':')) node = node.param ??= newNode();
      else {
        const key = seg.toLowerCase();
        let next = node.literals.get(key);
        if (!next) node.literals.set(key, (next = newNode()));
        node = next;
      }
    }
    for (const m of methods) node.methods.add(m.toUpperCase());
  }

  /** Why `path` did not route. Literal segments win over parameters, as in the router. */
  explain(path: string, method: string): Miss {
    const [root, ...rest] = split(path);
    let node = root ? this.roots.get(root.toLowerCase()) : undefined;
    if (!node) return { kind: 'none' };
    for (const [i, seg] of rest.entries()) {
      const next: Node | null | undefined = node.literals.get(seg.toLowerCase()) ?? node.param;
      if (!next) return { kind: 'segment', segment: seg, index: i + 1 };
      node = next;
    }
    if (node.methods.size === 0) return { kind: 'segment', segment: rest.at(-1) ?? root!, index: rest.length };
    return node.methods.has(method.toUpperCase()) ? { kind: 'none' } : { kind: 'method' };
  }
}

export function split(path: string): string[] {
  const q = path.indexOf('?');
  return (q >= 0 ? path.slice(0, q) : path).split('/').filter(Boolean).map((s) => {
    try { return decodeURIComponent(s); } catch { return s; }
  });
}
