/**
 * Puts `key` in `map`, first forgetting the oldest entry (insertion order) when the map already holds
 * `max`: the bounded caches of the hot path (call identities, callback verdicts, decoded clips).
 */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): V {
  if (map.size >= max && !map.has(key)) map.delete(map.keys().next().value!);
  map.set(key, value);
  return value;
}
