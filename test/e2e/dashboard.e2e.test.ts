import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { meetingCallBody, p2pCallBody, startServer, waitFor, type ServerHarness } from '../support/harness.js';
import { api, createCall, waitForState } from '../support/graph-http.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';

/** Fails on any request that left the server, failed, or that the page's CSP refused. */
function watch(page: Page, origin: string): string[] {
  const problems: string[] = [];
  page.on('requestfailed', (r) => { if (!r.url().includes('/_emulator/events')) problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`); });
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) problems.push(`external: ${r.url()}`); });
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

const control = (h: ServerHarness, method: string, path: string, body?: unknown) => api(h, method, path, body, { auth: false });

// Debian's chromium (installed by .ci/run); never a downloaded browser.
describe('the dashboard in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, () => {
  let h: ServerHarness;
  let browser: Browser;
  before(async () => {
    h = await startServer({ answerDelayMs: 50, operationDelayMs: 50 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', '--disable-quic', '--autoplay-policy=no-user-gesture-required'],
      // launch() always starts from a fresh, temporary user-data directory.
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('a call appears live, its recording plays and downloads, its timeline shows what happened', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = watch(page, h.url);
    // The server's root leads to the dashboard.
    await page.goto(`${h.url}/`);
    assert.equal(new URL(page.url()).pathname, '/_emulator/ui');
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    assert.equal(await page.isVisible('#no-calls'), true);

    const call = await createCall(h, p2pCallBody());
    await waitForState(h, call.id, 'established');
    // It appears without a reload: the page follows the server-sent events.
    await page.waitForSelector(`tr.call[data-id="${call.id}"] .state.established`, { timeout: 10_000 });
    assert.equal(await page.textContent(`tr.call[data-id="${call.id}"] .state`), 'In the call', 'the state in words');

    const [, alice] = (await api(h, 'GET', `/beta/communications/calls/${call.id}/participants`)).body.value;
    await control(h, 'POST', `/_emulator/calls/${call.id}/participants/${alice.id}/audio`, { type: 'tone', frequencyHz: 440 });
    assert.equal((await api(h, 'POST', `/beta/communications/calls/${call.id}/startRecording`, {})).status, 202);
    await page.waitForSelector(`tr.call[data-id="${call.id}"] .rec`, { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await api(h, 'POST', `/beta/communications/calls/${call.id}/stopRecording`, {})).status, 202);

    await page.click(`tr.call[data-id="${call.id}"]`);
    await page.waitForSelector('.recording audio[src]', { timeout: 10_000 });
    const played = await page.evaluate(async () => {
      const audio = document.querySelector<HTMLAudioElement>('.recording audio')!;
      await audio.play();
      await new Promise((r) => setTimeout(r, 400));
      return { currentTime: audio.currentTime, duration: audio.duration };
    });
    assert.ok(played.currentTime > 0, `the recording plays (currentTime ${played.currentTime})`);
    assert.ok(played.duration > 1 && played.duration < 3, `duration ${played.duration}`);
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('.recording img');
      return img !== null && img.complete && img.naturalWidth > 0;
    }, undefined, { timeout: 10_000 });

    const [recordingFile] = await Promise.all([page.waitForEvent('download'), page.click('.recording .download-recording')]);
    const wav = readFileSync(await recordingFile.path());
    assert.equal(wav.subarray(0, 4).toString(), 'RIFF', 'the recording downloads as a WAV');
    assert.match(recordingFile.suggestedFilename(), /^recording-.*\.wav$/);

    const timeline = await page.textContent('ol.timeline');
    assert.match(timeline ?? '', /POST …\/startRecording → 202/);
    assert.match(timeline ?? '', /operation\s+startRecordingOperation/);
    assert.match(timeline ?? '', /→ established/);
    assert.match(timeline ?? '', /delivery #1/);
    assert.match(timeline ?? '', /Alice joined/);

    await page.screenshot({ path: `${ARTIFACTS}/dashboard.png`, fullPage: true });
    assert.deepEqual(problems, [], 'no failed, external or refused requests');
    await page.close();
  });

  test('thirty calls at 1024 px: the list scrolls under a detail panel that stays in view, filters, ended calls keep their people, entries open', async () => {
    await control(h, 'POST', '/_emulator/reset');
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const body = i % 3 === 0 ? meetingCallBody() : p2pCallBody();
      ids.push((await createCall(h, body)).id);
    }
    for (const id of ids) await waitForState(h, id, 'established');
    // Ten end: the far side hangs up, so their people leave; one person of another call is muted, one joins.
    for (const id of ids.slice(0, 10)) assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/hangUp`)).status, 200);
    const muteCall = ids[10]!;
    const [, other] = (await api(h, 'GET', `/beta/communications/calls/${muteCall}/participants`)).body.value;
    assert.equal((await control(h, 'POST', `/_emulator/calls/${muteCall}/participants/${other.id}/mute`, { isMuted: true })).status, 200);
    const joinCall = ids[12]!;
    assert.equal((await control(h, 'POST', `/_emulator/calls/${joinCall}/participants`, { displayName: 'Dave Joiner' })).status, 201);
    // An ended call is gone from Graph (404); the control plane still lists it.
    await waitFor(async () => {
      const listed = (await control(h, 'GET', '/_emulator/calls')).body.value as Array<{ id: string; state: string }>;
      return ids.slice(0, 10).every((id) => listed.find((c) => c.id === id)?.state === 'terminated');
    }, 'ten calls to end');

    const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
    const problems = watch(page, h.url);
    await page.goto(`${h.url}/_emulator/`);
    assert.equal(new URL(page.url()).pathname, '/_emulator/ui', '/_emulator/ leads to the dashboard');
    await page.waitForFunction((n) => document.querySelectorAll('tr.call').length === n, 30, { timeout: 10_000 });
    assert.equal(await page.textContent('#count'), '30 calls');

    // The layout holds: nothing wider than the window, list and detail side by side.
    // (No named functions inside evaluate(): the test's transpiler would wrap them in a helper the page lacks.)
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth, width: innerWidth,
      list: document.querySelector('#list')!.getBoundingClientRect().toJSON(), detail: document.querySelector('#detail')!.getBoundingClientRect().toJSON(),
    }));
    assert.ok(layout.scrollWidth <= layout.width, `no horizontal scroll (${layout.scrollWidth} > ${layout.width})`);
    assert.ok(layout.list.right <= layout.detail.left, 'list and detail side by side');
    assert.ok(layout.detail.right <= 1024 && layout.detail.bottom <= 768, 'the detail panel fits the window');

    // Scroll the list to an ended call near the bottom: the detail panel stays where it was.
    const endedCall = ids[1]!; // a peer-to-peer call near the end of the list (newest first)
    await page.locator(`tr.call[data-id="${endedCall}"]`).scrollIntoViewIfNeeded();
    const listScrolled = await page.evaluate(() => document.querySelector('#list-scroll')!.scrollTop);
    assert.ok(listScrolled > 0, 'the list scrolled');
    await page.click(`tr.call[data-id="${endedCall}"]`);
    await page.waitForFunction((id) => document.querySelector('#call-id')?.textContent === id, endedCall);
    const detailBox = await page.evaluate(() => document.querySelector('#detail')!.getBoundingClientRect().toJSON());
    assert.deepEqual(detailBox, layout.detail, 'the detail panel did not move');
    assert.equal(await page.evaluate(() => document.documentElement.scrollTop), 0, 'the page itself does not scroll');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-30-calls-1024.png` });

    // An ended call keeps its people, marked as left, with when; its state and why in words.
    assert.match(await page.textContent(`tr.call[data-id="${endedCall}"] .state`) ?? '', /^Ended$/);
    const people = await page.$$eval('#detail-body tr.participant', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.ok(people.length >= 2, `the ended call shows who was there (${people.length})`);
    for (const row of people) assert.match(row, /joined .*left/s, row);
    assert.match(await page.textContent('#ended-why') ?? '', /ended by the other participant/);

    // Roster rows say who muted and who joined, with when.
    await page.fill('#filter', muteCall.slice(0, 8));
    await page.waitForFunction(() => document.querySelectorAll('tr.call').length === 1);
    await page.click(`tr.call[data-id="${muteCall}"]`);
    await page.waitForFunction((id) => document.querySelector('#call-id')?.textContent === id, muteCall);
    assert.match(await page.textContent(`#detail-body tr.participant[data-participant="${other.id}"] .events`) ?? '', /joined \d\d:\d\d:\d\d, muted \d\d:\d\d:\d\d/);
    await page.fill('#filter', 'Dave Joiner');
    await page.waitForFunction(() => document.querySelectorAll('tr.call').length === 1);
    assert.equal(await page.getAttribute('tr.call', 'data-id'), joinCall, 'the filter finds a call by a person in it');

    // Filters by state and by app.
    await page.fill('#filter', '');
    await page.selectOption('#state-filter', 'terminated');
    await page.waitForFunction(() => document.querySelectorAll('tr.call').length === 10);
    assert.equal(await page.textContent('#count'), '10 of 30 calls');
    await page.selectOption('#state-filter', 'active');
    await page.waitForFunction(() => document.querySelectorAll('tr.call').length === 20);
    await page.selectOption('#state-filter', '');
    await page.selectOption('#app-filter', { label: 'graph-calls development bot' });
    await page.waitForFunction(() => document.querySelectorAll('tr.call').length === 30);
    await page.fill('#filter', 'no-such-call');
    await page.waitForSelector('#no-calls:has-text("No call matches the filter.")');
    await page.fill('#filter', '');
    await page.selectOption('#app-filter', '');

    // A notification opens on click: the body posted to the bot, and each delivery attempt.
    await page.click(`tr.call[data-id="${joinCall}"]`);
    await page.waitForFunction((id) => document.querySelector('#call-id')?.textContent === id, joinCall);
    await page.waitForSelector('ol.timeline li.k-row-delivery');
    await page.click('ol.timeline li.k-row-state[data-notification]');
    await page.waitForSelector('#inspector[open] #notification-body');
    const body = JSON.parse(await page.textContent('#notification-body') ?? '{}');
    assert.equal(body['@odata.type'], '#microsoft.graph.commsNotifications');
    assert.equal(body.value[0].resourceUrl, `/communications/calls/${joinCall}`);
    assert.ok(await page.locator('#inspector details.attempt').count() >= 1, 'its delivery attempts are listed');
    await page.click('#inspector details.attempt summary');
    assert.match(await page.textContent('#inspector details.attempt[open] pre') ?? '', /"outcome"/);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-notification-1024.png` });
    await page.click('#inspector-close');
    // A delivery attempt opens its notification with that attempt unfolded.
    await page.click('ol.timeline li.k-row-delivery');
    await page.waitForSelector('#inspector[open] details.attempt[open]');
    await page.click('#inspector-close');
    // A request opens with its answer.
    await page.click('ol.timeline li.k-row-request[data-request]');
    await page.waitForSelector('#inspector[open]');
    assert.equal(await page.textContent('#inspector-title'), `GET /beta/communications/calls/${joinCall} → 200`);
    assert.match(await page.textContent('#inspector-body') ?? '', /request-id/);
    assert.match(await page.textContent('#inspector-body') ?? '', /"state": "establish/);
    await page.click('#inspector-close');

    // The journals download as HAR, for the call and for everything.
    const [callHar] = await Promise.all([page.waitForEvent('download'), page.click('#detail-body [data-download^="/_emulator/requests/har"]')]);
    const har = JSON.parse(readFileSync(await callHar.path(), 'utf8'));
    assert.equal(har.log.version, '1.2');
    assert.ok(har.log.entries.some((e: any) => e.request.url.includes(joinCall)), 'this call\'s requests');
    const text = JSON.stringify(har);
    assert.ok(ids.filter((id) => id !== joinCall).every((id) => !text.includes(id)), 'and no other call\'s');
    const [allDeliveries] = await Promise.all([page.waitForEvent('download'), page.click('header [data-download="/_emulator/deliveries/har"]')]);
    assert.ok(JSON.parse(readFileSync(await allDeliveries.path(), 'utf8')).log.entries.length >= 30);
    assert.equal(allDeliveries.suggestedFilename(), 'graph-calls-deliveries.har');

    await page.screenshot({ path: `${ARTIFACTS}/dashboard-detail-1024.png`, fullPage: true });
    assert.deepEqual(problems, [], 'no failed, external or refused requests');
    await page.close();
  });

  test('with --control-token the page asks for the token, keeps it for the session and sends it', async () => {
    const t = await startServer({ controlToken: 'dashboard-secret', answerDelayMs: 20, operationDelayMs: 20 });
    try {
      const call = await createCall(t, p2pCallBody());
      await waitForState(t, call.id, 'established');
      const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
      const problems = watch(page, t.url);
      await page.goto(`${t.url}/`);
      await page.waitForSelector('#token-bar.needed');
      assert.match(await page.textContent('#live') ?? '', /control token/);
      await page.fill('#token', 'dashboard-secret');
      await page.click('#token-use');
      await page.waitForSelector(`tr.call[data-id="${call.id}"]`, { timeout: 10_000 });
      await page.waitForSelector('#live.on', { timeout: 10_000 });
      assert.equal(await page.evaluate(() => sessionStorage.getItem('graph-calls-control-token')), 'dashboard-secret');
      // Live updates reach it with the token: the far side hangs up.
      const hung = await fetch(`${t.url}/_emulator/calls/${call.id}/hangUp`, { method: 'POST', headers: { authorization: 'Bearer dashboard-secret', 'x-graph-calls-control': '1' } });
      assert.equal(hung.status, 200);
      await page.waitForSelector(`tr.call[data-id="${call.id}"] .state.terminated`, { timeout: 10_000 });
      const [har] = await Promise.all([page.waitForEvent('download'), page.click('header [data-download="/_emulator/requests/har"]')]);
      assert.equal(JSON.parse(readFileSync(await har.path(), 'utf8')).log.version, '1.2', 'downloads carry the token');
      assert.deepEqual(problems, [], 'no failed, external or refused requests');
      await page.close();
    } finally {
      await t.close();
    }
  });
});
