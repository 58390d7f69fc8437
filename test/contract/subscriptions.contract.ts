import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import type { Storage } from '../../src/domain/ports.js';
import type { Subscription } from '../../src/domain/subscription.js';
import { newNotification } from '../support/factories.js';

type T = (name: string, fn: (s: Storage, ctx: { reopen(): Promise<Storage> }) => Promise<void>) => void;

export function newSubscription(over: Partial<Subscription> = {}): Subscription {
  return {
    id: randomUUID(), tenantId: 't1', appId: 'a1', creatorId: 'c1', resource: 'communications/onlineMeetings/getAllRecordings',
    // Distinct by default: one live subscription per app and resource (a test that wants twins says so).
    matchKey: `callRecording|meetings|${randomUUID()}`, resourceKind: 'callRecording', scopeKey: 'meetings', changeType: 'created',
    notificationUrl: 'https://sub.example/n', lifecycleNotificationUrl: null, clientState: 'x', expiresAt: 10_000, includeResourceData: false,
    encryptionCertificate: null, encryptionCertificateId: null, latestSupportedTlsVersion: 'v1_2', notificationUrlAppId: null,
    createdAt: 1, reauthorizedAt: 1, ...over,
  };
}

/** The subscription part of the storage port (src/storage/sql/subscription-repository.ts), on every engine. */
export function subscriptionContract(t: T, o: { reopen: boolean }): void {
  t('subscriptions: insert, get (id in any case), update, delete', async (s) => {
    const sub = newSubscription();
    await s.calls.write((tx) => tx.insertSubscription(sub));
    assert.deepEqual(await s.calls.getSubscription(sub.id.toUpperCase()), sub);
    const renewed = { ...sub, expiresAt: 20_000, reauthorizedAt: 5 };
    await s.calls.write((tx) => tx.updateSubscription(renewed));
    assert.deepEqual(await s.calls.getSubscription(sub.id), renewed);
    assert.equal(await s.calls.write((tx) => tx.deleteSubscription(sub.id)), true);
    assert.equal(await s.calls.write((tx) => tx.deleteSubscription(sub.id)), false);
    assert.equal(await s.calls.getSubscription(sub.id), undefined);
  });

  t('subscriptions: listed per app and tenant in creation order, live ones only, keyset-paged', async (s) => {
    const subs = [newSubscription(), newSubscription({ expiresAt: 500 }), newSubscription(), newSubscription({ appId: 'a2' }), newSubscription({ tenantId: 't2' }), newSubscription()];
    await s.calls.write(async (tx) => { for (const x of subs) await tx.insertSubscription(x); });
    const page1 = await s.calls.listSubscriptions({ tenantId: 't1', appId: 'a1', now: 1000, afterSeq: 0, limit: 2 });
    assert.deepEqual(page1.map((x) => x.id), [subs[0]!.id, subs[2]!.id]);
    const page2 = await s.calls.listSubscriptions({ tenantId: 't1', appId: 'a1', now: 1000, afterSeq: page1[1]!.seq, limit: 2 });
    assert.deepEqual(page2.map((x) => x.id), [subs[5]!.id]);
    assert.deepEqual((await s.calls.listSubscriptions({ tenantId: 't1', appId: 'a1', now: 0, afterSeq: 0, limit: 10 })).length, 4, 'all four live at time 0');
  });

  t('subscriptions: the duplicate lookup and the publisher\'s match by tenant, kind and scope keys', async (s) => {
    const a = newSubscription({ scopeKey: 'meetings' });
    const b = newSubscription({ scopeKey: 'meeting:M1', matchKey: 'callRecording|meeting:M1' });
    const c = newSubscription({ scopeKey: 'meeting:M1', resourceKind: 'callTranscript', matchKey: 'callTranscript|meeting:M1' });
    const d = newSubscription({ scopeKey: 'meeting:m1', matchKey: 'callRecording|meeting:m1', appId: 'a2' });
    const expired = newSubscription({ scopeKey: 'meeting:M1', appId: 'a3', expiresAt: 50 });
    const other = newSubscription({ tenantId: 't2', scopeKey: 'meetings' });
    await s.calls.write(async (tx) => { for (const x of [a, b, c, d, expired, other]) await tx.insertSubscription(x); });
    assert.equal((await s.calls.findSubscription({ tenantId: 't1', appId: 'a1', matchKey: 'callRecording|meeting:M1', now: 100 }))?.id, b.id);
    assert.equal(await s.calls.findSubscription({ tenantId: 't1', appId: 'a2', matchKey: 'callRecording|meeting:M1', now: 100 }), undefined);
    const matched = await s.calls.write((tx) => tx.subscriptionsFor({ tenantId: 't1', resourceKind: 'callRecording', scopeKeys: ['meetings', 'meeting:M1', 'userMeetings:u1'], now: 100 }));
    assert.deepEqual(matched.map((x) => x.id), [a.id, b.id], 'kind, tenant, scope (case-sensitive meeting ids) and expiry all count');
    assert.deepEqual(await s.calls.subscriptionsFor({ tenantId: 't1', resourceKind: 'callRecording', scopeKeys: [], now: 100 }), []);
  });

  t('subscriptions: a failed transaction stores none; outbox rows keep their kind', async (s) => {
    const sub = newSubscription();
    await assert.rejects(s.calls.write(async (tx) => {
      await tx.insertSubscription(sub);
      await tx.appendOutbox(newNotification(`subscription:${sub.id}`, { kind: 'change' }));
      throw new Error('boom');
    }), /boom/);
    assert.equal(await s.calls.getSubscription(sub.id), undefined);
    assert.deepEqual(await s.calls.listOutbox({ callId: `subscription:${sub.id}`, limit: 5 }), []);
    await s.calls.write(async (tx) => {
      await tx.insertSubscription(sub);
      await tx.appendOutbox(newNotification(`subscription:${sub.id}`, { kind: 'lifecycle', resourceData: { value: 1 } }));
      await tx.appendOutbox(newNotification('call-1'));
    });
    assert.deepEqual((await s.calls.listOutbox({ callId: `subscription:${sub.id}`, limit: 5 })).map((n) => [n.kind, n.resourceData]), [['lifecycle', { value: 1 }]]);
    assert.deepEqual((await s.calls.listOutbox({ callId: 'call-1', limit: 5 })).map((n) => n.kind ?? 'call'), ['call']);
  });

  t('subscriptions: one live subscription per app and resource; an expired twin is replaced', async (s) => {
    const matchKey = 'callRecording|meetings';
    const first = newSubscription({ matchKey, expiresAt: 100, createdAt: 1 });
    await s.calls.write((tx) => tx.insertSubscription(first));
    await assert.rejects(s.calls.write((tx) => tx.insertSubscription(newSubscription({ matchKey, createdAt: 50 }))), 'a live duplicate is refused');
    const second = newSubscription({ matchKey, createdAt: 150, expiresAt: 1000 });
    await s.calls.write((tx) => tx.insertSubscription(second));
    assert.equal(await s.calls.getSubscription(first.id), undefined);
    assert.equal((await s.calls.getSubscription(second.id))?.id, second.id);
    // Another app, or another resource, is no duplicate.
    await s.calls.write((tx) => tx.insertSubscription(newSubscription({ matchKey, appId: 'a2', createdAt: 150 })));
    await s.calls.write((tx) => tx.insertSubscription(newSubscription({ matchKey: 'callTranscript|meetings', resourceKind: 'callTranscript', createdAt: 150 })));
  });

  t('subscriptions: clearCalls (the control plane reset) forgets them with their jobs', async (s) => {
    const sub = newSubscription();
    await s.calls.write((tx) => tx.insertSubscription(sub));
    await s.calls.write((tx) => tx.clearCalls());
    assert.equal(await s.calls.getSubscription(sub.id), undefined);
  });

  if (o.reopen) {
    t('subscriptions survive a restart', async (s, ctx) => {
      const sub = newSubscription({ includeResourceData: true, encryptionCertificate: 'MIIB', encryptionCertificateId: 'c' });
      await s.calls.write((tx) => tx.insertSubscription(sub));
      const after = await ctx.reopen();
      assert.deepEqual(await after.calls.getSubscription(sub.id), sub);
    });
  }
}
