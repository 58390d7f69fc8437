import { stmt } from './sql.js';

/**
 * Statements of the call items (domain/roster.ts): audio routing groups, content-sharing sessions and
 * pending invitations, one table keyed by (call, kind, id). An upsert keeps the row's seq, so an updated
 * item keeps its place in the listing.
 */
export const CALL_ITEMS = {
  list: stmt('callItemsList', 'SELECT data FROM call_items WHERE call_id = ? AND kind = ? ORDER BY seq'),
  get: stmt('callItemsGet', 'SELECT data FROM call_items WHERE call_id = ? AND kind = ? AND id = ?'),
  put: stmt('callItemsPut', `INSERT INTO call_items (call_id, kind, id, data) VALUES (?, ?, ?, ?)
    ON CONFLICT (call_id, kind, id) DO UPDATE SET data = excluded.data`),
  delete: stmt('callItemsDelete', 'DELETE FROM call_items WHERE call_id = ? AND kind = ? AND id = ?'),
  clear: stmt('clear_call_items', 'DELETE FROM call_items'),
};
