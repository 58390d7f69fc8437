import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { loadConfig, ConfigError } from '../../src/config.js';
import { clipBody, RequestJournal, type JournalEntry } from '../../src/control/request-journal.js';
import type { CallStore } from '../../src/domain/ports.js';

/** A store whose writes wait until released: the database being slow, as under a flood. */
function stalledStore() {
  const batches: Array<Array<Omit<JournalEntry, 'seq'>>> = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const store = {
    write: async (fn: (tx: unknown) => Promise<void>) => {
      await gate;
      return fn({ appendJournal: async (entries: Array<Omit<JournalEntry, 'seq'>>) => { batches.push(entries); } });
    },
    listJournal: async () => [],
  } as unknown as CallStore;
  return { store, batches, release, writes: () => batches.length };
}

test('clipBody: at most N UTF-8 bytes, cut on a character boundary, marked; short bodies whole', () => {
  assert.equal(clipBody(null, 10), null);
  assert.equal(clipBody('{"a":1}', 10), '{"a":1}');
  assert.equal(clipBody('abcdefghijkl', 4), 'abcd…');
  assert.equal(clipBody('é'.repeat(10), 5), 'éé…', 'a 2-byte character is not split');
  assert.equal(clipBody('€€€', 7), '€€…');
  assert.equal(clipBody('', 0), '');
});

test('while the database is slow, the journal holds at most --journal-buffer-bytes, one batch in flight, and drops the oldest', async () => {
  const { store, batches, release } = stalledStore();
  const journal = new RequestJournal(store, { capacity: 5000, bodyBytes: 16 * 1024, bufferBytes: 256 * 1024 });
  const app = Fastify({ bodyLimit: 2 * 1024 * 1024 });
  journal.install(app);
  app.post('/v1.0/echo', async () => ({ echoed: 'x'.repeat(40 * 1024) }));
  await app.ready();
  const body = JSON.stringify({ junk: 'j'.repeat(100 * 1024) });
  let peak = 0;
  for (let i = 0; i < 100; i++) {
    const r = await app.inject({ method: 'POST', url: '/v1.0/echo', headers: { 'content-type': 'application/json' }, payload: body });
    assert.equal(r.statusCode, 200);
    peak = Math.max(peak, journal.bufferedBytes);
  }
  assert.ok(peak <= 256 * 1024, `buffered ${peak} bytes`);
  assert.ok(journal.droppedEntries > 0, 'the oldest unwritten entries were dropped');
  release();
  await journal.flush();
  const written = batches.flat();
  assert.equal(written.length + journal.droppedEntries, 100, 'every entry is written or counted as dropped');
  assert.ok(batches.length <= 3, `batches wait in the buffer, not in a queue (${batches.length} writes)`);
  for (const e of written) {
    assert.ok(Buffer.byteLength(e.requestBody!) <= 16 * 1024 + 3 && e.requestBody!.endsWith('…'));
    assert.ok(Buffer.byteLength(e.responseBody!) <= 16 * 1024 + 3 && e.responseBody!.endsWith('…'));
  }
  await app.close();
});

test('config: --journal-body-bytes, --journal-buffer-bytes, --token-body-limit, --allowed-hosts', () => {
  const d = loadConfig([], {});
  assert.equal(d.journalBodyBytes, 16 * 1024);
  assert.equal(d.journalBufferBytes, 8 * 1024 * 1024);
  assert.equal(d.tokenBodyLimitBytes, 64 * 1024);
  assert.deepEqual(d.allowedHosts, []);
  const c = loadConfig(['--journal-body-bytes', '1024', '--journal-buffer-bytes=65536', '--token-body-limit', '4096', '--allowed-hosts', 'graph-calls, Dev.Box.test'], {});
  assert.equal(c.journalBodyBytes, 1024);
  assert.equal(c.journalBufferBytes, 65536);
  assert.equal(c.tokenBodyLimitBytes, 4096);
  assert.deepEqual(c.allowedHosts, ['graph-calls', 'dev.box.test']);
  assert.throws(() => loadConfig(['--allowed-hosts', 'http://x:4000'], {}), (e) => e instanceof ConfigError && /--allowed-hosts takes host names/.test(e.message));
});
