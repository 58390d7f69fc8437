import { BETA_ONLY_MEMBERS, BETA_ONLY_TYPES } from './version-table.js';
import type { GraphVersion } from './wire.js';

const PREFIX = '#microsoft.graph.';

/**
 * The one place v1.0 bodies lose what only beta has (the table is generated from Graph's metadata,
 * scripts/version-table.mjs). Mappers build the beta shape; for v1.0 this walks it and, on every value
 * whose `@odata.type` names a Graph type, drops the members that type declares in beta only. A value of
 * a beta-only type is re-typed as its nearest base that v1.0 has (an operation startRecording created,
 * listed through v1.0, is a plain `commsOperation`: docs/fidelity.md), or becomes null when v1.0 has no
 * such base. Open-type extras the metadata does not declare (applicationMetadata, replacesContext) and
 * `@odata.*` annotations pass unchanged. Beta bodies are returned as they are.
 */
export function forVersion<V>(value: V, version: GraphVersion): V {
  return version === 'beta' ? value : (strip(value) as V);
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const t = o['@odata.type'];
  let drop: readonly string[] = [];
  let type: string | undefined;
  if (typeof t === 'string' && t.startsWith(PREFIX)) {
    const name = t.slice(PREFIX.length);
    const betaOnly = BETA_ONLY_TYPES[name];
    if (betaOnly) {
      if (!betaOnly.base) return null;
      type = `${PREFIX}${betaOnly.base}`;
      drop = betaOnly.drop;
    } else {
      drop = BETA_ONLY_MEMBERS[name] ?? [];
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (drop.includes(k)) continue;
    // defineProperty: a "__proto__" member a client sent stays a plain member.
    Object.defineProperty(out, k, { value: k === '@odata.type' && type ? type : strip(val), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
