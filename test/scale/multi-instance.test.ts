import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Instance } from '../support/fleet.js';
import { fetchDevToken } from '../support/graph-http.js';
import { p2pCallBody } from '../support/harness.js';
import { ALICE, callRow, cleanUp, drained, isEstablished, isOpDone, ok, operationsOf, outboxAll, receiverFor, req, type Res, setUp, tokenOf, until, withLogs } from './multi-instance-support.js';

/**
 * Several graph-calls processes on one PostgreSQL database act as ONE service (design.md §5): shared
 * keys, apps, fault counts and journal; no acknowledged change lost and none applied twice when an
 * instance is SIGKILLed mid-run; every committed notification delivered, in per-call commit order;
 * timed work run once. (Work a dead instance had claimed: multi-instance-takeover.test.ts.) Real
 * processes (src/main.ts), a real bot webhook that verifies every notification token.
 */

after(cleanUp);

describe('several instances on one PostgreSQL database act as one service', () => {
  afterEach(cleanUp);

  test('three instances: tokens, apps, fault counts and the request journal are shared', { timeout: 120_000 }, withLogs(async () => {
    const { nodes: [a, b, c] } = await setUp(['A', 'B', 'C']);
    const all = [a!, b!, c!];

    // A token issued by A is good on B and C (one signing key in the database).
    const token = await fetchDevToken(a!.url);
    const call = await ok(b!.url, 'POST', '/beta/communications/calls', { token, body: p2pCallBody() });
    for (const n of all) assert.equal((await ok(n.url, 'GET', `/beta/communications/calls/${call.id}`, { token })).id, call.id, `GET on ${n.name}`);
    for (const n of all) assert.equal((await req(n.url, 'GET', `/beta/communications/calls/${call.id}`, { token: `${token.slice(0, -4)}AAAA` })).status, 401, `a forged token on ${n.name}`);

    // An app registered through A's control plane gets a token from C at once, which A and B accept.
    const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: `secret-${randomUUID()}`, roles: ['Calls.Initiate.All', 'Calls.AccessMedia.All'], displayName: 'multi-instance bot' };
    assert.equal((await req(a!.url, 'POST', '/_emulator/apps', { body: app })).status, 201);
    const issued = await tokenOf(c!.url, app);
    assert.equal(issued.status, 200, `token for the app registered on A, from C: ${JSON.stringify(issued.body)}`);
    const appToken = issued.body.access_token as string;
    const own = await ok(a!.url, 'POST', '/beta/communications/calls', { token: appToken, body: p2pCallBody() });
    assert.equal((await ok(b!.url, 'GET', `/beta/communications/calls/${own.id}`, { token: appToken })).id, own.id);
    // Ownership holds everywhere: the dev app's call is not the new app's.
    assert.equal((await req(b!.url, 'GET', `/beta/communications/calls/${call.id}`, { token: appToken })).status, 404);

    // A fault rule added on B with count 2 fires exactly twice across requests spread over A, B and C.
    const ruleId = `mi-${randomUUID().slice(0, 8)}`;
    assert.equal((await req(b!.url, 'POST', '/_emulator/faults', {
      body: { id: ruleId, side: 'graph', match: { route: `/communications/calls/${call.id}`, method: 'GET' }, action: { type: 'status', status: 503 }, count: 2 },
    })).status, 201);
    for (const n of all) {
      await until(async () => ((await ok(n.url, 'GET', '/_emulator/faults')).value as any[]).some((r) => r.id === ruleId), `rule ${ruleId} on ${n.name}`, 5000, 50);
    }
    const sent = Array.from({ length: 12 }, (_, i) => ({ node: all[i % 3]!, crid: `mi-${ruleId}-${i}` }));
    const answers = await Promise.all(sent.map(({ node, crid }) => req(node.url, 'GET', `/beta/communications/calls/${call.id}`, { token, headers: { 'client-request-id': crid } })));
    const faulted = answers.filter((r) => r.status === 503);
    assert.equal(faulted.length, 2, `statuses: ${answers.map((r) => r.status).join(',')}`);
    assert.ok(faulted.every((r) => r.headers.get('x-graph-calls-fault') === ruleId && r.body.error.code === 'serviceNotAvailable'));
    assert.equal(answers.filter((r) => r.status === 200).length, 10);
    for (const n of all) {
      const rule = ((await ok(n.url, 'GET', '/_emulator/faults')).value as any[]).find((r) => r.id === ruleId);
      assert.deepEqual({ fired: rule.fired, remaining: rule.remaining }, { fired: 2, remaining: 0 }, `rule as ${n.name} reports it`);
    }

    // Each instance's journal shows the requests made to the others (flushed within ~100 ms).
    for (const n of all) {
      const entries = await until(async () => {
        const value = (await ok(n.url, 'GET', `/_emulator/requests?callId=${call.id}&top=5000`)).value as any[];
        const seen = new Set(value.map((e) => e.requestHeaders?.['client-request-id']));
        return sent.every((s) => seen.has(s.crid)) ? value : null;
      }, `${n.name}'s journal to list the requests made to A, B and C`, 5000, 50);
      const mine = entries.filter((e) => sent.some((s) => s.crid === e.requestHeaders?.['client-request-id']));
      assert.equal(mine.length, sent.length, `${n.name}: each request journalled once`);
      assert.equal(mine.filter((e) => e.injectedFault === ruleId).length, 2, `${n.name}: the two injected answers are marked`);
    }
  }));

  test('two instances, one webhook: a SIGKILL mid-run loses no acknowledged change and no committed notification', { timeout: 180_000 }, withLogs(async (t) => {
    const CALLS = 20;
    const ROUNDS = 3;
    const { fleet, nodes: [a, b] } = await setUp(['A', 'B']);
    // The bot answers 202 after a short random pause, so deliveries are in flight when A dies. It
    // verifies tokens with keys from B (the survivor).
    const bot = await receiverFor(b!.url, () => ({ delayMs: Math.floor(Math.random() * 25) }));
    const token = await fetchDevToken(a!.url);
    const pool: Instance[] = [a!, b!];
    const pick = () => pool[Math.floor(Math.random() * pool.length)]!;

    const ids = await Promise.all(Array.from({ length: CALLS }, async () =>
      (await ok(pick().url, 'POST', '/beta/communications/calls', { token, body: p2pCallBody({ callbackUri: bot.callbackUri }) })).id as string));
    await Promise.all(ids.map((id) => until(async () => (await ok(pick().url, 'GET', `/beta/communications/calls/${id}`, { token })).state === 'established', `call ${id} established`, 15_000, 50)));

    // Each call: startRecording/stopRecording ROUNDS times, every request to a random live instance.
    // A request that gets no answer is unacknowledged: it may or may not have committed. It is sent
    // again; a 409 "already/not recording" then proves the unanswered one committed.
    interface Ledger { acked: Array<{ id: string; kind: 'start' | 'stop' }>; committedUnacked: { start: number; stop: number }; noAnswer: number; unexpected: string[] }
    const ledgers = new Map<string, Ledger>();
    let acks = 0;
    let inFlightOnA = 0;
    const killAfter = Math.floor(CALLS * ROUNDS * 2 * 0.4);
    let triggerKill!: () => void;
    const killNow = new Promise<void>((r) => { triggerKill = r; });
    const chain = async (id: string) => {
      const l: Ledger = { acked: [], committedUnacked: { start: 0, stop: 0 }, noAnswer: 0, unexpected: [] };
      ledgers.set(id, l);
      let active = false;
      let stops = 0;
      let unresolved: 'start' | 'stop' | null = null;
      for (let step = 0; (stops < ROUNDS || active) && step < ROUNDS * 2 + 12; step++) {
        await sleep(5 + Math.random() * 60);
        const kind: 'start' | 'stop' = active ? 'stop' : 'start';
        const node = pick();
        let r: Res;
        if (node === a) inFlightOnA++;
        try {
          r = await req(node.url, 'POST', `/beta/communications/calls/${id}/${kind}Recording`, { token, body: { clientContext: `${kind}-${step}` } });
        } catch {
          l.noAnswer++;
          unresolved = kind;
          continue;
        } finally {
          if (node === a) inFlightOnA--;
        }
        if (r.status === 200 || r.status === 202) {
          l.acked.push({ id: r.body.id, kind });
          unresolved = null;
          active = kind === 'start';
          if (kind === 'stop') stops++;
          if (++acks >= killAfter) triggerKill();
        } else if (r.status === 409 && unresolved === kind && /already being recorded|not being recorded/i.test(String(r.body?.error?.message))) {
          l.committedUnacked[kind]++;
          unresolved = null;
          active = kind === 'start';
          if (kind === 'stop') stops++;
        } else {
          l.unexpected.push(`${kind}Recording on ${node.name}: ${r.status} ${JSON.stringify(r.body)}`);
          await sleep(100);
        }
      }
      if (stops < ROUNDS || active) l.unexpected.push(`chain did not finish: ${stops} stops, active=${active}`);
    };
    const chains = Promise.all(ids.map(chain));

    await Promise.race([killNow, chains]);
    pool.splice(pool.indexOf(a!), 1);
    const atKill = `killed A after ${acks} acknowledged recording requests, with ${inFlightOnA} requests in flight to it and ${bot.requests.length} notifications received`;
    await a!.kill();
    // A comes back on the same database while the run goes on against B, and joins the pool.
    const restarted = fleet.start('A2').then((n) => { pool.push(n); return n; });
    await chains;
    const a2 = await restarted;
    t.diagnostic(atKill);

    const rows = await drained(pick, token, ids, 60_000);
    const byMessage = new Map(rows.map((r) => [r.messageId as string, r]));

    // Nothing unexpected answered, and the bot refused nothing (every token verified).
    const unexpected = [...ledgers.values()].flatMap((l) => l.unexpected);
    assert.deepEqual(unexpected, []);
    assert.deepEqual(bot.rejections.map((r) => r.reason), []);
    const noAnswer = [...ledgers.values()].reduce((s, l) => s + l.noAnswer, 0);
    const committedUnacked = [...ledgers.values()].reduce((s, l) => s + l.committedUnacked.start + l.committedUnacked.stop, 0);
    t.diagnostic(`${noAnswer} recording requests went unanswered; ${committedUnacked} of them had committed`);

    // Either instance lists the same outbox.
    const strip = (list: any[]) => list.filter((r) => byMessage.has(r.messageId)).map((r) => `${r.seq} ${r.messageId} ${r.state}`);
    assert.deepEqual(strip(await outboxAll(a2.url)), strip(await outboxAll(b!.url)), 'A and B list the same outbox');

    // What each call ended with, fetched in parallel, each page or file from either instance.
    const facts = new Map(await Promise.all(ids.map(async (id) => {
      const [ops, segs, recs] = await Promise.all([
        operationsOf(pick, token, id),
        ok(pick().url, 'GET', `/_emulator/calls/${id}/recordingSegments`).then((x) => x.value as any[]),
        ok(pick().url, 'GET', `/_emulator/calls/${id}/recordings`).then((x) => x.value as any[]),
      ]);
      // Each recording's bytes come from the database: from A and from B.
      const contents = await Promise.all(recs.map((rec) => Promise.all([a2, b!].map(async (n) => {
        const path = `/beta${String(rec.path).replace('/users/unknown/', `/users/${ALICE}/`)}/content`;
        const res = await fetch(`${n.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
        return { from: n.name, status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
      }))));
      return [id, { ops, segs, recs, contents }] as const;
    })));

    for (const id of ids) {
      const l = ledgers.get(id)!;
      const { ops, segs, recs, contents } = facts.get(id)!;
      // Every acknowledged operation exists exactly once; the only others are unanswered ones that committed.
      const opIds = ops.map((op) => op.id as string);
      assert.equal(new Set(opIds).size, opIds.length, `call ${id}: no operation listed twice`);
      for (const { id: opId } of l.acked) assert.equal(opIds.filter((x) => x === opId).length, 1, `call ${id}: acknowledged operation ${opId} listed once`);
      assert.equal(ops.length, l.acked.length + l.committedUnacked.start + l.committedUnacked.stop, `call ${id}: operations = acknowledged + committed-but-unanswered`);
      const starts = ops.filter((op) => op['@odata.type'] === '#microsoft.graph.startRecordingOperation');
      assert.ok(starts.every((op) => op.status === 'completed'), `call ${id}: every startRecording completed`);

      // Exactly one recording per closed segment; one closed segment per stopRecording that committed.
      const closed = segs.filter((s) => s.endedAt !== null);
      assert.equal(segs.length - closed.length, 0, `call ${id}: no segment left open`);
      const stopIds = l.acked.filter((x) => x.kind === 'stop').map((x) => x.id);
      assert.equal(closed.length, stopIds.length + l.committedUnacked.stop, `call ${id}: closed segments = committed stops`);
      for (const s of stopIds) assert.equal(closed.filter((seg) => seg.stopOperationId === s).length, 1, `call ${id}: stop ${s} closed one segment`);
      assert.equal(recs.length, closed.length, `call ${id}: one recording per closed segment`);
      assert.deepEqual(recs.map((r) => r.segmentId).sort(), closed.map((s) => s.id).sort(), `call ${id}: recordings cover the closed segments once each`);
      recs.forEach((rec, i) => {
        for (const c of contents[i]!) {
          assert.equal(c.status, 200, `recording ${rec.id} from ${c.from}`);
          assert.equal(c.bytes.length, rec.sizeBytes, `recording ${rec.id} from ${c.from}: byte length`);
        }
        assert.ok(contents[i]![0]!.bytes.equals(contents[i]![1]!.bytes), `recording ${rec.id}: the same bytes from A and B`);
      });

      // The call's committed notifications: one `established`, one `deleted` per startRecording.
      const mine = callRow(rows, id);
      assert.equal(mine.filter((r) => isEstablished(r, id)).length, 1, `call ${id}: one established notification`);
      for (const op of starts) assert.equal(mine.filter((r) => isOpDone(r, id, op.id)).length, 1, `call ${id}: one deleted notification for ${op.id}`);
      assert.equal(mine.filter((r) => r.changeType === 'created' && String(r.resourceUrl).includes('/recordings/')).length, recs.length, `call ${id}: one created notification per recording`);

      // Every one delivered (a 2xx came back), and first arrivals follow the commit order.
      assert.deepEqual(mine.filter((r) => r.state !== 'delivered').map((r) => `${r.seq} ${r.state}`), [], `call ${id}: every notification delivered`);
      const firsts: string[] = [];
      const seen = new Set<string>();
      for (const q of bot.requests) {
        if (byMessage.get(q.messageId)?.callId !== id || seen.has(q.messageId)) continue;
        seen.add(q.messageId);
        firsts.push(q.messageId);
      }
      assert.deepEqual(firsts, mine.map((r) => r.messageId), `call ${id}: first arrivals in commit (seq) order`);
    }

    // Nothing arrived that was never committed; duplicates only from what was in flight at the kill.
    assert.deepEqual(bot.requests.filter((q) => !byMessage.has(q.messageId)).map((q) => q.messageId), [], 'every arrival is a committed notification');
    const duplicates = bot.requests.length - new Set(bot.requests.map((q) => q.messageId)).size;
    t.diagnostic(`${rows.length} notifications committed, ${bot.requests.length} arrivals, ${duplicates} duplicates`);
    assert.ok(duplicates <= CALLS, `duplicates (${duplicates}) at most one per call`);
  }));

  test('two instances polling one jobs table run each timed job once', { timeout: 120_000 }, withLogs(async (t) => {
    const CALLS = 16;
    // A long lease: nothing here is killed, so no claim may ever be taken over.
    const { nodes } = await setUp(['A', 'B'], ['--lease-ms', '10000']);
    const bot = await receiverFor(nodes[0]!.url);
    const token = await fetchDevToken(nodes[1]!.url);
    const node = (i: number) => nodes[i % 2]!;
    const ids = await Promise.all(Array.from({ length: CALLS }, async (_, i) =>
      (await ok(node(i).url, 'POST', '/beta/communications/calls', { token, body: p2pCallBody({ callbackUri: bot.callbackUri }) })).id as string));
    await Promise.all(ids.map((id, i) => until(async () => (await ok(node(i + 1).url, 'GET', `/beta/communications/calls/${id}`, { token })).state === 'established', `call ${id} established`, 15_000, 50)));
    const starts = new Map<string, string[]>();
    await Promise.all(ids.map(async (id, i) => {
      const mine: string[] = [];
      starts.set(id, mine);
      for (let round = 0; round < 2; round++) {
        mine.push((await ok(node(i + round).url, 'POST', `/beta/communications/calls/${id}/startRecording`, { token })).id);
        await sleep(30);
        await ok(node(i + round + 1).url, 'POST', `/beta/communications/calls/${id}/stopRecording`, { token });
      }
    }));
    const pick = () => nodes[Math.floor(Math.random() * 2)]!;
    const rows = await drained(pick, token, ids, 40_000);

    for (const id of ids) {
      const mine = callRow(rows, id);
      const arrived = (pred: (r: any) => boolean) => new Set(bot.requests.filter((q) => { const r = rows.find((x) => x.messageId === q.messageId); return r && pred(r); }).map((q) => q.messageId)).size;
      assert.equal(mine.filter((r) => isEstablished(r, id)).length, 1, `call ${id}: established once (outbox)`);
      assert.equal(arrived((r) => isEstablished(r, id)), 1, `call ${id}: established once (webhook)`);
      for (const op of starts.get(id)!) {
        assert.equal(mine.filter((r) => isOpDone(r, id, op)).length, 1, `call ${id}: operation ${op} completed once (outbox)`);
        assert.equal(arrived((r) => isOpDone(r, id, op)), 1, `call ${id}: operation ${op} completed once (webhook)`);
      }
      const recs = (await ok(pick().url, 'GET', `/_emulator/calls/${id}/recordings`)).value as any[];
      assert.equal(recs.length, 2, `call ${id}: each render ran once`);
      assert.ok(mine.every((r) => r.state === 'delivered'), `call ${id}: every notification delivered`);
    }
    const duplicates = bot.requests.length - new Set(bot.requests.map((q) => q.messageId)).size;
    t.diagnostic(`${rows.length} notifications, ${duplicates} duplicates`);
    assert.equal(duplicates, 0, 'no delivery ran twice');
    assert.equal(bot.requests.length, rows.length);
  }));
});
